import Foundation
import S3Kit

/// The S3 server the tests use: moto's, with signatures enforced, which `bash .ci/run` starts
/// on 127.0.0.1 (Tests/Tools/s3-server.py) and names in MLOPS_TEST_S3_ENDPOINT,
/// MLOPS_TEST_S3_ACCESS_KEY and MLOPS_TEST_S3_SECRET (and a user that may only read, in
/// MLOPS_TEST_S3_READER_KEY and MLOPS_TEST_S3_READER_SECRET). Without them a test that needs it
/// fails, saying how to start one; it never skips.
public struct S3TestServer: Sendable {
    public let endpoint: URL
    public let key: String
    public let secret: String

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "no S3 test server: run `bash .ci/run`, or start one with `python Tests/Tools/s3-server.py PIDFILE` (moto[server]) and export what it prints"
        }
    }

    public init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["MLOPS_TEST_S3_ENDPOINT"].flatMap(URL.init(string:)),
            let key = environment["MLOPS_TEST_S3_ACCESS_KEY"], let secret = environment["MLOPS_TEST_S3_SECRET"]
        else { throw Missing() }
        self.endpoint = endpoint
        self.key = key
        self.secret = secret
    }

    /// The AWS settings a process needs to reach the server (and nothing from the user's
    /// own `~/.aws`: HOME points at `home`).
    public func environment(home: URL) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL": endpoint.absoluteString,
            "AWS_REGION": "us-east-1", "HOME": home.path,
        ]
    }

    /// A fresh bucket name for one test.
    public static func bucketName() -> String { "mlops-test-" + UUID().uuidString.lowercased().prefix(12) }
}

/// A bucket of one test's own on the test server, the AWS settings to reach it, and a HOME
/// without `~/.aws` (so the user's own profiles never leak in).
public struct S3TestBucket: Sendable {
    public let server: S3TestServer
    public let name: String
    public let home: TemporaryDirectory
    public let client: S3Client

    public init() throws {
        server = try S3TestServer()
        name = S3TestServer.bucketName()
        home = try TemporaryDirectory("home")
        client = try S3Settings.client(environment: server.environment(home: home.url))
        try client.createBucket(name)
    }

    /// The settings with `MLOPS_REGISTRY` at `registry` (default: `s3://BUCKET/models`).
    public func environment(registry: String? = nil) -> [String: String] {
        server.environment(home: home.url).merging(["MLOPS_REGISTRY": registry ?? "s3://\(name)/models"]) { $1 }
    }

    /// What the jobs of a distributed run share: this bucket's `registry/` and `cache/`
    /// prefixes, and `store` when given.
    public func sharedStorage(store: String? = nil) -> [String: String] {
        var env = environment(registry: "s3://\(name)/registry")
        env["MLOPS_CACHE"] = "s3://\(name)/cache"
        if let store { env["MLOPS_STORE"] = store }
        return env
    }

    /// Every key under `prefix`, sorted.
    public func keys(_ prefix: String = "") throws -> [String] {
        try client.list(bucket: name, prefix: prefix).objects.map(\.key).sorted()
    }
}

/// Runs `work` `count` times at once, each on a thread of its own (as that many CI jobs
/// would, however few cores there are), and returns each result in order; the first failure
/// is thrown after all have finished.
public func concurrently<T: Sendable>(_ count: Int, _ work: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let box = ResultsBox<T>()
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            let result = Result { try work(index) }
            box.lock.withLock { box.results[index] = result }
            group.leave()
        }.start()
    }
    group.wait()
    return try (0..<count).map { try box.results[$0]!.get() }
}

private final class ResultsBox<T>: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: Result<T, any Error>] = [:]
}

/// Tests/Tools/fault-proxy.py in front of the S3 (or MLflow) test server: answers the first requests
/// with 503 SlowDown or 500, or dies in the middle of an upload (a server killed mid-transfer).
/// Stopped, by its PID, when the object goes away.
public final class FaultProxy: @unchecked Sendable {
    public enum Mode: String, Sendable {
        case slowDown = "fail"
        case internalError = "error"
        case dieDuringUpload = "die"
        /// Only requests carrying `Authorization: Bearer TOKEN` pass; the others get 401.
        case bearer
    }

    public let endpoint: URL
    private let process: Process
    private let log: Pipe

    public convenience init(_ server: S3TestServer, _ mode: Mode, count: Int = 0) throws {
        try self.init(upstream: server.endpoint.absoluteString, mode, argument: "\(count)")
    }

    /// In front of any HTTP server (`argument`: the count, or the token for `bearer`).
    public init(upstream: String, _ mode: Mode, argument: String) throws {
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tools")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", tools.appendingPathComponent("fault-proxy.py").path, upstream, mode.rawValue, argument,
        ]
        let out = Pipe()
        log = Pipe()
        process.standardOutput = out
        process.standardError = log
        try process.run()
        var line = Data()
        while let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw S3TestServer.Missing()
        }
        endpoint = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// What the proxy saw, one `METHOD PATH -> STATUS` line per request (after it stopped).
    public func requests() -> [String] {
        stop()
        let data = log.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    public func stop() {
        if process.isRunning {
            // SIGKILL: a child may inherit a signal mask that blocks SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
