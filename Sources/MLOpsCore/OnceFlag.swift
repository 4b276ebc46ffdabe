import Foundation

/// A flag any thread may raise once and any thread may read: a cancellation, a timeout.
public final class OnceFlag: @unchecked Sendable {
    // `raised` is only touched under `lock`; hence @unchecked Sendable.
    private let lock = NSLock()
    private var raised = false

    public init() {}

    public func raise() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    public var isRaised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }
}
