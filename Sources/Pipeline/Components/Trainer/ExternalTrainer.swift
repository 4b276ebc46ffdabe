import Foundation
import MLOpsCore
import XGBoostKit

/// What `MLOPS_FN_ARGS` points at: the paths and settings an external trainer gets, in the
/// spirit of TFX's FnArgs (docs/transform.md).
public struct TrainerFnArgs: Sendable, Codable, Equatable {
    public let trainFiles: [String]
    public let evalFiles: [String]
    public let schemaPath: String?
    public let transformPath: String
    public let label: String
    public let features: [String]
    public let task: TaskKind
    public let numClass: Int?
    public let rounds: Int
    public let seed: Int
    public let threads: Int
    public let hyperparameters: [String: String]
    /// Where the program must write its XGBoost model (JSON).
    public let modelPath: String

    enum CodingKeys: String, CodingKey {
        case trainFiles = "train_files", evalFiles = "eval_files", schemaPath = "schema_path"
        case transformPath = "transform_path", label, features, task, numClass = "num_class", rounds, seed
        case threads = "nthread", hyperparameters, modelPath = "model_path"
    }
}

/// Runs an external trainer command in its own process group, streaming its output, with a
/// time limit after which the whole group is killed.
enum ExternalProcess {
    /// The process groups of the programs running now, so an interrupted run can stop them.
    static let running = ProcessGroups()

    final class ProcessGroups: @unchecked Sendable {
        // `groups` is only touched under `lock`.
        private let lock = NSLock()
        private var groups = Set<pid_t>()

        func insert(_ group: pid_t) {
            lock.lock()
            groups.insert(group)
            lock.unlock()
        }

        func remove(_ group: pid_t) {
            lock.lock()
            groups.remove(group)
            lock.unlock()
        }

        /// Sends `signal` to every running group.
        func signalAll(_ signal: Int32) {
            lock.lock()
            defer { lock.unlock() }
            for group in groups { kill(-group, signal) }
        }
    }

    struct Outcome {
        let status: Int32
        let timedOut: Bool
        /// The last lines it wrote to stderr.
        let tail: [String]
    }

    static func run(
        _ command: String, in directory: URL, environment: [String: String], timeout: TimeInterval,
        output: @escaping @Sendable (String) -> Void
    ) throws -> Outcome {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else {
            throw FileError(.io, path: command, detail: "cannot make a pipe: " + String(cString: strerror(errno)))
        }
        // Not inherited by anything else this process starts (the child gets it through dup2).
        for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // No terminal input: a prompt must not stop it in the background group (SIGTTIN).
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, default signal handling (mlops ignores SIGINT and SIGTERM
        // while a run is under way) and nothing blocked.
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        // The shell starts in `directory` (quoted for sh), then runs the command.
        let quoted = "'" + directory.path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let arguments = ["/bin/sh", "-c", "cd \(quoted) && \(command)"]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        Glibc.close(pipe[1])
        guard spawned == 0 else {
            Glibc.close(pipe[0])
            throw FileError(.io, path: command, detail: "cannot start: " + String(cString: strerror(spawned)))
        }
        running.insert(pid)
        defer { running.remove(pid) }
        // The time limit: the whole process group is killed when it passes.
        let state = OnceFlag()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + timeout)
        timer.setEventHandler {
            state.raise()
            kill(-pid, SIGKILL)
        }
        timer.resume()
        var tail: [String] = []
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                output(line)
                tail.append(line)
                if tail.count > 20 { tail.removeFirst() }
            }
        }
        if !pending.isEmpty {
            let line = String(decoding: pending, as: UTF8.self)
            output(line)
            tail.append(line)
        }
        Glibc.close(pipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        timer.cancel()
        kill(-pid, SIGKILL)  // anything it left running in its group
        let exited = (status & 0x7f) == 0
        return Outcome(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), timedOut: state.isRaised, tail: tail)
    }

}

/// A command line run with `/bin/sh -c` in a folder, its stdout and stderr merged and kept,
/// killed with its process group when it passes its time limit (`mlops test`'s `tests:`).
public enum ShellCommand {
    public struct Result: Sendable {
        /// The exit status (128 + the signal when killed).
        public let status: Int32
        public let timedOut: Bool
        /// Everything it printed, stdout and stderr in order.
        public let output: String
    }

    public static func run(
        _ command: String, in directory: URL, timeout: TimeInterval, environment: [String: String] = [:]
    ) throws -> Result {
        let lines = LineCollector()
        let outcome = try ExternalProcess.run(
            command, in: directory, environment: environment, timeout: timeout, output: { lines.append($0) })
        return Result(status: outcome.status, timedOut: outcome.timedOut, output: lines.text)
    }

    private final class LineCollector: @unchecked Sendable {
        private var lines: [String] = []
        private let lock = NSLock()
        func append(_ line: String) {
            lock.lock()
            lines.append(line)
            lock.unlock()
        }
        var text: String {
            lock.lock()
            defer { lock.unlock() }
            return lines.joined(separator: "\n")
        }
    }
}
