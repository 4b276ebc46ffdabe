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

    /// Runs `mlops ARGUMENTS` in `directory` with CI=true (plain output) plus `environment`.
    public static func run(
        _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["CI"] = "true"
        // The host's CI variables must not choose a base for the tests (a pull request into
        // another branch would otherwise change their answers).
        for key in env.keys
        where key.hasPrefix("GITHUB_") || key.hasPrefix("CI_MERGE_REQUEST_") || key.hasPrefix("MLOPS_") {
            env.removeValue(forKey: key)
        }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting, so a large output cannot block the child.
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
