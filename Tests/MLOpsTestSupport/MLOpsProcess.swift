import Foundation

/// Runs the built `mlops` binary the way a user does and captures what it printed.
public struct MLOpsProcess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The built binary: `MLOPS_BINARY`, else `mlops` beside the test bundle in the build folder.
    public static var binary: URL {
        if let override = ProcessInfo.processInfo.environment["MLOPS_BINARY"] { return URL(fileURLWithPath: override) }
        let testExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testExecutable.deletingLastPathComponent()
        // macOS-style bundles put the executable deeper; walk up until `mlops` is found.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("mlops")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return testExecutable.deletingLastPathComponent().appendingPathComponent("mlops")
    }

    /// The environment a test's mlops process gets: CI=true (plain output) plus `extra`.
    public static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["CI"] = "true"
        // The host's CI variables must not choose a base for the tests (a pull request into
        // another branch would otherwise change their answers).
        for key in env.keys
        where key.hasPrefix("GITHUB_") || key.hasPrefix("CI_MERGE_REQUEST_") || key.hasPrefix("MLOPS_") {
            env.removeValue(forKey: key)
        }
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Runs `mlops ARGUMENTS` in `directory` with CI=true (plain output) plus `environment`.
    public static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = Self.environment(environment)
        return try capture(process)
    }

    /// Runs `process` with no input and returns its status and what it printed on stdout and
    /// stderr, both pipes read before waiting so a large output cannot block it.
    public static func capture(_ process: Process) throws -> Result {
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// `mlops serve …` running in the background until ``stop()`` (SIGTERM) or the object goes away:
/// started, then waited for until it says the model is ready, and the port it listens on.
public final class ServingProcess {
    public let process: Process
    public let port: Int
    /// What it printed up to being ready.
    public let banner: String

    public struct NotReady: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ arguments: [String], in directory: URL, environment: [String: String] = [:], ready: String)
        throws
    {
        process = Process()
        process.executableURL = MLOpsProcess.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = MLOpsProcess.environment(environment)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains(ready) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        banner = text
        guard text.contains(ready),
            let port = text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap({ Int($0.1) })
        else {
            if process.isRunning { process.terminate() }
            throw NotReady(description: "mlops \(arguments.joined(separator: " ")) never got ready: \(text)")
        }
        self.port = port
    }

    /// SIGTERM, and waits for the process to end; returns what it printed after the banner.
    @discardableResult
    public func stop() -> String {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        guard let pipe = process.standardOutput as? Pipe else { return "" }
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    deinit { if process.isRunning { process.terminate() } }
}
