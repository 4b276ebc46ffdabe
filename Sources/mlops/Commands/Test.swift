import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline

extension MLOps {
    struct Test: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "The fast CI stage before training: configuration, data, transform, trainer and your own tests.",
            discussion: """
                Checks that mlops.yaml is valid; that every data source (with a base: every changed one) \
                parses and validates against the schema, gates.policy deciding what fails, with drift \
                against the base commit's version of the file when it had one (the schema's \
                drift_comparator thresholds); that the transform fits and the trainer trains a few \
                rounds on a sample of the data (the external trainer command too) and predicts finite \
                values; and runs the commands of `tests:`. With a base (--base, or a pull request's \
                target branch in CI), checks the change cannot affect are skipped and say why. Writes \
                .mlops/reports/test.md, test-junit.xml and test.json. Exit 1 when a check fails \
                (docs/test.md).
                """)
        static let jsonSchema = TestReport.schemaName

        @OptionGroup var global: GlobalOptions

        @Option(help: "The branch or commit the change is compared with (default: the CI's target branch, else none).")
        var base: String?

        @Option(name: .customLong("sample-rows"), help: "Rows of the data the transform and trainer checks use.")
        var sampleRows: Int = 2000

        @Flag(help: "Treat warnings as failures.")
        var strict = false

        func validate() throws {
            guard sampleRows >= 20 else { throw ValidationError("--sample-rows must be at least 20") }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            var options = TestRun.Options(environment: ProcessInfo.processInfo.environment)
            options.base = base
            options.sampleRows = sampleRows
            options.strict = strict
            var sampleRun: Int64?
            let report = try TestRun.perform(
                try context.repository(), options: options,
                started: { config, commit in
                    guard console.mode != .json else { return }
                    console.line(
                        console.style("mlops test", .cyan, bold: true) + "  \(config.pipeline.name) @ "
                            + (commit.map { String($0.prefix(8)) } ?? "no commit"))
                },
                onCheck: { check in
                    guard console.mode != .json else { return }
                    let mark: String =
                        switch check.outcome {
                        case .passed: console.style("✓", .green)
                        case .failed: console.style("✗", .red)
                        case .warned: console.style("!", .yellow)
                        case .skipped: console.style("-", .cyan)
                        }
                    let kind = check.className.replacingOccurrences(of: "mlops.test.", with: "")
                    console.line("  \(mark) \(kind): \(check.name) — \(check.detail)")
                }, warn: { console.warning($0) }, recorded: { sampleRun = $0 })
            if let sampleRun {
                // The sample run goes to the MLflow mirror like any other (tracking on).
                let project = try context.project()
                defer { try? project.store.close() }
                try TrackingHook.afterRun(sampleRun, project: project, console: console)
            }
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, ok: report.passed, result: report))
            } else {
                func count(_ outcome: CheckResult.Outcome) -> Int {
                    report.checks.filter { $0.outcome == outcome }.count
                }
                console.line(
                    (report.passed
                        ? console.style("passed", .green, bold: true) : console.style("failed", .red, bold: true))
                        + "  \(count(.passed)) passed, \(count(.warned)) warned, \(count(.failed)) failed, "
                        + "\(count(.skipped)) skipped  reports: \(context.reportsPath)/test.md, test-junit.xml, test.json"
                )
            }
            if !report.passed { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }
    }
}
