import Foundation
import MLOpsCore
import Pipeline

/// What `mlops test` checked and found, and the reports made from it: `test.json` (this
/// value), `test.md` (for the pull request) and `test-junit.xml` (one test case per check).
public struct TestReport: Sendable, Codable, Equatable {
    public static let schemaName = "mlops.test/v1"
    /// The first line of `test.md`, for a CI comment updated in place.
    public static let marker = "<!-- mlops-test-report -->"

    public let schema: String
    public let pipeline: String
    public let commit: String?
    /// How the base was chosen, or why there is none (then every check ran).
    public let base: String
    public let checks: [CheckResult]
    /// What a check printed (a test command's output), by check name.
    public let outputs: [String: String]

    public init(pipeline: String, commit: String?, base: String, checks: [CheckResult], outputs: [String: String]) {
        schema = Self.schemaName
        self.pipeline = pipeline
        self.commit = commit
        self.base = base
        self.checks = checks
        self.outputs = outputs
    }

    /// No check failed.
    public var passed: Bool { !checks.contains { $0.outcome == .failed } }

    public func markdown() -> String {
        let failed = checks.filter { $0.outcome == .failed }
        let skipped = checks.filter { $0.outcome == .skipped }
        var lines = [Self.marker]
        lines.append(
            passed
                ? "## ✅ mlops test: \(checks.count - skipped.count) checks passed"
                    + (skipped.isEmpty ? "" : ", \(skipped.count) skipped")
                : "## ❌ mlops test: \(failed.count) of \(checks.count) check\(checks.count == 1 ? "" : "s") failed")
        lines.append("")
        lines.append("Base: \(base).")
        lines.append("")
        lines.append("| check | result | detail |")
        lines.append("|---|---|---|")
        for check in checks {
            lines.append(
                "| \(GateReport.mark(check.outcome)) `\(GateReport.cell(check.className))` \(GateReport.cell(check.name)) "
                    + "| \(check.outcome.rawValue) | \(GateReport.cell(check.detail)) |")
        }
        for check in checks {
            guard let output = outputs[check.name], !output.isEmpty else { continue }
            lines.append("")
            lines.append("<details><summary>Output of \(GateReport.cell(check.name))</summary>")
            lines.append("")
            lines.append("```")
            lines.append(Self.tail(output).replacingOccurrences(of: "```", with: "'''"))
            lines.append("```")
            lines.append("")
            lines.append("</details>")
        }
        lines.append("")
        lines.append("Pipeline `\(pipeline)`, commit `\(commit.map { String($0.prefix(12)) } ?? "none")`.")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The last 60 lines of an output, which say why a command failed.
    static func tail(_ output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 60 else { return output.trimmingCharacters(in: .newlines) }
        return "… (\(lines.count - 60) lines above)\n" + lines.suffix(60).joined(separator: "\n")
    }

    public func junit() -> String { JUnitXML.render(name: "mlops test", checks: checks, outputs: outputs) }

    /// Writes `test.json`, `test.md` and `test-junit.xml` into `folder`, each atomically.
    public func write(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try artifactEncoder.encode(self), to: folder.appendingPathComponent("test.json"))
        try AtomicFile.write(Data(markdown().utf8), to: folder.appendingPathComponent("test.md"))
        try AtomicFile.write(Data(junit().utf8), to: folder.appendingPathComponent("test-junit.xml"))
    }
}
