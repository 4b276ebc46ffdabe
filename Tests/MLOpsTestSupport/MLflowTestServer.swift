import Foundation

/// A real MLflow tracking server on 127.0.0.1 (Tests/Tools/mlflow-server.sh: SQLite backend,
/// artifacts through its proxy). `bash .ci/run` starts one for the whole suite and names it in
/// MLOPS_TEST_MLFLOW_URL (``shared()``); a test that stops and restarts a server starts one of
/// its own. Missing is a failure saying how to start one, never a skip.
public final class MLflowTestServer: @unchecked Sendable {
    public let url: String
    public let port: Int
    /// The server's folder (its database and artifacts), kept across a restart.
    public let directory: String
    private let pidFile: String
    private var running = true

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "no MLflow test server: run `bash .ci/run`, or start one with `bash Tests/Tools/mlflow-server.sh PIDFILE` and export what it prints"
        }
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The suite's server.
    public static func shared() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["MLOPS_TEST_MLFLOW_URL"], !url.isEmpty else {
            throw Missing()
        }
        return url
    }

    /// Starts a server of the test's own (10-15 s), on `port` with `directory` when given: a
    /// restart keeps the runs.
    /// With `adminPassword`, MLflow's basic-auth app: user `admin` with that password, every
    /// other request 401.
    public init(port: Int? = nil, directory: String? = nil, adminPassword: String? = nil) throws {
        let pidFile = NSTemporaryDirectory() + "mlops-mlflow-\(UUID().uuidString).pid"
        var environment = ["MLOPS_MLFLOW_PYTHON": PythonTool.mlflow.python]
        if let directory { environment["MLOPS_MLFLOW_DIR"] = directory }
        if let adminPassword { environment["MLOPS_MLFLOW_ADMIN_PASSWORD"] = adminPassword }
        let result = try Self.script([pidFile] + (port.map { [String($0)] } ?? []), environment: environment)
        guard result.status == 0,
            let line = result.stdout.split(separator: "\n").first(where: { $0.contains("MLOPS_TEST_MLFLOW_URL=") })
        else {
            throw StartFailure(description: "the MLflow server did not start (\(result.status)): \(result.stderr)")
        }
        let url = String(line.split(separator: "=", maxSplits: 1)[1]).trimmingCharacters(
            in: CharacterSet(charactersIn: "'"))
        self.url = url
        self.port = Int(url.split(separator: ":").last ?? "") ?? 0
        self.pidFile = pidFile
        self.directory =
            (try? String(contentsOfFile: pidFile, encoding: .utf8))?.split(separator: "\n").dropFirst().first
            .map(String.init) ?? ""
    }

    /// Stops it (its workers too); `keep` leaves its folder for a restart.
    public func stop(keep: Bool = false) throws {
        guard running else { return }
        running = false
        _ = try Self.script(["--stop", pidFile], environment: keep ? ["MLOPS_MLFLOW_KEEP": "1"] : [:])
    }

    deinit {
        if running { _ = try? Self.script(["--stop", pidFile], environment: [:]) }
        if !directory.isEmpty, directory.hasPrefix("/tmp/mlops-mlflow.") {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Runs the script with its output in a file, waited for with waitpid: Foundation's Process
    /// was seen to miss this script's exit (it leaves the server running in a session of its
    /// own) and wait forever.
    static func script(_ arguments: [String], environment: [String: String]) throws -> MLOpsProcess.Result {
        let output = NSTemporaryDirectory() + "mlops-mlflow-script-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv =
            ["/bin/bash", PythonTool.checkout.appendingPathComponent("Tests/Tools/mlflow-server.sh").path] + arguments
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { try? FileManager.default.removeItem(atPath: output + ".out") }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            for pointer in cArgs { free(pointer) }
            for pointer in cEnv { free(pointer) }
        }
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, cArgs, cEnv)
        guard spawned == 0 else { throw StartFailure(description: "posix_spawn failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return MLOpsProcess.Result(
            status: code, stdout: (try? String(contentsOfFile: output + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }
}
