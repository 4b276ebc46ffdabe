import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGINT and SIGTERM delivered to a Swift closure, on a thread of its own.
///
/// An async-signal-safe handler (installed with `sigaction`) writes the signal's number into
/// a pipe; a thread reads it and calls `handler`, whichever thread the kernel delivered the
/// signal to and whatever state the async runtime is in. The count of signals so far is
/// passed too, so a second one can stop at once.
public final class SignalWatcher: @unchecked Sendable {
    // The pipe's write end, read by the C handler: set once, before any handler is installed.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    private static let lock = NSLock()

    private init() {}

    /// Starts watching `signals` for the rest of the process (one watcher per process).
    @discardableResult
    public static func watch(
        _ signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void
    ) -> SignalWatcher {
        lock.lock()
        defer { lock.unlock() }
        var ends: [Int32] = [0, 0]
        guard writeEnd < 0, pipe(&ends) == 0 else { return SignalWatcher() }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)  // a full pipe drops a signal rather than blocking the handler
        writeEnd = ends[1]
        let readEnd = ends[0]
        let thread = Thread {
            var count = 0
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 {
                count += 1
                handler(Int32(byte), count)
            }
        }
        thread.name = "mlops-signals"
        thread.start()
        for number in signals {
            var action = sigaction()
            #if canImport(Glibc)
                action.__sigaction_handler.sa_handler = { number in
                    var byte = UInt8(truncatingIfNeeded: number)
                    _ = write(SignalWatcher.writeEnd, &byte, 1)
                }
            #else
                action.__sigaction_u.__sa_handler = { number in
                    var byte = UInt8(truncatingIfNeeded: number)
                    _ = write(SignalWatcher.writeEnd, &byte, 1)
                }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        return SignalWatcher()
    }

    /// Ends the process as the signal's default action would (exit status 128 + signal).
    public static func die(of number: Int32) -> Never {
        signal(number, SIG_DFL)
        raise(number)
        exit(128 + number)
    }
}
