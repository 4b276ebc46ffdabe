import Foundation
import Glibc

/// Starts a program that outlives this process: a session of its own (no terminal, not in the
/// caller's process group, so neither Ctrl-C nor the end of the command stops it), no input,
/// its output appended to a log file, and none of this process's other descriptors (a pipe a
/// caller reads to its end must not stay open because of it). Nobody waits for it: when this
/// process ends first, init reaps it.
public enum DetachedProcess {
    /// The log is started over once it grows past this.
    public static let logLimit = 1 << 20

    /// glibc's POSIX_SPAWN_SETSID (spawn.h, since glibc 2.26), which Swift's Glibc module does
    /// not show (it is a GNU extension).
    static let setsid: Int32 = 0x80

    /// This process's descriptors above stderr that a program it starts would inherit (not
    /// close-on-exec): the spawned one closes them.
    static func inheritedDescriptors() -> [Int32] {
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return listed.compactMap(Int32.init).filter {
            $0 > 2 && fcntl($0, F_GETFD) >= 0 && fcntl($0, F_GETFD) & FD_CLOEXEC == 0
        }
    }

    /// Starts `arguments` (the program's path first) with exactly `environment`, in this
    /// process's working directory. Returns its process id.
    public static func start(
        _ arguments: [String], environment: [String: String], log: URL
    ) throws -> pid_t {
        try FileManager.default.createDirectory(
            at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        let size = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int) ?? 0
        let flags = O_WRONLY | O_CREAT | O_APPEND | (size > logLimit ? O_TRUNC : 0)
        // Every step is checked: a process started without its own session or with the wrong
        // descriptors is worse than none (the caller then sends in the foreground).
        func check(_ status: Int32, _ step: String) throws {
            guard status == 0 else {
                throw FileError(
                    .io, path: arguments.first ?? "",
                    detail: "cannot prepare its start (\(step)): " + String(cString: strerror(status)))
            }
        }
        var actions = posix_spawn_file_actions_t()
        try check(posix_spawn_file_actions_init(&actions), "file actions")
        defer { posix_spawn_file_actions_destroy(&actions) }
        try check(posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0), "stdin")
        try check(posix_spawn_file_actions_addopen(&actions, 1, log.path, flags, 0o644), "stdout")
        try check(posix_spawn_file_actions_adddup2(&actions, 1, 2), "stderr")
        for descriptor in inheritedDescriptors() {
            try check(posix_spawn_file_actions_addclose(&actions, descriptor), "descriptor \(descriptor)")
        }
        var attributes = posix_spawnattr_t()
        try check(posix_spawnattr_init(&attributes), "attributes")
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own session; default handling of the signals mlops ignores during a run, nothing
        // blocked. A glibc without POSIX_SPAWN_SETSID (before 2.26) refuses the flags here.
        try check(
            posix_spawnattr_setflags(&attributes, Int16(setsid | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)),
            "a session of its own")
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP] { sigaddset(&defaults, number) }
        try check(posix_spawnattr_setsigdefault(&attributes, &defaults), "signal defaults")
        var empty = sigset_t()
        sigemptyset(&empty)
        try check(posix_spawnattr_setsigmask(&attributes, &empty), "signal mask")
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments.first ?? "", &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw FileError(
                .io, path: arguments.first ?? "", detail: "cannot start: " + String(cString: strerror(spawned)))
        }
        return pid
    }

    /// This program's own path (to start another of itself).
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments.first ?? "mlops" }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
