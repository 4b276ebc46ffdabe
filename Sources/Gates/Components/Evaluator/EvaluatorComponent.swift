import Foundation
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// The model a candidate is compared with: its folder and how it was chosen, for the report.
public struct Baseline: Sendable, Hashable, Codable {
    /// The model folder (a Trainer `model` artifact or a path given on the command line).
    public let folder: String
    /// Why this one: `production channel`, `latest blessed model (execution 12)`, `--baseline PATH`.
    public let reason: String
    /// What identifies it in the cache key: an artifact's content address, or the path.
    public let identity: String

    public init(folder: String, reason: String, identity: String) {
        self.folder = folder
        self.reason = reason
        self.identity = identity
    }
}

/// What the Evaluator writes as `evaluation/evaluation.json`.
public struct EvaluationReport: Sendable, Codable, Equatable {
    public static let fileName = "evaluation.json"
    public let task: TaskKind
    /// Rows scored (rows without a label are left out).
    public let rows: Int
    /// The split scored: `test` when `data.splits` has one (held out from the Tuner and early
    /// stopping), else `eval`. Nil in reports written before mlops 0.9 (`eval`).
    public var split: String?
    public let candidate: [SliceMetrics]
    public let baseline: Baseline?
    public let baselineMetrics: [SliceMetrics]?
    public let checks: [CheckResult]
    public let blessed: Bool
    /// The candidate's curves on every eval row (binary models).
    public let curves: Curves?
    public let baselineCurves: Curves?
    /// The baseline that was chosen but not used because it is the candidate itself (the same
    /// model files): comparing a model with itself would pass every change threshold.
    public let baselineIsCandidate: Baseline?
    /// The statistics of the candidate's predictions on the scored split (probabilities,
    /// predictions, the predicted class's counts): what `mlops monitor` compares the served
    /// predictions with. Nil in reports of Evaluator version 3 and earlier.
    public var predictions: DatasetStatistics?

    public init(
        task: TaskKind, rows: Int, candidate: [SliceMetrics], baseline: Baseline?, baselineMetrics: [SliceMetrics]?,
        checks: [CheckResult], blessed: Bool, curves: Curves? = nil, baselineCurves: Curves? = nil,
        baselineIsCandidate: Baseline? = nil, split: String? = nil, predictions: DatasetStatistics? = nil
    ) {
        self.split = split
        self.predictions = predictions
        self.baselineIsCandidate = baselineIsCandidate
        self.curves = curves
        self.baselineCurves = baselineCurves
        self.task = task
        self.rows = rows
        self.candidate = candidate
        self.baseline = baseline
        self.baselineMetrics = baselineMetrics
        self.checks = checks
        self.blessed = blessed
    }
}

/// Evaluator (TFX's): scores the candidate model, and the baseline when there is one, on the
/// same eval rows (the ExampleGen eval split, raw, through each model's own transform, as
/// serving does), per slice; checks `evaluation.thresholds`; and blesses the candidate when
/// no check failed. Outputs `evaluation` (the report) and `blessing` (property `blessed`).
/// A model that is not blessed is a result, not an error: the run goes on, and `mlops gate`
/// turns the blessing into its exit status.
public struct EvaluatorComponent: PipelineComponent {
    public struct Parameters: Encodable, Sendable {
        /// `evaluation` of mlops.yaml.
        public let config: EvaluationSection
        /// The baseline's identity (its content address, or a folder's hash).
        public let baseline: String?
        public let metricsPolicy: PolicyAction
    }

    public let id = Component.evaluator
    /// 3: the configuration enters the cache key as an object, not a JSON string (docs/pipeline.md).
    /// 4: the report keeps the statistics of the candidate's predictions (for `mlops monitor`).
    public let version = "4"
    public let parameters: Parameters
    public let inputs = Component.evaluator.bindings()
    public let outputs = Component.evaluator.outputs
    let section: EvaluationSection
    let baseline: Baseline?
    let policy: PolicyAction

    public init(section: EvaluationSection, gates: GatesSection, baseline: Baseline?) throws {
        self.section = section
        self.baseline = baseline
        policy = PolicyAction(gates, "metrics")
        parameters = Parameters(config: section, baseline: baseline?.identity, metricsPolicy: policy)
    }

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let splits = try exampleSplits(try context.input("examples"))
        // The held-out test split when there is one: the Tuner and early stopping chose on eval.
        guard let eval = splits.first(where: { $0.name == "test" }) ?? splits.first(where: { $0.name == "eval" })
        else {
            throw InternalError("the examples have no test or eval split to evaluate on")
        }
        let candidate = try ServableModel(folder: try context.input("model").url)
        var table = try ExamplesFile.read(eval.url)
        // The label as training derived it; rows without one cannot be scored.
        guard let label = try candidate.transform.apply(to: table).label else {
            throw InternalError("the eval rows give no label for the model's transform")
        }
        let unlabeled = Set(label.indices.filter { label[$0].isNaN })
        table = table.removingRows(unlabeled)
        let labels = label.enumerated().filter { !unlabeled.contains($0.offset) }.map(\.element)
        let slices = try Slicing.slices(of: table, specs: section.slices)
        let seed = UInt64(section.seed)
        // A multiclass baseline's classes are taken by label value, in the candidate's order.
        let classes = Self.classNames(candidate)
        // Each model at the decision threshold it is served with (stored with it).
        func score(_ model: ServableModel) throws -> (metrics: [SliceMetrics], curves: Curves?, predicted: Predictions)
        {
            let predicted = try model.predict(table)
            let outcomes = try Self.outcomes(predicted, task: candidate.task, labels: labels, classes: classes)
            var curves: Curves?
            if case .binary(let probabilities, let labels) = outcomes {
                curves = Curves.binary(probabilities: probabilities, labels: labels)
            }
            return (
                Evaluation.evaluate(
                    outcomes, slices: slices, minSliceSize: section.minSliceSize, threshold: model.decisionThreshold,
                    bootstrapSamples: section.bootstrapSamples, seed: seed), curves, predicted
            )
        }
        let (metrics, curves, predicted) = try score(candidate)
        // Never the candidate itself: the same model files (a model artifact's fingerprint, or
        // an unpacked release's model folder fingerprinted the same way) means no baseline.
        let modelFingerprint = try context.input("model").artifact.fingerprint
        let itself = self.baseline.flatMap { $0.identity == modelFingerprint ? $0 : nil }
        let baseline = itself == nil ? self.baseline : nil
        var baselineMetrics: [SliceMetrics]?
        var baselineCurves: Curves?
        if let baseline {
            let model = try ServableModel(folder: URL(fileURLWithPath: baseline.folder))
            guard model.task == candidate.task else {
                throw ServingError(
                    .badModel(
                        folder: baseline.folder,
                        detail: "the baseline is a \(model.task) model; the candidate is \(candidate.task)"))
            }
            let theirs = Self.classNames(model)
            guard Set(theirs) == Set(classes) else {
                throw ServingError(
                    .badModel(
                        folder: baseline.folder,
                        detail:
                            "the baseline predicts the classes \(theirs.joined(separator: ", ")); the candidate predicts \(classes.joined(separator: ", ")): models of different class sets cannot be compared (pass --baseline none, or a baseline trained on the same classes)"
                    ))
            }
            (baselineMetrics, baselineCurves, _) = try score(model)
        }
        let checks = ThresholdChecks.check(
            section.thresholds, candidate: metrics, baseline: baselineMetrics,
            allowNoThresholds: section.allowNoThresholds, policy: policy)
        let verdict = GateVerdict(checks: checks)
        let blessed = verdict.passed || (section.allowNoThresholds && section.thresholds.isEmpty)
        let report = EvaluationReport(
            task: candidate.task, rows: table.rowCount, candidate: metrics, baseline: baseline,
            baselineMetrics: baselineMetrics, checks: checks, blessed: blessed, curves: curves,
            baselineCurves: baselineCurves, baselineIsCandidate: itself, split: eval.name,
            predictions: StatisticsGenerator.statistics(of: predicted.distributionTable, name: "predictions"))
        let encoder = artifactEncoder
        for name in ["evaluation", "blessing"] {
            try FileManager.default.createDirectory(at: context.output(name), withIntermediateDirectories: true)
        }
        try AtomicFile.write(
            try encoder.encode(report),
            to: context.output("evaluation").appendingPathComponent(EvaluationReport.fileName))
        try AtomicFile.write(
            try encoder.encode(["blessed": blessed]),
            to: context.output("blessing").appendingPathComponent("blessing.json"))
        let failed = checks.filter { $0.outcome == .failed }
        let headline = Self.headline(metrics.first, baselineMetrics?.first, task: candidate.task)
        let summary =
            "\(table.rowCount) \(eval.name) rows, \(headline): "
            + (blessed ? "blessed" : "not blessed (\(failed.count) of \(checks.count) checks failed)")
        return ExecutorOutput(
            properties: [
                "blessing": ["blessed": blessed ? "1" : "0"],
                "evaluation": ["checks": String(checks.count), "failed": String(failed.count)],
            ], summary: summary, record: Self.record(metrics, baseline: baselineMetrics))
    }

    /// What an evaluation reports for tracking: each metric overall by its name (`auc`), per
    /// slice as `slice/FEATURE:VALUE/auc`, and the baseline's overall as `baseline/auc`.
    static func record(_ candidate: [SliceMetrics], baseline: [SliceMetrics]?) -> ExecutionRecord {
        let now = Date().timeIntervalSince1970
        var metrics: [TrackedMetric] = []
        for slice in candidate {
            let prefix = slice.slice == Slicing.overall ? "" : "slice/\(slice.slice)/"
            for (name, value) in slice.metrics.values.sorted(by: { $0.key < $1.key }) {
                metrics.append(TrackedMetric(key: prefix + name, value: value, timestamp: now))
            }
        }
        if let overall = baseline?.first(where: { $0.slice == Slicing.overall }) {
            for (name, value) in overall.metrics.values.sorted(by: { $0.key < $1.key }) {
                metrics.append(TrackedMetric(key: "baseline/" + name, value: value, timestamp: now))
            }
        }
        return ExecutionRecord(metrics: metrics)
    }

    /// A multiclass model's class names (label values, or indices for numeric labels), in the
    /// order of its probability columns; empty for other tasks.
    package static func classNames(_ model: ServableModel) -> [String] {
        model.outputNames.filter { $0.hasPrefix("probability_") }.map { String($0.dropFirst("probability_".count)) }
    }

    /// Predictions and labels as the metrics take them; a multiclass model's probability
    /// columns are put in the order of `classes` by name (a class is its label value).
    package static func outcomes(
        _ predictions: Predictions, task: TaskKind, labels: [Double], classes order: [String] = []
    )
        throws -> Outcomes
    {
        func column(_ name: String) throws -> [Double] {
            guard let values = predictions.columns.first(where: { $0.name == name })?.numbers else {
                throw InternalError("the model gave no '\(name)' column")
            }
            return values
        }
        switch task {
        case .binary: return .binary(probabilities: try column("probability"), labels: labels)
        case .regression: return .regression(predictions: try column("prediction"), labels: labels)
        case .multiclass, .auto:
            var probabilities = predictions.columns.filter { $0.name.hasPrefix("probability_") }
            if !order.isEmpty {
                let byName = Dictionary(probabilities.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
                probabilities = try order.map { name in
                    guard let column = byName["probability_" + name] else {
                        throw InternalError("the model gave no probability for the class '\(name)'")
                    }
                    return column
                }
            }
            let classes = probabilities.map { String($0.name.dropFirst("probability_".count)) }
            var flat: [Double] = []
            flat.reserveCapacity(predictions.rows * classes.count)
            for row in 0..<predictions.rows {
                for column in probabilities { flat.append(column.numbers?[row] ?? .nan) }
            }
            return .multiclass(probabilities: flat, labels: labels.map { Int($0) }, classes: classes)
        }
    }

    /// `auc 0.9570` (or `vs 0.9510 baseline`): the first metric of the task, overall.
    static func headline(_ candidate: SliceMetrics?, _ baseline: SliceMetrics?, task: TaskKind) -> String {
        let metric = MetricName.headline(for: task).rawValue
        guard let value = candidate?.metrics[metric] else { return metric + " n/a" }
        var text = "\(metric) " + String(format: "%.4f", value)
        if let reference = baseline?.metrics[metric] { text += String(format: " (baseline %.4f)", reference) }
        return text
    }
}
