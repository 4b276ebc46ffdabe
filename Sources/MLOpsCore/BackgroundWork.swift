import Foundation

/// Work started on its own thread at once, for overlapping two independent steps of one
/// command (reading the work tree while mlops.yaml is parsed, checking a checksum while the
/// file is parsed); ``result()`` waits for it.
public final class BackgroundWork<Value>: @unchecked Sendable {
    private var outcome: Result<Value, any Error>?
    private let done = DispatchSemaphore(value: 0)
    /// Touched by the calling thread only; the semaphore orders `outcome`'s write before its read.
    private var joined = false

    public init(_ work: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            outcome = Result { try work() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for the work (the first time) and returns its value or throws its error.
    public func result() throws -> Value {
        if !joined {
            done.wait()
            joined = true
        }
        guard let outcome else { throw InternalError("background work returned nothing") }
        return try outcome.get()
    }
}
