import Foundation
import MLOpsCore
import Pipeline

/// Everything `mlops gate` decided, and the reports made from it: `gate.json` (this value),
/// `gate.md` (for the pull request) and `junit.xml` (one test case per check).
public struct GateReport: Sendable, Codable, Equatable {
    public static let schemaName = "mlops.gate/v1"
    /// The first line of `gate.md`: CI finds its earlier comment by it and edits it in place.
    public static let marker = "<!-- mlops-gate-report -->"

    public let schema: String
    public let pipeline: String
    public let commit: String?
    public let run: Int64
    public let blessed: Bool
    public let strict: Bool
    public let evaluation: EvaluationReport?
    public let infra: InfraReport?
    /// ExampleValidator's checks (anomalies, drift and skew measurements) as gate checks.
    public let data: [CheckResult]
    /// What drift and skew were measured against (nil when ExampleValidator did not run).
    public let dataComparison: String?
    /// The data read: each source file's fingerprint (`git:<blob>` or `sha256:<digest>`),
    /// and the examples artifact's.
    public let dataFingerprints: [String: String]
    /// Every check, evaluation, infra and data, after `--strict`.
    public let checks: [CheckResult]
    /// Why there is no baseline, when the rule found none (`no model blessed at the merge-base …`).
    public var noBaseline: String?

    public init(
        pipeline: String, commit: String?, run: Int64, strict: Bool, evaluation: EvaluationReport?,
        infra: InfraReport?, dataChecks: DataChecks?, dataFingerprints: [String: String] = [:],
        noBaseline: String? = nil
    ) {
        self.noBaseline = noBaseline
        self.dataFingerprints = dataFingerprints
        schema = Self.schemaName
        self.pipeline = pipeline
        self.commit = commit
        self.run = run
        self.strict = strict
        self.evaluation = evaluation
        self.infra = infra
        data = (dataChecks?.checks ?? []).map(Self.check)
        dataComparison = dataChecks?.comparisonSummary
        var verdict = GateVerdict(checks: (evaluation?.checks ?? []) + (infra?.checks ?? []) + data)
        if strict { verdict = verdict.strict() }
        checks = verdict.checks
        // Both blessings, and no failed check (a data failure, or a warning under --strict).
        blessed =
            evaluation?.blessed == true && infra?.blessed == true && !verdict.checks.contains { $0.outcome == .failed }
    }

    /// One ExampleValidator check as a gate check (`ignored` by the policy is `skipped`).
    public static func check(_ check: DataChecks.Check) -> CheckResult {
        let outcome: CheckResult.Outcome =
            switch check.outcome {
            case .passed: .passed
            case .failed: .failed
            case .warned: .warned
            case .ignored: .skipped
            }
        let policy = check.outcome == .ignored ? " (ignored by gates.policy)" : ""
        return CheckResult(
            className: "mlops.gate.data", name: check.name, outcome: outcome, detail: check.detail + policy)
    }

    // MARK: - gate.md

    public func markdown() -> String {
        var lines = [Self.marker]
        let failed = checks.filter { $0.outcome == .failed }
        lines.append(
            blessed
                ? "## ✅ mlops gate: blessed"
                : "## ❌ mlops gate: not blessed — \(failed.count) check\(failed.count == 1 ? "" : "s") failed")
        lines.append("")
        if let evaluation {
            if let baseline = evaluation.baseline {
                // A store artifact is named from the repository root, as a reviewer finds it.
                let folder =
                    baseline.folder.range(of: "/.mlops/").map { ".mlops/" + baseline.folder[$0.upperBound...] }
                    ?? baseline.folder
                lines.append("Baseline: `\(folder)` (\(baseline.reason)).")
            } else if let itself = evaluation.baselineIsCandidate {
                lines.append(
                    "**No baseline**: the baseline chosen (\(itself.reason)) is this very model, and a model "
                        + "compared with itself passes every change (TFX calls it a rubber stamp); change thresholds "
                        + "were not checked; only value thresholds apply.")
            } else {
                lines.append(
                    "**No baseline**" + (noBaseline.map { " (\($0))" } ?? "")
                        + ": change thresholds were not checked; only value thresholds apply.")
            }
        } else {
            lines.append("The Evaluator did not run.")
        }
        if infra == nil { lines.append("InfraValidator did not run.") }
        lines.append("")
        if !failed.isEmpty {
            lines.append("### Failed")
            lines.append("")
            for check in failed {
                lines.append("- **\(Self.cell(check.name))** (`\(check.className)`): \(Self.cell(check.detail))")
            }
            lines.append("")
        }
        if let evaluation, let overall = evaluation.candidate.first {
            lines.append("### Metrics (\(evaluation.task), \(evaluation.rows) eval rows)")
            lines.append("")
            lines.append("| metric | candidate | baseline | delta | threshold | |")
            lines.append("|---|---:|---:|---:|---|---|")
            let baseline = evaluation.baselineMetrics?.first
            for name in overall.metrics.values.keys.sorted() where name != "example_count" {
                let value = overall.metrics[name] ?? .nan
                let reference = baseline?.metrics[name]
                let delta = reference.map { value - $0 }
                let relevant = evaluation.checks.filter {
                    $0.className == "mlops.gate.evaluation.overall" && $0.name.hasPrefix(name + " ")
                }
                let mark =
                    relevant.contains { $0.outcome == .failed }
                    ? "❌" : relevant.contains { $0.outcome == .warned } ? "⚠️" : relevant.isEmpty ? "" : "✅"
                lines.append(
                    "| \(name) | \(Self.number(value)) | \(reference.map(Self.number) ?? "—") | "
                        + "\(delta.map { ($0 >= 0 ? "+" : "") + Self.number($0) } ?? "—") | "
                        + "\(relevant.map { Self.cell($0.name) }.joined(separator: "<br>")) | \(mark) |")
            }
            lines.append("")
            let sliceChecks = evaluation.checks.filter {
                $0.className != "mlops.gate.evaluation.overall" && $0.className.hasPrefix("mlops.gate.evaluation.")
                    && $0.outcome != .passed
            }
            if !sliceChecks.isEmpty {
                lines.append("### Slices")
                lines.append("")
                lines.append("| slice | check | result | detail |")
                lines.append("|---|---|---|---|")
                for check in sliceChecks {
                    let slice = String(check.className.dropFirst("mlops.gate.evaluation.".count))
                    lines.append(
                        "| \(Self.cell(slice)) | \(Self.cell(check.name)) | \(check.outcome.rawValue) | \(Self.cell(check.detail)) |"
                    )
                }
                lines.append("")
            }
        }
        if let infra {
            lines.append("### Infra validation (\(infra.mode))")
            lines.append("")
            lines.append("| check | result | detail |")
            lines.append("|---|---|---|")
            for check in infra.checks {
                lines.append("| \(Self.cell(check.name)) | \(check.outcome.rawValue) | \(Self.cell(check.detail)) |")
            }
            lines.append("")
        }
        if let dataComparison {
            lines.append("### Data")
            lines.append("")
            lines.append(dataComparison)
            lines.append("")
            if !data.isEmpty {
                lines.append("| check | result | detail |")
                lines.append("|---|---|---|")
                for check in data {
                    lines.append(
                        "| \(Self.mark(check.outcome)) \(Self.cell(check.name)) | \(check.outcome.rawValue) | \(Self.cell(check.detail)) |"
                    )
                }
                lines.append("")
            }
        }
        lines.append("Pipeline `\(pipeline)`, run \(run), commit `\(commit.map { String($0.prefix(12)) } ?? "none")`.")
        if !dataFingerprints.isEmpty {
            lines.append("")
            lines.append("<details><summary>Data fingerprints</summary>")
            lines.append("")
            for (path, fingerprint) in dataFingerprints.sorted(by: { $0.key < $1.key }) {
                lines.append("- `\(Self.cell(path))` `\(fingerprint)`")
            }
            lines.append("")
            lines.append("</details>")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func mark(_ outcome: CheckResult.Outcome) -> String {
        switch outcome {
        case .passed: "✅"
        case .failed: "❌"
        case .warned: "⚠️"
        case .skipped: "➖"
        }
    }

    /// Text safe inside a Markdown table cell.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func number(_ value: Double) -> String {
        value.isNaN ? "n/a" : String(format: "%.4f", value)
    }

    // MARK: - junit.xml

    /// JUnit XML as GitLab and Jenkins read it (``JUnitXML``).
    public func junit() -> String { JUnitXML.render(name: "mlops gate", checks: checks) }

    static func xml(_ text: String) -> String { JUnitXML.escape(text) }

    // MARK: - writing

    /// `gate.json`'s bytes.
    public func encoded() throws -> Data { try artifactEncoder.encode(self) }

    /// Writes `gate.json`, `gate.md` and `junit.xml` into `folder`, each atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try encoded(), to: folder.appendingPathComponent("gate.json"))
        try AtomicFile.write(Data(markdown().utf8), to: folder.appendingPathComponent("gate.md"))
        try AtomicFile.write(Data(junit().utf8), to: folder.appendingPathComponent("junit.xml"))
    }
}
