import Crypto
import Foundation
import MLOpsCore
import MLOpsTestSupport
import Testing

@testable import S3Kit

/// The S3 client against a real S3 server with signatures enforced (``S3TestServer``: moto's,
/// which `bash .ci/run` starts). Without one these tests fail, saying so.
@Suite struct S3ClientTests {
    typealias Server = S3TestServer

    func server() throws -> Server { try S3TestServer() }

    func client(_ server: Server, secret: String? = nil) throws -> S3Client {
        try S3Client(
            endpoint: server.endpoint, region: "us-east-1",
            credentials: S3Credentials(
                accessKeyID: server.key, secretAccessKey: secret ?? server.secret, source: "the test's settings"))
    }

    func bucket() -> String { S3TestServer.bucketName() }

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
        #expect(throws: S3Error(.noCredentials("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))) {
            try S3Credentials.fromEnvironment([:])
        }
    }

    /// A large file goes up in parts (three here: 5 MiB, 5 MiB and the rest), comes back into a
    /// file byte for byte, and a second conditional upload to the same key loses without
    /// changing it or leaving an upload open.
    @Test func aLargeFileGoesUpInPartsAndOnlyOnce() throws {
        var s3 = try client(try server())
        s3.multipartThreshold = 6 << 20
        s3.partSize = 5 << 20
        let bucket = bucket()
        try s3.createBucket(bucket)
        let folder = try TemporaryDirectory()
        let file = folder.url.appendingPathComponent("big.bin")
        var generator = SystemRandomNumberGenerator()
        let words = (0..<(12 << 17)).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
        let data = words.withUnsafeBytes { Data($0) }
        try data.write(to: file)
        #expect(try s3.upload(file: file, bucket: bucket, key: "m/big.bin", ifAbsent: true) == .created)
        let other = folder.url.appendingPathComponent("other.bin")
        try Data(data.reversed()).write(to: other)
        #expect(try s3.upload(file: other, bucket: bucket, key: "m/big.bin", ifAbsent: true) == .alreadyExists)
        let back = folder.url.appendingPathComponent("back.bin")
        #expect(try s3.download(bucket: bucket, key: "m/big.bin", to: back) == Array(SHA256.hash(data: data)))
        #expect(try Data(contentsOf: back) == data)
        let head = try #require(try s3.head(bucket: bucket, key: "m/big.bin"))
        #expect(head.size == Int64(data.count) && head.sha256 == Hex.string(SHA256.hash(data: data)))
        #expect(try s3.download(bucket: bucket, key: "m/absent.bin", to: back) == nil)
        #expect(!FileManager.default.fileExists(atPath: back.path))
        #expect(try s3.head(bucket: bucket, key: "m/absent.bin") == nil)
    }

    /// Listings span pages, give keys with spaces and plus signs back as written, and group
    /// the next level into prefixes with a delimiter.
    @Test func aListingSpansPagesAndDecodesKeys() throws {
        let s3 = try client(try server())
        let bucket = bucket()
        try s3.createBucket(bucket)
        let keys = (1...7).map { "reg/taxi/ledger/\($0) a+b&c.json" } + ["reg/penguins/ledger/1.json"]
        for key in keys { try s3.put(bucket: bucket, key: key, data: Data(key.utf8)) }
        let listed = try s3.list(bucket: bucket, prefix: "reg/taxi/", pageSize: 3)
        #expect(Set(listed.objects.map(\.key)) == Set(keys.dropLast()))
        #expect(listed.objects.allSatisfy { $0.size > 0 })
        let names = try s3.list(bucket: bucket, prefix: "reg/", delimiter: "/")
        #expect(names.prefixes.sorted() == ["reg/penguins/", "reg/taxi/"] && names.objects.isEmpty)
    }

    /// A downloaded object whose bytes differ from the SHA-256 recorded at its upload is refused.
    @Test func anObjectChangedBehindTheRecordedChecksumIsRefused() throws {
        let s3 = try client(try server())
        let bucket = bucket()
        try s3.createBucket(bucket)
        try s3.put(bucket: bucket, key: "k", data: Data("original".utf8))
        // Another writer puts new bytes but keeps the old checksum metadata (a broken copy).
        let stale = Hex.string(SHA256.hash(data: Data("original".utf8)))
        _ = try s3.send(
            "PUT", bucket: bucket, key: "k", payload: Data("tampered".utf8), headers: ["x-amz-meta-sha256: \(stale)"])
        let error = try #require(throws: S3Error.self) { try s3.get(bucket: bucket, key: "k") }
        #expect(error.exitStatus == .ioError && error.message.contains("arrived damaged"), "\(error)")
    }
}

/// Faults between the client and the server, injected by ``FaultProxy``.
@Suite struct S3FaultTests {
    func client(_ endpoint: URL, _ server: S3TestServer, attempts: Int = 5) throws -> S3Client {
        try S3Client(
            endpoint: endpoint, region: "us-east-1",
            credentials: S3Credentials(accessKeyID: server.key, secretAccessKey: server.secret, source: "the test"),
            retry: .init(attempts: attempts, baseDelay: 0.05, maxDelay: 0.2))
    }

    /// SlowDown answers are retried with backoff until the server takes the request.
    @Test func slowDownIsRetriedUntilTheServerTakesTheRequest() throws {
        let server = try S3TestServer()
        let bucket = S3TestServer.bucketName()
        try client(server.endpoint, server).createBucket(bucket)
        let proxy = try FaultProxy(server, .slowDown, count: 2)
        let s3 = try client(proxy.endpoint, server)
        #expect(try s3.put(bucket: bucket, key: "k", data: Data("v".utf8), ifAbsent: true) == .created)
        #expect(try client(server.endpoint, server).get(bucket: bucket, key: "k") == Data("v".utf8))
        let log = proxy.requests()
        #expect(
            log == [
                "PUT /\(bucket)/k -> 503 (injected)", "PUT /\(bucket)/k -> 503 (injected)", "PUT /\(bucket)/k -> 200",
            ], "\(log)")
    }

    /// Server errors past the bound give up: exit 74, saying how many tries were made.
    @Test func serverErrorsAreRetriedAtMostTheBound() throws {
        let server = try S3TestServer()
        let proxy = try FaultProxy(server, .internalError, count: 100)
        let s3 = try client(proxy.endpoint, server, attempts: 3)
        let error = try #require(throws: S3Error.self) { try s3.get(bucket: "any-bucket", key: "k") }
        #expect(error.exitStatus == .ioError && error.message.hasSuffix("InternalError after 3 tries"), "\(error)")
        #expect(proxy.requests().count == 3)
    }

    /// A server that dies during an upload leaves no object; the client reports it, exit 74.
    @Test func aServerKilledDuringAnUploadLeavesNoObject() throws {
        let server = try S3TestServer()
        let bucket = S3TestServer.bucketName()
        let direct = try client(server.endpoint, server)
        try direct.createBucket(bucket)
        let proxy = try FaultProxy(server, .dieDuringUpload, count: 100_000)
        let error = try #require(throws: S3Error.self) {
            try client(proxy.endpoint, server, attempts: 3).put(
                bucket: bucket, key: "big", data: Data(repeating: 7, count: 300_000), ifAbsent: true)
        }
        #expect(
            error.exitStatus == .ioError
                && error.message.hasPrefix("S3 cannot be reached: \(proxy.endpoint.absoluteString)"), "\(error)")
        #expect(try direct.head(bucket: bucket, key: "big") == nil)
    }
}

@Suite struct S3SettingsTests {
    func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @Test func credentialsRegionAndEndpointComeFromTheEnvironmentFirstThenTheProfile() throws {
        let home = try TemporaryDirectory()
        try write(
            "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = defaultsecret\n\n[ci]\n"
                + "aws_access_key_id = CIKEY\naws_secret_access_key = cisecret\naws_session_token = token\n",
            to: home.url.appendingPathComponent(".aws/credentials"))
        try write(
            "[profile ci]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n",
            to: home.url.appendingPathComponent(".aws/config"))
        let base = ["HOME": home.url.path]
        let fromDefault = try S3Settings.client(environment: base)
        #expect(fromDefault.credentials.accessKeyID == "DEFAULTKEY" && fromDefault.region == "us-east-1")
        #expect(fromDefault.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
        #expect(fromDefault.credentials.source.hasPrefix("the profile 'default' in "))
        let ci = try S3Settings.client(environment: base.merging(["AWS_PROFILE": "ci"]) { $1 })
        #expect(ci.credentials.accessKeyID == "CIKEY" && ci.credentials.sessionToken == "token")
        #expect(ci.region == "eu-west-1" && ci.endpoint.absoluteString == "http://127.0.0.1:9000")
        let environment = try S3Settings.client(
            environment: base.merging([
                "AWS_PROFILE": "ci", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
                "AWS_REGION": "ap-south-1", "AWS_ENDPOINT_URL_S3": "http://localhost:4566",
            ]) { $1 })
        #expect(environment.credentials.accessKeyID == "ENVKEY" && environment.region == "ap-south-1")
        #expect(environment.endpoint.absoluteString == "http://localhost:4566")
    }

    @Test func credentialsPrintedOrDumpedHideTheSecret() {
        let credentials = S3Credentials(
            accessKeyID: "AKIAEXAMPLE", secretAccessKey: "very-secret-value", sessionToken: nil, source: "a test")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in ["\(credentials)", String(reflecting: credentials), dumped] {
            #expect(!text.contains("very-secret-value") && text.contains("AKIAEXAMPLE"), "\(text)")
        }
    }

    @Test func missingCredentialsAnUnknownProfileAndABrokenFileAreNamed() throws {
        let home = try TemporaryDirectory()
        let none = try #require(throws: S3Error.self) { try S3Settings.client(environment: ["HOME": home.url.path]) }
        #expect(none.exitStatus == .configError && none.message.contains("the profile 'default' has none"), "\(none)")
        let unknown = try #require(throws: S3Error.self) {
            try S3Settings.client(environment: ["HOME": home.url.path, "AWS_PROFILE": "nightly"])
        }
        #expect(unknown.message.hasPrefix("AWS_PROFILE: the profile 'nightly' is in neither"), "\(unknown)")
        try write("[default\naws_access_key_id = A\n", to: home.url.appendingPathComponent(".aws/credentials"))
        let broken = try #require(throws: S3Error.self) { try S3Settings.client(environment: ["HOME": home.url.path]) }
        #expect(broken.message.contains(".aws/credentials:1: a section header without ']'"), "\(broken)")
        let insecure = try #require(throws: S3Error.self) {
            try S3Settings.client(environment: [
                "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B",
                "AWS_ENDPOINT_URL": "http://minio.internal:9000",
            ])
        }
        #expect(insecure.kind == .insecureEndpoint("http://minio.internal:9000"))
        #expect(
            try S3Settings.client(environment: [
                "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B",
                "AWS_ENDPOINT_URL": "http://minio.internal:9000",
                "MLOPS_S3_ALLOW_HTTP": "1",
            ]).endpoint.host == "minio.internal")
    }

    @Test func locationsAreBucketAndPrefix() throws {
        let location = try S3Location(parsing: "s3://mlops-models/teams/taxi/")
        #expect(location.bucket == "mlops-models" && location.prefix == "teams/taxi")
        #expect(location.key("taxi/ledger/1.json") == "teams/taxi/taxi/ledger/1.json")
        #expect(try S3Location(parsing: "s3://bucket").key("a") == "a")
        for bad in [
            "s3://", "s3://Upper/x", "s3://ab", "s3://b_x/y", "http://bucket/x", "s3://bucket//x", "s3://bucket/a/../b",
        ] {
            #expect(throws: S3Error.self, "\(bad)") { try S3Location(parsing: bad) }
        }
    }
}
