import ArgumentParser
import Crypto
import Foundation
import Gates
import GitKit
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
            let repository = try context.repository()
            guard let workdir = repository.workingDirectory else {
                throw FileError(
                    .missing, path: repository.gitDirectory, detail: "is a bare repository, with no work tree")
            }
            let root = URL(fileURLWithPath: workdir)
            let reports = root.appendingPathComponent(".mlops/reports", isDirectory: true)
            let commit = try? repository.head().commit?.description
            var run = TestRun(root: root, repository: repository, console: console, sampleRows: sampleRows)
            // The configuration first: nothing else can be checked without it.
            let config: MLOpsConfig
            do {
                config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
            } catch {
                run.add("mlops.test.config", "mlops.yaml is valid", .failed, "\(error)")
                let report = TestReport(
                    pipeline: "", commit: commit, base: "not looked for", checks: run.checks, outputs: [:])
                try report.write(to: reports)
                throw error
            }
            if console.mode != .json {
                console.line(
                    console.style("mlops test", .cyan, bold: true) + "  \(config.pipeline.name) @ "
                        + (commit.map { String($0.prefix(8)) } ?? "no commit"))
            }
            run.add("mlops.test.config", "mlops.yaml is valid", .passed, "every key checked")
            let baseText = try run.findChange(config: config, base: base)
            run.checkData(config: config, strict: strict || config.gates.strict)
            run.checkSample(config: config)
            run.runTests(config: config)
            let report = TestReport(
                pipeline: config.pipeline.name, commit: commit, base: baseText, checks: run.checks, outputs: run.outputs
            )
            try report.write(to: reports)
            if let summary = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty,
                let handle = FileHandle(forWritingAtPath: summary)
            {
                handle.seekToEndOfFile()
                handle.write(Data(report.markdown().utf8))
                try? handle.close()
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
                        + "\(count(.skipped)) skipped"
                        + "  reports: \(reports.path)/test.md, test-junit.xml, test.json")
            }
            if !report.passed { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }
    }
}

/// The checks of one `mlops test`, in order, printed as they finish.
struct TestRun {
    let root: URL
    let repository: Repository
    let console: Console
    let sampleRows: Int
    var checks: [CheckResult] = []
    var outputs: [String: String] = [:]
    /// What the change touched; nil when there is no base (every check runs).
    var change: ChangeReport?

    init(root: URL, repository: Repository, console: Console, sampleRows: Int) {
        self.root = root
        self.repository = repository
        self.console = console
        self.sampleRows = sampleRows
    }

    mutating func add(_ className: String, _ name: String, _ outcome: CheckResult.Outcome, _ detail: String) {
        let check = CheckResult(className: className, name: name, outcome: outcome, detail: detail)
        checks.append(check)
        guard console.mode != .json else { return }
        let mark: String =
            switch outcome {
            case .passed: console.style("✓", .green)
            case .failed: console.style("✗", .red)
            case .warned: console.style("!", .yellow)
            case .skipped: console.style("-", .cyan)
            }
        console.line("  \(mark) \(className.replacingOccurrences(of: "mlops.test.", with: "")): \(name) — \(detail)")
    }

    /// The base: `--base`, else a pull request's target in CI (as `mlops changes` finds it);
    /// without one every check runs. Returns how it was chosen, for the report.
    mutating func findChange(config: MLOpsConfig, base: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard base != nil || ChangeBase.isRequested(in: environment) else {
            return "none (no --base, and no pull request's target branch in the CI environment): every check runs"
        }
        let report = try ChangeDetector(repository: repository, config: config).detect(
            base: base, environment: environment)
        if let fallback = report.base.fallback {
            console.warning(
                "no usable base: \(fallback); every check runs" + (report.base.hint.map { "\n  hint: \($0)" } ?? ""))
            return "no usable base (\(fallback)): every check runs"
        }
        change = report
        return report.base.explanation
    }

    /// Why a check on `components` is skipped, or nil when the change may affect one of them.
    func skipReason(_ components: [Component]) -> String? {
        guard let change else { return nil }
        if change.affected.contains(where: { components.contains($0.component) }) { return nil }
        let base = change.base.mergeBase.map { " since \($0.short)" } ?? ""
        return "nothing changed\(base) affects \(components.map(\.rawValue).joined(separator: " or "))"
    }

    // MARK: - Data

    /// Every data source (with a base: the changed ones, or all of them when the schema or
    /// configuration changed) parsed in full and validated against the schema, with drift
    /// against the base commit's version of the file.
    mutating func checkData(config: MLOpsConfig, strict: Bool) {
        if let reason = skipReason([.exampleGen, .exampleValidator]) {
            add("mlops.test.data", "data sources parse and validate", .skipped, reason)
            return
        }
        let spans: [SpanFiles]
        do {
            spans = try SpanResolver.resolve(patterns: config.data.sources, selection: config.data.span, root: root)
        } catch {
            add("mlops.test.data", "data sources are found", .failed, "\(error)")
            return
        }
        var files = spans.flatMap { span in span.files.map { (span: span, file: $0) } }
        if let change, change.paths(in: .schema).isEmpty, change.paths(in: .config).isEmpty {
            let changed = Set(change.paths(in: .data).map(\.path))
            files = files.filter { changed.contains($0.file) }
        }
        var schema: Schema?
        if case .file(let path) = config.schema {
            do { schema = try Schema.load(path: root.appendingPathComponent(path).path) } catch {
                add("mlops.test.data", "\(path) is a valid schema", .failed, "\(error)")
                return
            }
        }
        var csv = CSVOptions()
        csv.delimiter = config.data.delimiter.utf8.first ?? UInt8(ascii: ",")
        csv.onBadRows = config.data.onBadRows
        for feature in schema?.features ?? [] where feature.type == .bytes { csv.types[feature.name] = .bytes }
        var options = ExampleGen.Options()
        options.csv = csv
        let policy = config.gates.actions
        for (span, file) in files {
            let table: DataTable
            do {
                table = try ExampleGen.read(
                    spans: [SpanFiles(span: span.span, version: span.version, files: [file])], root: root,
                    options: options
                ).table
            } catch {
                add("mlops.test.data", "\(file) parses", .failed, "\(error)")
                continue
            }
            guard let schema else {
                add(
                    "mlops.test.data", "\(file) parses", .passed,
                    "\(table.rowCount) rows; no curated schema (schema: infer), so anomalies are checked by `mlops train`"
                )
                continue
            }
            let statistics = StatisticsGenerator.statistics(of: table, name: file)
            // The same file at the base commit, read from git (no checkout), for drift.
            var previous: ExampleValidator.Comparison?
            var previousNote = "no base"
            if let change, let mergeBase = change.base.mergeBase {
                previousNote = "not in \(mergeBase.short)"
                if let data = try? repository.contents(of: file, in: mergeBase),
                    let old = try? Self.table(data, name: "\(file)@\(mergeBase.short)", options: csv)
                {
                    previous = ExampleValidator.Comparison(
                        table: old, statistics: StatisticsGenerator.statistics(of: old, name: file))
                    previousNote = "drift against \(file)@\(mergeBase.short)"
                }
            }
            if let previous, let mergeBase = change?.base.mergeBase {
                // Every feature's distance from the base's version, on shared buckets: reported;
                // gated only through the schema's drift_comparator thresholds (below).
                let distances = FeatureComparison.compare(train: previous.table, eval: table)
                    .sorted { $0.distance > $1.distance }
                let largest = distances.prefix(3).map {
                    "\($0.feature) \($0.measure) \(String(format: "%.3f", $0.distance))"
                }
                add(
                    "mlops.test.data", "\(file): drift against \(mergeBase.short)", .passed,
                    "largest: " + (largest.isEmpty ? "none" : largest.joined(separator: ", "))
                        + " (shared buckets; the schema's drift_comparator thresholds gate)")
            }
            let anomalies = ExampleValidator.validate(
                table: table, statistics: statistics, schema: schema, previous: previous)
            let found = DataChecks.checks(split: file, anomalies: anomalies) { reason, category in
                GateAction.resolve(policy, reason: reason, category: category, strict: strict)
            }
            for check in found {
                let converted = GateReport.check(check)
                // The comparison here is with the base commit's version of the file.
                let detail = converted.detail.replacingOccurrences(
                    of: "against the previous span",
                    with: "against " + previousNote.replacingOccurrences(of: "drift against ", with: ""))
                add("mlops.test.data", converted.name, converted.outcome, detail)
            }
            if !found.contains(where: { $0.outcome == .failed || $0.outcome == .warned }) {
                let measured = found.filter { $0.measure != nil }.count
                add(
                    "mlops.test.data", "\(file) matches the schema", .passed,
                    "\(table.rowCount) rows, no anomalies; \(previousNote)"
                        + (previous != nil && measured == 0 ? " (the schema sets no drift_comparator)" : ""))
            }
        }
        if files.isEmpty {
            add("mlops.test.data", "data sources parse and validate", .skipped, "no data source changed")
        }
    }

    /// A CSV file's bytes as a table (written to a temporary file for the reader).
    static func table(_ data: Data, name: String, options: CSVOptions) throws -> DataTable {
        try data.withUnsafeBytes { try CSVReader.parse($0, file: name, options: options) }
    }

    // MARK: - Transform and trainer on a sample

    /// The real Transform and Trainer (or the external trainer command) run on the first
    /// `sampleRows` rows of every data file, in a sample project under `.mlops/test-sample`
    /// with its own store; then the model must predict finite values and the transformed
    /// features hold no infinity.
    mutating func checkSample(config: MLOpsConfig) {
        guard config.trainer != nil || config.components.contains(Component.transform.rawValue) else { return }
        if let reason = skipReason([.transform, .trainer, .tuner]) {
            add("mlops.test.sample", "the transform and trainer run on a sample", .skipped, reason)
            return
        }
        do {
            let sample = try SampleProject.make(root: root, config: config, rows: sampleRows)
            defer { try? FileManager.default.removeItem(at: sample.root) }
            let result = try sample.run()
            if let transform = result.transform {
                add(
                    "mlops.test.sample", "the transform fits on a sample", transform.infinite == 0 ? .passed : .failed,
                    transform.infinite == 0
                        ? "\(transform.rows) rows × \(transform.features) features, no infinite value"
                        : "\(transform.infinite) infinite values among the transformed features (\(transform.example))")
            }
            if let model = result.model {
                add(
                    "mlops.test.sample", "the trainer trains and predicts on a sample",
                    model.nonFinite == 0 ? .passed : .failed,
                    model.nonFinite == 0
                        ? (model.external ? "the external command's model" : "\(model.rounds) rounds")
                            + ", every prediction finite (\(model.predictions) rows)"
                        : "\(model.nonFinite) of \(model.predictions) rows have a prediction that is not finite")
            }
        } catch let failure as SampleProject.Failure {
            add("mlops.test.sample", failure.check, .failed, failure.detail)
        } catch {
            add("mlops.test.sample", "the transform and trainer run on a sample", .failed, "\(error)")
        }
    }

    // MARK: - The user's tests

    mutating func runTests(config: MLOpsConfig) {
        guard !config.tests.isEmpty else { return }
        if let change, change.paths(in: .code).isEmpty, change.paths(in: .config).isEmpty {
            for test in config.tests {
                add("mlops.test.tests", test.name, .skipped, "no code or configuration changed")
            }
            return
        }
        for test in config.tests {
            let started = ContinuousClock.now
            do {
                let result = try ShellCommand.run(test.run, in: root, timeout: TimeInterval(test.timeoutSeconds))
                let seconds = String(format: "%.1f s", (ContinuousClock.now - started).inSeconds)
                outputs[test.name] = result.output
                if result.timedOut {
                    add(
                        "mlops.test.tests", test.name, .failed,
                        "`\(test.run)` passed its limit of \(test.timeoutSeconds) s")
                } else if result.status != 0 {
                    let last = result.output.split(separator: "\n").last.map { ": \($0)" } ?? ""
                    add(
                        "mlops.test.tests", test.name, .failed,
                        "`\(test.run)` exited \(result.status)\(result.status == 127 ? " (command not found)" : "")\(last)"
                    )
                } else {
                    add("mlops.test.tests", test.name, .passed, "`\(test.run)` passed in \(seconds)")
                }
            } catch {
                add("mlops.test.tests", test.name, .failed, "`\(test.run)` could not start: \(error)")
            }
        }
    }
}
