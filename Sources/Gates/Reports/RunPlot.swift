import Foundation
import MLOpsCore
import Metadata
import Pipeline

/// `mlops runs plot METRIC`: one metric as a self-contained HTML page with an SVG chart (no
/// scripts, no network), drawn as the gate report draws its plots. Over runs, each run's last
/// value in run order; over rounds, the metric by step (a training curve) for each run given.
public enum RunPlot {
    public enum Axis: String, Sendable, CaseIterable { case runs, rounds }

    /// The page, or nil when no run has the metric.
    public static func render(metric: String, over axis: Axis, runs: [RunTracking]) -> String? {
        let ordered = runs.sorted { $0.run.id < $1.run.id }
        var series: [(String, [[Double]])] = []
        var rows: [String] = []
        switch axis {
        case .runs:
            let points = ordered.compactMap { run -> [Double]? in
                run.latestMetrics[metric].map { [Double(run.run.id), $0] }
            }
            guard !points.isEmpty else { return nil }
            series = [(metric, points)]
            for run in ordered {
                guard let value = run.latestMetrics[metric] else { continue }
                rows.append(
                    "<tr><td class=\"num\">\(run.run.id)</td><td><code>\(HTMLReport.text(String((run.run.properties["commit"] ?? "").prefix(8))))</code></td><td>\(HTMLReport.text(run.run.properties["command"] ?? ""))</td><td class=\"num\">\(HTMLReport.text(RunTable.format(value)))</td></tr>"
                )
            }
        case .rounds:
            for run in ordered {
                let history = run.history(metric)
                guard !history.isEmpty else { continue }
                series.append(("run \(run.run.id)", history.map { [Double($0.step), $0.value] }))
                let last = history[history.count - 1]
                rows.append(
                    "<tr><td class=\"num\">\(run.run.id)</td><td><code>\(HTMLReport.text(String((run.run.properties["commit"] ?? "").prefix(8))))</code></td><td class=\"num\">\(history.count) steps</td><td class=\"num\">\(HTMLReport.text(RunTable.format(last.value)))</td></tr>"
                )
            }
            guard !series.isEmpty else { return nil }
        }
        let chart = Plot.lines(
            title: metric, x: axis == .runs ? "run" : "step", y: metric, series: series, markers: axis == .runs,
            fitY: true, width: 760, height: 340)
        let header =
            axis == .runs
            ? "<th>run</th><th>commit</th><th>command</th><th>value</th>"
            : "<th>run</th><th>commit</th><th>steps</th><th>last value</th>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>mlops runs plot: \(HTMLReport.text(metric))</title>
            \(HTMLReport.style)</head><body>
            <h1>\(HTMLReport.text(metric)) over \(axis.rawValue)</h1>
            <p class="facts">\(series.count == 1 ? "" : "\(series.count) runs · ")made by mlops \(HTMLReport.text(MLOpsVersion.current))</p>
            \(chart)
            <table><tr>\(header)</tr>
            \(rows.joined(separator: "\n"))
            </table>
            </body></html>

            """
    }
}
