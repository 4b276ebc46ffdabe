import Foundation

/// A progress bar for long reads, redrawn in place on stderr at most ten times a second.
///
/// It draws only on an interactive terminal and only for work of at least `threshold` bytes;
/// elsewhere (CI logs, pipes, `--json`, `--quiet`) it stays silent. Safe to advance from
/// any thread.
public final class ProgressBar: @unchecked Sendable {
    public static let threshold = 4 << 20

    private let lock = NSLock()
    private let label: String
    private let total: Int
    private let enabled: Bool
    private var done = 0
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let started = ContinuousClock.now
    private var drawn = false

    public init(console: Console, label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        enabled = console.interactive && console.verbosity >= .normal && total >= Self.threshold
    }

    /// Records `bytes` more of the work done.
    public func advance(by bytes: Int) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        done = min(total, done + bytes)
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        draw(now)
    }

    /// Clears the bar (the caller prints the result line).
    public func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drawn = false
    }

    private func draw(_ now: ContinuousClock.Instant) {
        let fraction = Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let seconds = (now - started).inSeconds
        let rate = seconds > 0 ? Double(done) / seconds / 1e6 : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let text =
            "\r\u{1B}[2K\(label) \(bar) \(Int(fraction * 100))%  \(Self.megabytes(done))/\(Self.megabytes(total)) MB  \(String(format: "%.0f", rate)) MB/s"
        FileHandle.standardError.write(Data(text.utf8))
        drawn = true
    }

    /// Clears a bar another thread may have left on the terminal before a line is printed.
    public static func clearLine(console: Console) {
        guard console.interactive, console.verbosity >= .normal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1e6) }
}

extension Duration {
    /// The duration in seconds, for printing.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
