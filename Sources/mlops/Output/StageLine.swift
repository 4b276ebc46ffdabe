import Foundation
import MLOpsCore
import Pipeline

/// A component's line as train, gate and release print it: name, ran/cached/failed/skipped,
/// time, summary, and the reason (dimmed) under it.
enum StageLine {
    static let width = Component.allCases.map(\.rawValue.count).max() ?? 16

    static func print(_ stage: StageReport, on console: Console) {
        guard console.mode != .json else { return }
        let name = stage.component.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
        let outcome: String
        switch stage.outcome {
        case .ran: outcome = console.style("ran    ", .green)
        case .cached:
            // Pulled from the remote cache: reused as a cached result, but fetched by this job.
            let pulled = stage.reason.hasPrefix("pulled from the remote cache")
            outcome = console.style(pulled ? "pulled " : "cached ", .cyan)
        case .failed: outcome = console.style("failed ", .red, bold: true)
        case .skipped: outcome = console.style("skipped", .yellow)
        }
        let time = stage.outcome == .skipped ? "        " : String(format: "%6.2f s", stage.seconds)
        var line = "\(name)  \(outcome)  \(time)"
        if !stage.summary.isEmpty { line += "  " + stage.summary }
        console.line(line)
        console.line(String(repeating: " ", count: width + 2) + console.style(stage.reason, .dim))
    }

    /// A stage callback that clears a progress bar, then prints the line.
    static func printer(on console: Console) -> @Sendable (StageReport) -> Void {
        { stage in
            ProgressBar.clearLine(console: console)
            print(stage, on: console)
        }
    }
}
