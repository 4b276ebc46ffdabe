import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import S3Kit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `mlops` processes sharing one registry in S3 (moto's server with signatures enforced,
/// ``S3TestServer``), as CI jobs on different runners do.
@Suite struct SharedRegistryCLITests {
    /// A user that may only read the bucket (the test server's second key): `mlops release`
    /// is refused with exit 78 naming the setting, and nothing is written; the same user can
    /// verify and serve what a writer released (`serve NAME@CHANNEL` from S3).
    @Test func aReadOnlyUserCannotReleaseButVerifiesAndServesWhatWasReleased() async throws {
        let bucket = try S3TestBucket()
        let settings = ProcessInfo.processInfo.environment
        let readerKey = try #require(
            settings["MLOPS_TEST_S3_READER_KEY"],
            "MLOPS_TEST_S3_READER_KEY: start the server with Tests/Tools/s3-server.py")
        let readerSecret = try #require(settings["MLOPS_TEST_S3_READER_SECRET"])
        var reader = bucket.environment()
        reader["AWS_ACCESS_KEY_ID"] = readerKey
        reader["AWS_SECRET_ACCESS_KEY"] = readerSecret
        let repo = try TaxiProject.make()
        let dir = repo.directory.url

        let refused = try MLOpsProcess.run(["release"], in: dir, environment: reader)
        #expect(refused.status == 78, "\(refused.stderr)")
        #expect(refused.stderr.contains("AccessDenied"), "\(refused.stderr)")
        #expect(refused.stderr.contains("MLOPS_REGISTRY"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(readerSecret) && !refused.stdout.contains(readerSecret))
        #expect(try bucket.keys("models/").isEmpty)

        let released = try MLOpsProcess.run(["release"], in: dir, environment: bucket.environment())
        #expect(released.status == 0, "\(released.stderr)")
        let promoted = try MLOpsProcess.run(
            ["promote", "taxi@0.1.0", "--to", "staging"], in: dir, environment: bucket.environment())
        #expect(promoted.status == 0, "\(promoted.stderr)")
        let verified = try MLOpsProcess.run(["verify", "taxi@staging"], in: dir, environment: reader)
        #expect(verified.status == 0 && verified.stdout.contains("verified taxi@0.1.0"), "\(verified.stderr)")

        let server = try ServingProcess(
            ["serve", "taxi@staging", "--port", "0"], in: dir, environment: reader, ready: "ready: model 'taxi'")
        let port = server.port
        let ready = try #require(URL(string: "http://127.0.0.1:\(port)/v2/models/taxi/ready"))
        let (_, response) = try await URLSession.shared.data(from: ready)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        server.stop()
    }

    /// The release engineer's commands on an S3 registry: rollback, releases show and diff,
    /// and push into a model server's folder.
    @Test func rollbackShowDiffAndPushWorkOnAnS3Registry() throws {
        let bucket = try S3TestBucket()
        let env = bucket.environment()
        let repo = try TaxiProject.make()
        let dir = repo.directory.url
        func mlops(_ arguments: String...) throws -> MLOpsProcess.Result {
            let result = try MLOpsProcess.run(arguments, in: dir, environment: env)
            #expect(result.status == 0, "mlops \(arguments.joined(separator: " ")): \(result.stderr)")
            return result
        }
        _ = try mlops("release")
        try TaxiProject.edit(repo) { $0.replacingOccurrences(of: "  seed: 0\n", with: "  seed: 5\n") }
        _ = try repo.commitAll("another seed")
        _ = try mlops("release")
        for version in ["0.1.0", "0.1.1"] {
            _ = try mlops("promote", "taxi@\(version)", "--to", "staging")
            _ = try mlops("promote", "taxi@\(version)", "--to", "production")
        }
        let rolledBack = try mlops("rollback", "taxi@production", "--reason", "test")
        #expect(rolledBack.stdout.contains("rolled back production → taxi@0.1.0 (was 0.1.1)"), "\(rolledBack.stdout)")
        #expect(try mlops("releases", "show", "taxi@production").stdout.hasPrefix("taxi@0.1.0  sha256:"))
        let diff = try mlops("releases", "diff", "taxi@0.1.0", "taxi@0.1.1").stdout
        #expect(diff.contains("version") && diff.contains("0.1.1"), "\(diff)")
        let served = try TemporaryDirectory("served")
        let pushed = try mlops("push", "taxi@production", "--to", served.url.path)
        #expect(pushed.stdout.contains("pushed taxi@0.1.0"), "\(pushed.stdout)")
        #expect(FileManager.default.fileExists(atPath: served.url.appendingPathComponent("taxi/0.1.0").path))
    }

    /// Eight `mlops release` processes at once, each in its own clone with its own model (a
    /// different seed), against one S3 registry: eight distinct versions and eight release
    /// events; then eight `mlops promote` processes at once give eight promotions whose
    /// `previous` versions chain, and the channel points at the last.
    @Test func eightReleaseProcessesAtOnceGetEightVersionsAndAConsistentLedger() throws {
        let bucket = try S3TestBucket()
        let repos = try (0..<8).map { index in
            let repo = try TaxiProject.make()
            try TaxiProject.edit(repo) { $0.replacingOccurrences(of: "  seed: 0\n", with: "  seed: \(index + 1)\n") }
            _ = try repo.commitAll("seed \(index + 1)")
            return repo
        }
        let results = try concurrently(8) { index in
            try MLOpsProcess.run(
                ["release", "--json"], in: repos[index].directory.url, environment: bucket.environment())
        }
        let versions = try (0..<8).map { index in
            let result = results[index]
            #expect(result.status == 0, "release \(index): \(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return (json?["result"] as? [String: Any])?["version"] as? String ?? ""
        }
        #expect(Set(versions).count == 8, "\(versions)")

        let promotions = try concurrently(8) { index in
            try MLOpsProcess.run(
                ["promote", "taxi@\(versions[index])", "--to", "staging"], in: repos[index].directory.url,
                environment: bucket.environment())
        }
        for (index, result) in promotions.enumerated() {
            #expect(result.status == 0, "promote \(index): \(result.stderr)")
        }
        let history = try MLOpsProcess.run(
            ["releases", "history", "--json"], in: repos[0].directory.url, environment: bucket.environment())
        #expect(history.status == 0, "\(history.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any]
        let events = try #require(
            (json?["result"] as? [String: Any])?["events"] as? [[String: Any]], "\(history.stdout)")
        #expect(events.filter { $0["event"] as? String == "release" }.count == 8)
        let promotes = events.filter { $0["event"] as? String == "promote" }
        #expect(promotes.count == 8 && Set(promotes.compactMap { $0["version"] as? String }) == Set(versions))
        #expect(promotes.first?["previous"] == nil || promotes.first?["previous"] is NSNull)
        for (earlier, later) in zip(promotes, promotes.dropFirst()) {
            #expect(later["previous"] as? String == earlier["version"] as? String)
        }
        let list = try MLOpsProcess.run(
            ["releases", "list"], in: repos[0].directory.url, environment: bucket.environment())
        let last = try #require(promotes.last?["version"] as? String)
        #expect(list.stdout.contains("taxi  (s3://\(bucket.name)/models)"))
        #expect(list.stdout.split(separator: "\n").contains { $0.contains(" \(last) ") && $0.contains("← staging") })
    }

    /// What one job released, another folder with nothing but the settings uses: inference on
    /// `taxi@production` downloads, verifies and unpacks the bundle; the gate of a clone takes
    /// it as its baseline; a wrong secret is exit 78 naming where the credentials came from.
    @Test func anotherFolderUsesWhatOneJobReleased() throws {
        let bucket = try S3TestBucket()
        let repo = try TaxiProject.make()
        let dir = repo.directory.url
        let env = bucket.environment()
        for arguments in [
            ["release"], ["promote", "taxi@0.1.0", "--to", "staging"], ["promote", "taxi@0.1.0", "--to", "production"],
        ] {
            let result = try MLOpsProcess.run(arguments, in: dir, environment: env)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        // The secret is in no object of the bucket (bundle, manifest, ledger); below, in no file
        // of either .mlops (store, reports, downloads, the unpacked bundle with its provenance).
        let secret = Data(bucket.server.secret.utf8)
        for key in try bucket.keys() {
            let object = try #require(try bucket.client.get(bucket: bucket.name, key: key))
            #expect(object.range(of: secret) == nil, "the secret is in s3://\(bucket.name)/\(key)")
        }
        let other = try TaxiProject.make()
        let gate = try MLOpsProcess.run(["gate"], in: other.directory.url, environment: env)
        #expect(
            gate.status == 0 && gate.stdout.contains("baseline: the production channel: taxi@0.1.0"), "\(gate.stdout)")
        let infer = try MLOpsProcess.run(
            ["infer", "taxi@production", "--input", "data/data.csv", "-o", "preds.csv", "--out-of-domain", "keep"],
            in: other.directory.url, environment: env)
        #expect(infer.status == 0, "\(infer.stderr)")
        #expect(FileManager.default.fileExists(atPath: other.directory.url.appendingPathComponent("preds.csv").path))
        let downloaded = other.directory.url.appendingPathComponent(
            ".mlops/downloads/\(bucket.name)/models/taxi/versions/0.1.0/taxi-0.1.0.tar.zst")
        #expect(FileManager.default.fileExists(atPath: downloaded.path))
        for folder in [dir, other.directory.url] {
            let mlops = folder.appendingPathComponent(".mlops")
            let files = FileManager.default.enumerator(at: mlops, includingPropertiesForKeys: nil)?.allObjects ?? []
            #expect(files.count > 10)
            for case let file as URL in files
            where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                #expect(try Data(contentsOf: file).range(of: secret) == nil, "the secret is in \(file.path)")
            }
        }

        // A folder with no project, only the settings: the registry's one name is taken.
        let elsewhere = try TemporaryDirectory("elsewhere")
        let history = try MLOpsProcess.run(["releases", "history"], in: elsewhere.url, environment: env)
        #expect(history.status == 0 && history.stdout.contains("promote  production → 0.1.0"), "\(history.stderr)")

        let wrong = try MLOpsProcess.run(
            ["releases", "list"], in: dir, environment: env.merging(["AWS_SECRET_ACCESS_KEY": "not-it"]) { $1 })
        #expect(wrong.status == 78)
        #expect(
            wrong.stderr.contains(
                "error: the registry (MLOPS_REGISTRY = s3://\(bucket.name)/models): S3 refused s3://\(bucket.name)/models/ (SignatureDoesNotMatch) with the credentials from the environment"
            ), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not-it"))
    }

    /// The S3 server killed while `mlops release` uploads its bundle: exit 74, no version
    /// visible to anyone, and the next release takes the version that one would have had.
    @Test func aServerKilledDuringTheBundleUploadPublishesNothing() throws {
        let bucket = try S3TestBucket()
        let repo = try TaxiProject.make()
        // Bodies over 40 kB are bundles here (events and manifests are smaller).
        let proxy = try FaultProxy(bucket.server, .dieDuringUpload, count: 40_000)
        let killed = try MLOpsProcess.run(
            ["release"], in: repo.directory.url,
            environment: bucket.environment().merging(["AWS_ENDPOINT_URL": proxy.endpoint.absoluteString]) { $1 })
        #expect(killed.status == 74, "\(killed.stdout)\n\(killed.stderr)")
        #expect(
            killed.stderr.contains(
                "error: the registry (MLOPS_REGISTRY = s3://\(bucket.name)/models): S3 cannot be reached"))
        #expect(proxy.requests().contains { $0.hasSuffix("taxi-0.1.0.tar.zst -> killed mid-upload") })
        #expect(try bucket.keys().isEmpty)
        let list = try MLOpsProcess.run(
            ["releases", "list"], in: repo.directory.url, environment: bucket.environment())
        #expect(list.status == 0 && !list.stdout.contains("0.1.0"), "\(list.stdout)")
        let next = try MLOpsProcess.run(["release"], in: repo.directory.url, environment: bucket.environment())
        #expect(next.status == 0 && next.stdout.contains("released taxi@0.1.0"), "\(next.stderr)")
    }
}
