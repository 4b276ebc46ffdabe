import Crypto
import Foundation
import MLOpsCore
import Testing

@testable import S3Kit

/// The S3 client against a real S3 server with signatures enforced: moto's, which `bash .ci/run`
/// starts on 127.0.0.1 (Tests/Tools/s3-server.py) and names in MLOPS_TEST_S3_ENDPOINT,
/// MLOPS_TEST_S3_ACCESS_KEY and MLOPS_TEST_S3_SECRET. Without them these tests fail, saying so.
@Suite struct S3ClientTests {
    struct Server {
        let endpoint: URL
        let key: String
        let secret: String
    }

    struct NoServer: Error, CustomStringConvertible {
        var description: String {
            "no S3 test server: run `bash .ci/run`, or start one with `python Tests/Tools/s3-server.py PIDFILE` (moto[server]) and export what it prints"
        }
    }

    func server() throws -> Server {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["MLOPS_TEST_S3_ENDPOINT"].flatMap(URL.init(string:)),
            let key = environment["MLOPS_TEST_S3_ACCESS_KEY"], let secret = environment["MLOPS_TEST_S3_SECRET"]
        else { throw NoServer() }
        return Server(endpoint: endpoint, key: key, secret: secret)
    }

    func client(_ server: Server, secret: String? = nil) throws -> S3Client {
        try S3Client(
            endpoint: server.endpoint, region: "us-east-1",
            credentials: S3Credentials(
                accessKeyID: server.key, secretAccessKey: secret ?? server.secret, source: "the test's settings"))
    }

    func bucket() -> String { "mlops-test-" + UUID().uuidString.lowercased().prefix(12) }

    @Test func anObjectGoesUpAndComesBackByteForByte() throws {
        let s3 = try client(try server())
        let bucket = bucket()
        try s3.createBucket(bucket)
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        #expect(try s3.put(bucket: bucket, key: "taxi/versions/0.1.0/taxi 0.1.0+x.tar.zst", data: data) == .created)
        let back = try #require(try s3.get(bucket: bucket, key: "taxi/versions/0.1.0/taxi 0.1.0+x.tar.zst"))
        #expect(SHA256.hash(data: back) == SHA256.hash(data: data))
        #expect(try s3.get(bucket: bucket, key: "taxi/absent") == nil)
        try s3.delete(bucket: bucket, key: "taxi/versions/0.1.0/taxi 0.1.0+x.tar.zst")
        #expect(try s3.get(bucket: bucket, key: "taxi/versions/0.1.0/taxi 0.1.0+x.tar.zst") == nil)
    }

    /// The claim the registry's versions and ledger events rest on: create only when absent.
    @Test func aConditionalPutLosesToAnObjectAlreadyThere() throws {
        let s3 = try client(try server())
        let bucket = bucket()
        try s3.createBucket(bucket)
        #expect(try s3.put(bucket: bucket, key: "ledger/1.json", data: Data("first".utf8), ifAbsent: true) == .created)
        #expect(
            try s3.put(bucket: bucket, key: "ledger/1.json", data: Data("second".utf8), ifAbsent: true)
                == .alreadyExists)
        #expect(try s3.get(bucket: bucket, key: "ledger/1.json") == Data("first".utf8))
    }

    /// A wrong secret is refused by the server's signature check, named as such with where the
    /// credentials came from, and the secret appears nowhere in the message.
    @Test func aWrongSecretIsRefusedAndNeverPrinted() throws {
        let server = try server()
        let good = try client(server)
        let bucket = bucket()
        try good.createBucket(bucket)
        let wrong = "not-the-secret-\(UUID().uuidString)"
        let bad = try client(server, secret: wrong)
        let error = try #require(throws: S3Error.self) { try bad.get(bucket: bucket, key: "anything") }
        #expect(error.exitStatus == .configError)
        #expect(
            error.description.contains(
                "S3 refused s3://\(bucket)/anything (SignatureDoesNotMatch) with the credentials from the test's settings"
            ),
            "\(error.description)")
        #expect(!error.description.contains(wrong) && !error.description.contains(server.secret))
    }

    @Test func aMissingBucketAndAnInsecureEndpointAreNamed() throws {
        let s3 = try client(try server())
        let error = try #require(throws: S3Error.self) {
            try s3.put(bucket: "no-such-bucket-\(UUID().uuidString.lowercased().prefix(8))", key: "k", data: Data())
        }
        #expect(error.exitStatus == .configError && error.message.hasPrefix("the bucket 'no-such-bucket-"))
        #expect(throws: S3Error(.insecureEndpoint("http://s3.example.com"))) {
            try S3Client(
                endpoint: URL(string: "http://s3.example.com")!, region: "us-east-1",
                credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b", source: "x"))
        }
        #expect(throws: S3Error(.noCredentials)) { try S3Credentials.fromEnvironment([:]) }
    }
}
