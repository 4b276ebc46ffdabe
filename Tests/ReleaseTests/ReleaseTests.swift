import Foundation
import MLOpsCore
import Release
import S3Kit
import Testing

@Suite struct SemanticVersionTests {
    @Test(arguments: ["1.2.3", "v1.2.3", "0.0.0", "10.20.30-rc.1"])
    func parsesValidVersions(text: String) throws {
        let version = try SemanticVersion(parsing: text)
        #expect(version.description == (text.hasPrefix("v") ? String(text.dropFirst()) : text))
    }

    @Test(arguments: ["1.2", "1.2.3.4", "01.2.3", "a.b.c", "1.2.3-", "1.2.3-rc..1", ""])
    func rejectsInvalidVersions(text: String) {
        #expect(throws: ReleaseError.invalidVersion(text)) { _ = try SemanticVersion(parsing: text) }
    }

    @Test func ordersBySemverPrecedence() throws {
        let ordered = [
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
            "1.0.1", "1.1.0", "2.0.0",
        ]
        let versions = try ordered.map { try SemanticVersion(parsing: $0) }
        #expect(versions.shuffled().sorted() == versions)
    }

    @Test func bumps() throws {
        let v = try SemanticVersion(parsing: "1.4.2")
        #expect(v.bumped(.patch).description == "1.4.3")
        #expect(v.bumped(.minor).description == "1.5.0")
        #expect(v.bumped(.major).description == "2.0.0")
        #expect(try SemanticVersion(parsing: "2.0.0-rc.1").bumped(.patch).description == "2.0.0")
    }
}

extension ReleaseError: Equatable {
    public static func == (a: ReleaseError, b: ReleaseError) -> Bool { a.message == b.message }
}

@Suite struct RegistryLocationTests {
    let root = URL(fileURLWithPath: "/work/repo")

    @Test func relativePathsAreFromTheRepositoryRoot() throws {
        let location = try RegistryLocation(configured: ".mlops/registry", environment: [:], root: root)
        #expect(location.directory?.path == "/work/repo/.mlops/registry")
        #expect(location.source == "release.registry")
    }

    @Test func environmentOverridesAndFileURLsWork() throws {
        let location = try RegistryLocation(
            configured: "x", environment: ["MLOPS_REGISTRY": "file:///srv/models"], root: root)
        #expect(location.directory?.path == "/srv/models")
        #expect(location.source == "MLOPS_REGISTRY")
    }

    @Test func s3LocationsAreParsedAndOtherSchemesAreConfigErrors() throws {
        let s3 = try RegistryLocation(configured: "s3://mlops-models/teams/taxi/", environment: [:], root: root)
        #expect(s3.kind == .s3(S3Location(bucket: "mlops-models", prefix: "teams/taxi")) && s3.directory == nil)
        #expect(s3.description == "s3://mlops-models/teams/taxi")
        for (text, reason) in [
            ("gs://bucket/models", "only directories, file:// and s3:// URLs are supported"),
            ("s3://Bucket_Name/models", "'Bucket_Name' is not a bucket name"),
        ] {
            let error = try #require(throws: ReleaseError.self) {
                try RegistryLocation(configured: text, environment: [:], root: root)
            }
            #expect(error.exitStatus == .configError && error.message.contains(reason), "\(error.message)")
        }
    }
}
