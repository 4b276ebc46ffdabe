import Foundation
import Gates
import MLOpsCore
import Pipeline

/// What `mlops monitor` found: `monitor.json` (schema `mlops.monitor/v1`), rendered as
/// `monitor.md`, `monitor-junit.xml` and `monitor.html` (docs/monitoring.md).
public struct MonitorReport: Sendable, Encodable, Equatable {
    public static let schemaName = "mlops.monitor/v1"
    /// Marks the Markdown report, so a CI job can update its comment instead of adding one.
    public static let marker = "<!-- mlops-monitor-report -->"

    public struct Window: Sendable, Codable, Equatable {
        public let from: String
        public let to: String
        public let rows: Int
        public let requests: Int

        init(_ window: TimeWindow, rows: Int, requests: Int) {
            from = TimeWindow.format(window.from)
            to = TimeWindow.format(window.to)
            self.rows = rows
            self.requests = requests
        }
    }

    public var schema = MonitorReport.schemaName
    public let model: String
    public let version: String?
    /// The bundle identity whose rows were read (`sha256:` of its manifest).
    public let identity: String
    public let window: Window
    /// The window before, which drift is measured against.
    public let previous: Window
    public let logs: LogReadSummary
    public var features: [FeatureRow] = []
    public var predictions: [FeatureRow] = []
    public var labels: LabelSummary?
    public var metrics: [MetricRow] = []
    public var checks: [CheckResult] = []
    /// The distributions the HTML page draws: each feature against the training data…
    public var plots: [FeatureComparison] = []
    /// …and each prediction against the eval split.
    public var predictionPlots: [FeatureComparison] = []

    /// Healthy when no check failed (a warning or a skipped check is not a failure).
    public var healthy: Bool { !checks.contains { $0.outcome == .failed } }

    enum CodingKeys: String, CodingKey {
        case schema, model, version, identity, window, previous, healthy, logs, features, predictions, labels
        case metrics, checks
    }

    init(model: String, version: String?, identity: String, window: Window, previous: Window, logs: LogReadSummary) {
        self.model = model
        self.version = version
        self.identity = identity
        self.window = window
        self.previous = previous
        self.logs = logs
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(model, forKey: .model)
        try container.encode(version, forKey: .version)
        try container.encode(identity, forKey: .identity)
        try container.encode(window, forKey: .window)
        try container.encode(previous, forKey: .previous)
        try container.encode(healthy, forKey: .healthy)
        try container.encode(logs, forKey: .logs)
        try container.encode(features, forKey: .features)
        try container.encode(predictions, forKey: .predictions)
        try container.encodeIfPresent(labels, forKey: .labels)
        try container.encode(metrics, forKey: .metrics)
        try container.encode(checks, forKey: .checks)
    }

    /// The checks that failed, for the command's output and the CI job that retrains.
    public var failed: [CheckResult] { checks.filter { $0.outcome == .failed } }

    // MARK: - Rendering

    public func markdown() -> String {
        var lines = [Self.marker]
        let failed = self.failed
        lines.append(
            healthy
                ? "## ✅ mlops monitor: \(model) \(version ?? "") healthy"
                : "## ❌ mlops monitor: \(model) \(version ?? "") — \(failed.count) check\(failed.count == 1 ? "" : "s") failed"
        )
        lines.append("")
        lines.append(
            "Window \(window.from) to \(window.to): **\(window.rows) rows** in \(window.requests) requests "
                + "(the window before: \(previous.rows) rows). Model `\(identity.prefix(19))…`.")
        if logs.malformed > 0 || !logs.otherModels.isEmpty {
            var notes: [String] = []
            if logs.malformed > 0 { notes.append("\(logs.malformed) malformed log lines left out") }
            let others = logs.otherModels.values.reduce(0, +)
            if others > 0 { notes.append("\(others) rows of other model versions left out") }
            lines.append("")
            lines.append("Logs: " + notes.joined(separator: "; ") + ".")
        }
        if !failed.isEmpty {
            lines.append("")
            lines.append("### Failed checks")
            for check in failed { lines.append("- **\(check.name)**: \(check.detail)") }
        }
        if !features.isEmpty {
            lines.append("")
            lines.append("### Features")
            lines.append("| feature | missing | missing in training | skew | drift |")
            lines.append("|---|---:|---:|---:|---:|")
            for row in features {
                lines.append(
                    "| \(row.feature) | \(Self.percent(row.missing)) | \(row.trainingMissing.map(Self.percent) ?? "") | \(Self.distance(row.skew, row.skewMeasure)) | \(Self.distance(row.drift, row.driftMeasure)) |"
                )
            }
        }
        if !predictions.isEmpty {
            lines.append("")
            lines.append("### Predictions against the eval split")
            lines.append("| output | distance |")
            lines.append("|---|---:|")
            for row in predictions { lines.append("| \(row.feature) | \(Self.distance(row.skew, row.skewMeasure)) |") }
        }
        if let labels {
            lines.append("")
            lines.append("### Live metrics")
            lines.append(
                "Labels `\(labels.file)`: \(labels.records) records, \(labels.joined) joined, \(labels.unmatched) unmatched, \(labels.duplicates) duplicates, \(labels.malformed) malformed, \(labels.unlabeled) without a label value."
            )
            let overall = metrics.filter { $0.slice == "overall" }
            if !overall.isEmpty {
                lines.append("")
                lines.append("| metric | live | at the gate | change |")
                lines.append("|---|---:|---:|---:|")
                for row in overall {
                    let change = row.live.flatMap { live in row.gate.map { Self.signed(live - $0) } } ?? ""
                    lines.append(
                        "| \(row.metric) | \(row.live.map(ThresholdChecks.format) ?? "n/a") | \(row.gate.map(ThresholdChecks.format) ?? "") | \(change) |"
                    )
                }
            }
        }
        lines.append("")
        lines.append("<details><summary>All \(checks.count) checks</summary>")
        lines.append("")
        lines.append("| check | result | detail |")
        lines.append("|---|---|---|")
        for check in checks {
            lines.append(
                "| \(check.name) | \(check.outcome.rawValue) | \(check.detail.replacingOccurrences(of: "|", with: "\\|")) |"
            )
        }
        lines.append("")
        lines.append("</details>")
        return lines.joined(separator: "\n") + "\n"
    }

    public func junit() -> String { JUnitXML.render(name: "mlops monitor", checks: checks) }

    public func html() -> String {
        let failed = self.failed
        var body: [String] = []
        body.append(
            healthy
                ? #"<h1><span class="badge pass">HEALTHY</span> mlops monitor: \#(HTMLReport.text(model)) \#(HTMLReport.text(version ?? ""))</h1>"#
                : #"<h1><span class="badge fail">FAIL</span> mlops monitor: \#(HTMLReport.text(model)) \#(HTMLReport.text(version ?? "")) — \#(failed.count) check\#(failed.count == 1 ? "" : "s") failed</h1>"#
        )
        body.append(
            "<p class=\"facts\">window \(window.from) to \(window.to) · <b>\(window.rows) rows</b> in \(window.requests) requests · the window before: \(previous.rows) rows · model <code>\(HTMLReport.text(String(identity.prefix(19))))…</code></p>"
        )
        if !failed.isEmpty {
            body.append("<h2>Failed checks</h2><ul class=\"failed\">")
            for check in failed {
                body.append("<li><b>\(HTMLReport.text(check.name))</b>: \(HTMLReport.text(check.detail))</li>")
            }
            body.append("</ul>")
        }
        if !plots.isEmpty {
            body.append("<h2>Features: served against the training data</h2><div class=\"grid small\">")
            body += plots.map { Plot.comparison($0, names: ("training", "served")) }
            body.append("</div>")
        }
        if !predictionPlots.isEmpty {
            body.append("<h2>Predictions: served against the eval split</h2><div class=\"grid small\">")
            body += predictionPlots.map { Plot.comparison($0, names: ("eval split", "served")) }
            body.append("</div>")
        }
        let overall = metrics.filter { $0.slice == "overall" }
        if !overall.isEmpty {
            body.append(
                "<h2>Live metrics</h2><table><tr><th>metric</th><th>live</th><th>at the gate</th><th>change</th></tr>")
            for row in overall {
                let change = row.live.flatMap { live in row.gate.map { Self.signed(live - $0) } } ?? ""
                body.append(
                    "<tr><td>\(HTMLReport.text(row.metric))</td><td class=\"num\">\(row.live.map(ThresholdChecks.format) ?? "n/a")</td><td class=\"num\">\(row.gate.map(ThresholdChecks.format) ?? "")</td><td class=\"num\">\(change)</td></tr>"
                )
            }
            body.append("</table>")
        }
        body.append("<h2>All checks</h2>" + HTMLReport.checksTable(checks))
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>mlops monitor: \(HTMLReport.text(model))</title>
            \(HTMLReport.style)</head><body>
            \(body.joined(separator: "\n"))
            </body></html>

            """
    }

    /// Writes `monitor.json`, `monitor.md`, `monitor-junit.xml` and `monitor.html` into
    /// `folder`, each atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try artifactEncoder.encode(self), to: folder.appendingPathComponent("monitor.json"))
        try AtomicFile.write(Data(markdown().utf8), to: folder.appendingPathComponent("monitor.md"))
        try AtomicFile.write(Data(junit().utf8), to: folder.appendingPathComponent("monitor-junit.xml"))
        try AtomicFile.write(Data(html().utf8), to: folder.appendingPathComponent("monitor.html"))
    }

    static func percent(_ share: Double) -> String { String(format: "%.1f%%", 100 * share) }
    static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + ThresholdChecks.format(value) }
    static func distance(_ value: Double?, _ measure: String?) -> String {
        guard let value, let measure else { return "" }
        return (measure == "L_INFTY" ? "L∞ " : "JS ") + String(format: "%.3f", value)
    }
}

/// One feature (or prediction output) in the window: its missing share, and its distances
/// from the training data (skew) and the window before (drift).
public struct FeatureRow: Sendable, Codable, Equatable {
    public let feature: String
    public let type: String
    public let missing: Double
    public let trainingMissing: Double?
    public var skew: Double?
    public var skewMeasure: String?
    public var drift: Double?
    public var driftMeasure: String?

    enum CodingKeys: String, CodingKey {
        case feature, type, missing, trainingMissing = "training_missing", skew, skewMeasure = "skew_measure", drift
        case driftMeasure = "drift_measure"
    }

    init(
        feature: String, type: String, missing: Double, trainingMissing: Double?, skew: Double? = nil,
        skewMeasure: String? = nil
    ) {
        self.feature = feature
        self.type = type
        self.missing = missing
        self.trainingMissing = trainingMissing
        self.skew = skew
        self.skewMeasure = skewMeasure
    }
}

/// A live metric on the labelled rows of a slice, beside the gate's figure on the eval split.
public struct MetricRow: Sendable, Codable, Equatable {
    public let slice: String
    public let metric: String
    public let rows: Int
    public let live: Double?
    public let gate: Double?
}
