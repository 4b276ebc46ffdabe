import Foundation
import GitKit
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// The checks of one `mlops test` (docs/test.md), in order, each handed to `onCheck` as it
/// finishes: the configuration, the data in full against the schema (with drift against the
/// base commit's version), the real Transform and Trainer on a sample, and the user's tests.
public struct TestRun {
    public struct Options {
        /// The branch or commit the change is compared with; nil takes the CI's target branch, else none.
        public var base: String?
        /// Rows of each data file the transform and trainer checks use.
        public var sampleRows = 2000
        /// Warnings fail (also `gates.strict`).
        public var strict = false
        public var environment: [String: String]

        public init(environment: [String: String]) { self.environment = environment }
    }

    let root: URL
    let repository: Repository
    let options: Options
    let onCheck: (CheckResult) -> Void
    let warn: (String) -> Void
    /// What the change touched; nil when there is no base (every check runs).
    var change: ChangeReport?
    public private(set) var checks: [CheckResult] = []
    public private(set) var outputs: [String: String] = [:]
    /// The sample run as recorded in the project's store, when it was.
    public private(set) var recordedRun: Int64?

    init(
        root: URL, repository: Repository, options: Options, onCheck: @escaping (CheckResult) -> Void,
        warn: @escaping (String) -> Void
    ) {
        self.root = root
        self.repository = repository
        self.options = options
        self.onCheck = onCheck
        self.warn = warn
    }

    /// Runs every check on `repository`'s work tree and writes `test.md`, `test-junit.xml`
    /// and `test.json` to `.mlops/reports`; `started` hears the configuration once it is
    /// valid. A configuration that cannot be loaded is reported as the failed first check,
    /// then thrown (exit 78).
    /// `recorded` hears the run the sample was recorded as in the project's store.
    public static func perform(
        _ repository: Repository, options: Options, started: (MLOpsConfig, _ commit: String?) -> Void = { _, _ in },
        onCheck: @escaping (CheckResult) -> Void = { _ in }, warn: @escaping (String) -> Void = { _ in },
        recorded: (Int64) -> Void = { _ in }
    ) throws -> TestReport {
        let root = try Project.workTree(of: repository)
        let reports = root.appendingPathComponent(".mlops/reports", isDirectory: true)
        let commit = try? repository.head().commit?.description
        var run = TestRun(root: root, repository: repository, options: options, onCheck: onCheck, warn: warn)
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
        started(config, commit)
        run.add("mlops.test.config", "mlops.yaml is valid", .passed, "every key checked")
        let baseText = try run.findChange(config: config, base: options.base)
        run.checkData(config: config, strict: options.strict || config.gates.strict)
        run.checkSample(config: config)
        if let id = run.recordedRun { recorded(id) }
        run.runTests(config: config)
        let report = TestReport(
            pipeline: config.pipeline.name, commit: commit, base: baseText, checks: run.checks, outputs: run.outputs)
        try report.write(to: reports)
        StepSummary.append(report.markdown(), environment: options.environment)
        return report
    }

    mutating func add(_ className: String, _ name: String, _ outcome: CheckResult.Outcome, _ detail: String) {
        let check = CheckResult(className: className, name: name, outcome: outcome, detail: detail)
        checks.append(check)
        onCheck(check)
    }

    /// The base: `--base`, else a pull request's target in CI (as `mlops changes` finds it);
    /// without one every check runs. Returns how it was chosen, for the report.
    mutating func findChange(config: MLOpsConfig, base: String?) throws -> String {
        let environment = options.environment
        guard base != nil || ChangeBase.isRequested(in: environment) else {
            return "none (no --base, and no pull request's target branch in the CI environment): every check runs"
        }
        let report = try ChangeDetector(repository: repository, config: config).detect(
            base: base, environment: environment)
        if let fallback = report.base.fallback {
            warn("no usable base: \(fallback); every check runs" + (report.base.hint.map { "\n  hint: \($0)" } ?? ""))
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
                        table: old, statistics: StatisticsGenerator.statistics(of: old, name: file),
                        label: "\(file)@\(mergeBase.short)")
                    previousNote = "drift against \(file)@\(mergeBase.short)"
                }
            }
            let thresholds = ExampleValidator.Thresholds(config.gates)
            do { try thresholds.requireColumns(of: table) } catch {
                add("mlops.test.data", "\(file): drift and skew thresholds", .failed, "\(error)")
                continue
            }
            let anomalies = ExampleValidator.validate(
                table: table, statistics: statistics, schema: schema, previous: previous, thresholds: thresholds)
            let found = DataChecks.checks(split: file, anomalies: anomalies) { reason, category in
                GateAction.resolve(policy, reason: reason, category: category, strict: strict)
            }
            if let previous {
                // Every feature's distance from the base's version (shared buckets, the measure
                // of gates.drift), largest first; gated by the thresholds set, checked below.
                let largest = FeatureComparison.compare(train: previous.table, eval: table)
                    .sorted { $0.distance > $1.distance }.prefix(3)
                    .map { "\($0.feature) \($0.measure) \(String(format: "%.3f", $0.distance))" }
                let drift = found.filter { $0.category == "drift" }
                let outcome: CheckResult.Outcome =
                    drift.contains { $0.outcome == .failed }
                    ? .failed
                    : drift.contains { $0.outcome == .warned } ? .warned : drift.isEmpty ? .skipped : .passed
                let over = drift.filter { $0.outcome == .failed || $0.outcome == .warned }.count
                add(
                    "mlops.test.data", "\(file): drift against \(previous.label)", outcome,
                    (drift.isEmpty
                        ? "not gated: no drift threshold is set (gates.drift or the schema's drift_comparator)"
                        : "\(over) of \(drift.count) drift measurement\(drift.count == 1 ? "" : "s") over threshold")
                        + "; largest distances: " + (largest.isEmpty ? "none" : largest.joined(separator: ", ")))
            }
            for check in found {
                let converted = GateReport.check(check)
                add("mlops.test.data", converted.name, converted.outcome, converted.detail)
            }
            if !found.contains(where: { $0.outcome == .failed || $0.outcome == .warned }) {
                let measured = found.filter { $0.measure != nil }.count
                add(
                    "mlops.test.data", "\(file) matches the schema", .passed,
                    "\(table.rowCount) rows, no anomalies; \(previousNote)"
                        + (previous != nil && measured == 0 ? " (no drift threshold is set)" : ""))
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
            let sample = try SampleProject.make(root: root, config: config, rows: options.sampleRows)
            defer { try? FileManager.default.removeItem(at: sample.root) }
            let result = try sample.run()
            recordSample(result.tracking, config: config)
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

    /// The sample run as a run of the project's store (command `test`, tag `mlops.sample`), so
    /// `mlops runs` and the MLflow mirror see it; a store that cannot be opened is a warning.
    mutating func recordSample(_ tracking: RunTracking?, config: MLOpsConfig) {
        guard let tracking else { return }
        do {
            let store = try Project.openStore(
                root: root, configured: config.store?.value, create: true, environment: options.environment)
            defer { try? store.close() }
            let head = try? repository.head()
            var tags = RunTrackingInfo.tags(
                commit: head?.commit?.description, branch: head?.branchName, dirty: nil, pipeline: config.pipeline.name,
                command: "test", base: options.base, environment: options.environment)
            tags["mlops.sample"] = "\(options.sampleRows) rows per file"
            var properties = tracking.run.properties
            properties["commit"] = head?.commit?.description ?? ""
            properties["branch"] = head?.branchName ?? ""
            recordedRun = try store.importRun(
                pipeline: config.pipeline.name, started: tracking.run.started, properties: properties,
                params: tracking.params, tags: tags, metrics: tracking.metrics)
        } catch {
            warn("the sample run was not recorded in the store: \((error as? any MLOpsError)?.message ?? "\(error)")")
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
