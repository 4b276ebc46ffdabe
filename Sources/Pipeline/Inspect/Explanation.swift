import Foundation
import MLOpsCore
import Metadata

/// `mlops explain`: why a component would run or be reused now, input by input.
public enum Explanation {
    /// The runner's decision for `component` on `project`, nothing run; a usage error (64)
    /// when the pipeline does not hold it.
    public static func decision(for component: Component, in project: Project) throws -> PipelineRunner.Decision {
        // The remote cache is asked too (a key there would be pulled rather than run).
        let decisions = try project.runner().plan(remote: true)
        guard let decision = decisions.first(where: { $0.component == component }) else {
            let configured = decisions.map(\.component.rawValue).joined(separator: ", ")
            throw UsageError("\(component.rawValue) is not part of this pipeline yet (it runs: \(configured))")
        }
        return decision
    }

    /// The decision as `mlops explain` prints it: the verdict, the reason, and the cache key
    /// now against the last successful execution's, entry by entry.
    public static func print(_ decision: PipelineRunner.Decision, on console: Console) {
        let component = decision.component.rawValue
        console.line(
            console.style(component, .cyan, bold: true)
                + (decision.hit != nil
                    ? " would be reused"
                    : decision.remote != nil ? " would be pulled from the remote cache" : " would run"))
        console.line("  " + decision.reason.replacingOccurrences(of: "ran because", with: "because"))
        guard let previous = decision.previous, let last = previous.manifest else {
            console.line("  no earlier successful execution in the store")
            return
        }
        console.line(
            "  last successful execution: \(previous.id) (\(previous.state.rawValue.lowercased())"
                + (previous.gitCommit.map { ", commit \($0.prefix(8))" } ?? "") + ")")
        if let reason = previous.reason, reason.hasPrefix("pulled from the remote cache") {
            console.line("  its outputs were " + reason)
        }
        console.line("  cache key, now against then:")
        let today = decision.manifest
        var rows: [(String, String?, String?)] = [("version", today.version, last.version)]
        for key in Set(today.parameters.keys).union(last.parameters.keys).sorted() {
            rows.append(("parameter " + key, today.parameters[key], last.parameters[key]))
        }
        for key in Set(today.inputs.keys).union(last.inputs.keys).sorted() {
            rows.append(("input " + key, today.inputs[key], last.inputs[key]))
        }
        for key in Set(today.paths.keys).union(last.paths.keys).sorted() {
            rows.append((key, today.paths[key], last.paths[key]))
        }
        let width = min(40, rows.map(\.0.count).max() ?? 10)
        for (name, now, then) in rows {
            let same = now == then
            let mark = same ? console.style("=", .dim) : console.style("≠", .yellow, bold: true)
            let detail = same ? clip(now) : "\(clip(then)) → \(clip(now))"
            console.line("    \(mark) " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + detail)
        }
    }

    static func clip(_ text: String?) -> String {
        guard let text else { return "(none)" }
        return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }
}

/// `mlops runs` and `mlops runs diff`: the runs in the store and what changed between two.
public enum RunHistory {
    /// Two runs and, per component, what differs in its cache key ("not in run N" when only
    /// one of them ran it).
    public struct Comparison: Sendable, Encodable {
        public let first: RunSummary
        public let second: RunSummary
        public let components: [String: [String]]
        /// Parameters that differ (nil: the run has none by that name).
        public let params: [ParamChange]
        /// Every metric either run has, its last value in each and the change.
        public let metrics: [MetricChange]
    }

    public struct ParamChange: Sendable, Encodable, Equatable {
        public let key: String
        public let first: String?
        public let second: String?
    }

    public struct MetricChange: Sendable, Encodable, Equatable {
        public let key: String
        public let first: Double?
        public let second: Double?
        /// second − first, when both are numbers.
        public var change: Double? {
            guard let first, let second, first.isFinite, second.isFinite else { return nil }
            return second - first
        }

        enum CodingKeys: String, CodingKey { case key, first, second, change }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(key, forKey: .key)
            // JSON has no NaN or infinity: those are written as MLflow writes them.
            for (value, key) in [(first, CodingKeys.first), (second, .second), (change, .change)] {
                try container.encode(value.map(MetricNumber.init), forKey: key)
            }
        }
    }

    /// Parameters that differ and every metric, side by side.
    static func changes(_ first: RunTracking?, _ second: RunTracking?) -> ([ParamChange], [MetricChange]) {
        let a = first?.params ?? [:], b = second?.params ?? [:]
        let params = Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }.map {
            ParamChange(key: $0, first: a[$0], second: b[$0])
        }
        let x = first?.latestMetrics ?? [:], y = second?.latestMetrics ?? [:]
        let metrics = Set(x.keys).union(y.keys).sorted().map { MetricChange(key: $0, first: x[$0], second: y[$0]) }
        return (params, metrics)
    }

    public static func compare(_ first: Int64, _ second: Int64, in store: any MetadataStore) throws -> Comparison {
        var summaries: [RunSummary] = []
        for id in [first, second] {
            guard let run = try store.run(id) else {
                throw FileError(
                    .missing, path: "run \(id)", detail: "no such run in the store", hint: "`mlops runs` lists them")
            }
            summaries.append(run)
        }
        let before = Dictionary(try store.executions(run: first).map { ($0.component, $0) }, uniquingKeysWith: { $1 })
        let after = Dictionary(try store.executions(run: second).map { ($0.component, $0) }, uniquingKeysWith: { $1 })
        var changes: [String: [String]] = [:]
        for component in Set(before.keys).union(after.keys).sorted() {
            switch (before[component]?.manifest, after[component]?.manifest) {
            case (let old?, let new?): changes[component] = new.differences(from: old)
            case (nil, _): changes[component] = ["not in run \(first)"]
            case (_, nil): changes[component] = ["not in run \(second)"]
            }
        }
        let (params, metrics) = Self.changes(try store.tracking(run: first), try store.tracking(run: second))
        return Comparison(
            first: summaries[0], second: summaries[1], components: changes, params: params, metrics: metrics)
    }

    public static func print(_ comparison: Comparison, on console: Console, allMetrics: Bool = false) {
        let commits = [comparison.first, comparison.second].map { String(($0.properties["commit"] ?? "").prefix(8)) }
        console.line(
            "run \(comparison.first.id) → run \(comparison.second.id)  commit "
                + (commits[0] == commits[1] ? "\(commits[0]) (same)" : "\(commits[0]) → \(commits[1])"))
        for (component, list) in comparison.components.sorted(by: { $0.key < $1.key }) {
            console.line(
                "  " + component.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + (list.isEmpty ? console.style("same inputs", .dim) : list.joined(separator: "; ")))
        }
        let (a, b) = (comparison.first.id, comparison.second.id)
        if !comparison.params.isEmpty {
            console.line("")
            printTable(
                ["parameter", "run \(a)", "run \(b)"],
                comparison.params.map { [$0.key, $0.first ?? "–", $0.second ?? "–"] }, on: console)
        }
        func isDetail(_ key: String) -> Bool { key.hasPrefix("slice/") || key.hasPrefix("baseline/") }
        let detail = comparison.metrics.filter { isDetail($0.key) }
        let shown = allMetrics ? comparison.metrics : comparison.metrics.filter { !isDetail($0.key) }
        if !shown.isEmpty {
            console.line("")
            printTable(
                ["metric", "run \(a)", "run \(b)", "change"],
                shown.map { metric in
                    [
                        metric.key, metric.first.map(RunTable.format) ?? "–", metric.second.map(RunTable.format) ?? "–",
                        metric.change.map { ($0 > 0 ? "+" : "") + RunTable.format($0) } ?? "",
                    ]
                }, on: console)
        }
        if !allMetrics, !detail.isEmpty {
            console.line(console.style("(\(detail.count) per-slice and baseline metrics: --all lists them)", .dim))
        }
    }

    /// Left-aligned columns, each as wide as its widest cell (cells cut at 60 characters).
    public static func printTable(_ header: [String], _ rows: [[String]], on console: Console) {
        let cut = rows.map { $0.map { Explanation.clip($0) } }
        let widths = header.indices.map { column in
            ([header[column]] + cut.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        console.line(console.style(line(header), .dim))
        for row in cut { console.line(line(row)) }
    }

    public static func print(_ runs: [RunSummary], on console: Console) {
        guard !runs.isEmpty else {
            console.line("no runs yet: `mlops train` makes the first")
            return
        }
        let formatter = ISO8601DateFormatter()
        console.line(" run  started               commit    status          ran  cached  failed  seconds")
        for run in runs {
            let commit = String((run.properties["commit"] ?? "").prefix(8))
            let status = (run.properties["status"] ?? "running?").padding(toLength: 14, withPad: " ", startingAt: 0)
            let counts = [run.states["COMPLETE"] ?? 0, run.states["CACHED"] ?? 0, run.states["FAILED"] ?? 0]
            console.line(
                String(format: "%4lld", run.id) + "  " + formatter.string(from: run.started).prefix(19) + "   "
                    + commit.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + status
                    + String(format: "%5d %7d %7d", counts[0], counts[1], counts[2]) + "  "
                    + (run.properties["seconds"] ?? "–"))
        }
    }
}
