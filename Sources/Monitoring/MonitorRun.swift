import Foundation
import Gates
import MLOpsCore
import Pipeline
import Release
import Serving
import Tabular

/// `mlops monitor`: the logged traffic of one released model in a window, checked against
/// what the model was trained and gated on (docs/monitoring.md):
/// - **skew**: each feature against the training split's statistics in the bundle;
/// - **drift**: each feature against the window before;
/// - **predictions**: their distribution against the eval split's, as the Evaluator kept it;
/// - **metrics**: with labels, the Evaluator's metrics on the labelled rows, against
///   `evaluation.thresholds`' bounds, beside the gate's figures.
public enum MonitorRun {
    public struct Inputs: Sendable {
        /// The unpacked release bundle: `manifest.json`, `model/`, `data/statistics.json`,
        /// `evaluation/evaluation.json`.
        public var bundle: URL
        public var name: String
        /// The prediction log's folder or S3 prefix.
        public var logs: LogLocation
        public var window: TimeWindow
        public var labels: URL?
        public var gates: GatesSection
        public var evaluation: EvaluationSection?
        public var monitor: MonitorSection

        public init(
            bundle: URL, name: String, logs: LogLocation, window: TimeWindow, labels: URL?, gates: GatesSection,
            evaluation: EvaluationSection?, monitor: MonitorSection
        ) {
            self.bundle = bundle
            self.name = name
            self.logs = logs
            self.window = window
            self.labels = labels
            self.gates = gates
            self.evaluation = evaluation
            self.monitor = monitor
        }
    }

    /// A bundle without what monitoring compares with (a release made before the bundle
    /// carried its statistics), or a model folder that is not a release.
    public struct BundleProblem: MLOpsError {
        public let message: String
        public let hint: String?
        public var exitStatus: ExitStatus { .noInput }
    }

    public static func perform(_ inputs: Inputs, progress: (String) -> Void = { _ in }) throws -> MonitorReport {
        let bundle = inputs.bundle
        let modelFolder = bundle.appendingPathComponent("model", isDirectory: true)
        let manifestFile = bundle.appendingPathComponent(BundleManifest.fileName)
        guard FileManager.default.fileExists(atPath: manifestFile.path) else {
            throw BundleProblem(
                message: "'\(modelFolder.path)' is not a released model: monitoring compares with its release bundle",
                hint: "name a release (NAME@CHANNEL, NAME@VERSION) or a bundle file")
        }
        let manifest = try readArtifactJSON(BundleManifest.self, manifestFile)
        let statisticsFile = bundle.appendingPathComponent("data/statistics.json")
        guard FileManager.default.fileExists(atPath: statisticsFile.path) else {
            throw BundleProblem(
                message: "the release \(manifest.name)@\(manifest.version) has no data/statistics.json to compare with",
                hint: "release the model again with this version of mlops")
        }
        let statistics = try readArtifactJSON(StatisticsList.self, statisticsFile)
        guard let training = statistics.datasets.first(where: { $0.name == "train" }) ?? statistics.datasets.first
        else {
            throw BundleProblem(message: "'\(statisticsFile.path)' holds no split's statistics", hint: nil)
        }
        let evaluationFile = bundle.appendingPathComponent("evaluation/\(EvaluationReport.fileName)")
        let evaluation =
            FileManager.default.fileExists(atPath: evaluationFile.path)
            ? try readArtifactJSON(EvaluationReport.self, evaluationFile) : nil
        let model = try ServableModel(folder: modelFolder, threads: 1)
        let identity = try LoggedModel.of(folder: modelFolder, name: inputs.name).identity

        // The features a client sends: the model's raw inputs the training data has.
        let trained = Dictionary(training.features.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let features = model.requiredInputs.compactMap { input -> (name: String, type: FeatureType)? in
            guard input.name != model.transform.label, let statistics = trained[input.name] else { return nil }
            return (input.name, statistics.type)
        }
        progress("reading the prediction logs in \(inputs.logs)")
        let (windows, logs) = try PredictionLogReader.read(
            inputs.logs, identity: identity, windows: [inputs.window, inputs.window.previous], types: features)
        let (current, previous) = (windows[0], windows[1])
        var report = MonitorReport(
            model: inputs.name, version: manifest.version, identity: identity,
            window: .init(inputs.window, rows: current.rowCount, requests: current.requests),
            previous: .init(inputs.window.previous, rows: previous.rowCount, requests: previous.requests), logs: logs)
        let minRows = inputs.monitor.minRows
        if logs.malformed > 0 {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.logs", name: "log lines", outcome: .warned,
                    detail:
                        "\(logs.malformed) of \(logs.lines) lines are not prediction log lines and were left out (first: \(logs.malformedExamples.first ?? ""))"
                ))
        }
        guard current.rowCount >= minRows else {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.window", name: "rows >= \(minRows)", outcome: .warned,
                    detail:
                        "the window holds \(current.rowCount) logged rows of this model, fewer than monitor.min_rows (\(minRows)): nothing was measured"
                ))
            return report
        }
        report.checks.append(
            CheckResult(
                className: "mlops.monitor.window", name: "rows >= \(minRows)", outcome: .passed,
                detail: "\(current.rowCount) rows in \(current.requests) requests"))
        progress("measuring \(current.rowCount) rows against the training data")
        let schema = model.schema
        let windowStatistics = StatisticsGenerator.statistics(of: current.features, name: "serving")
        let previousMeasured = previous.rowCount >= minRows
        let previousStatistics =
            previousMeasured ? StatisticsGenerator.statistics(of: previous.features, name: "previous") : nil
        let skewPolicy = PolicyAction(inputs.gates, "skew")
        let driftPolicy = PolicyAction(inputs.gates, "drift")
        for (name, type) in features {
            guard let column = current.features.column(name), let reference = trained[name] else { continue }
            let declared = schema?.features.first { $0.name == name }
            let categorical = type == .bytes || declared?.intDomain?.isCategorical == true
            let present = column.presentCount
            var row = FeatureRow(
                feature: name, type: type.rawValue, missing: 1 - Double(present) / Double(current.rowCount),
                trainingMissing: Double(reference.numMissing)
                    / Double(max(1, reference.numMissing + reference.numNonMissing)))
            // Skew: against the training split's statistics.
            let comparison =
                type == .bytes
                ? ReferenceDistance.categorical(feature: name, reference: reference, column: column)
                : reference.numeric.flatMap {
                    ReferenceDistance.numeric(feature: name, reference: $0, values: Distribution.numbers(column))
                }
            if let comparison {
                report.plots.append(comparison)
                row.skew = comparison.distance
                row.skewMeasure = comparison.measure == "JS" ? "JENSEN_SHANNON_DIVERGENCE" : "L_INFTY"
            }
            let ownSkew: (threshold: DriftThreshold, key: String)? =
                inputs.gates.skew[name].map { ($0, "gates.skew.\(name)") }
                ?? inputs.gates.drift[name].map { ($0, "gates.drift.\(name)") }
            let own = ownSkew?.threshold.resolved(categorical: categorical)
            func skewCheck(_ measure: String, _ value: Double?, _ threshold: Double, _ source: String, _ how: String) {
                report.checks.append(
                    measurement(
                        category: "skew", feature: name, measure: measure, value: value, threshold: threshold,
                        source: source, against: "the training data (\(how))",
                        unmeasured: present == 0
                            ? "no logged row has a value of '\(name)' (serving.log.exclude?)"
                            : "the training statistics have no distribution of '\(name)'"
                    ).under(skewPolicy, "skew"))
            }
            let shareDistance = comparison.map { zip($0.train, $0.eval).map { abs($0 - $1) }.max() ?? 0 }
            let buckets = type == .bytes ? "its most frequent values" : "its quantile buckets"
            if let threshold = own?.lInfinity {
                skewCheck("L_INFTY", shareDistance, threshold, ownSkew!.key, buckets)
            } else if let threshold = declared?.skewLInfinity {
                skewCheck("L_INFTY", shareDistance, threshold, "the schema's skew_comparator", buckets)
            }
            if let threshold = own?.jensenShannon {
                skewCheck(
                    "JENSEN_SHANNON_DIVERGENCE", type == .bytes ? nil : comparison?.distance, threshold, ownSkew!.key,
                    buckets)
            } else if let threshold = declared?.skewJensenShannon {
                let tfdv = standard(reference).flatMap { a in
                    standard(windowStatistics.feature(name)).map { Distribution.jensenShannon(a, $0) }
                }
                skewCheck(
                    "JENSEN_SHANNON_DIVERGENCE", tfdv, threshold, "the schema's skew_comparator", "TFDV's buckets")
            }
            // Drift: against the window before, as the gate measures drift between two datasets.
            if previousMeasured, let before = previous.features.column(name) {
                let driftOwn = inputs.gates.drift[name]?.resolved(categorical: categorical)
                if categorical || type == .bytes {
                    row.drift = Distribution.lInfinity(column, before)
                    row.driftMeasure = "L_INFTY"
                } else {
                    row.drift = Distribution.jensenShannon(shared: column, before)
                    row.driftMeasure = "JENSEN_SHANNON_DIVERGENCE"
                }
                func driftCheck(_ measure: String, _ value: Double?, _ threshold: Double, _ source: String) {
                    report.checks.append(
                        measurement(
                            category: "drift", feature: name, measure: measure, value: value, threshold: threshold,
                            source: source, against: "the window before (\(inputs.window.previous.description))",
                            unmeasured: "'\(name)' has no value in one of the windows"
                        ).under(driftPolicy, "drift"))
                }
                if let threshold = driftOwn?.lInfinity ?? declared?.driftLInfinity {
                    driftCheck(
                        "L_INFTY", Distribution.lInfinity(column, before), threshold,
                        driftOwn?.lInfinity != nil ? "gates.drift.\(name)" : "the schema's drift_comparator")
                }
                if let threshold = driftOwn?.jensenShannon, type != .bytes {
                    driftCheck(
                        "JENSEN_SHANNON_DIVERGENCE", Distribution.jensenShannon(shared: column, before), threshold,
                        "gates.drift.\(name)")
                } else if driftOwn?.jensenShannon == nil, let threshold = declared?.driftJensenShannon {
                    let tfdv = standard(windowStatistics.feature(name)).flatMap { a in
                        standard(previousStatistics?.feature(name)).map { Distribution.jensenShannon(a, $0) }
                    }
                    driftCheck("JENSEN_SHANNON_DIVERGENCE", tfdv, threshold, "the schema's drift_comparator")
                }
            }
            report.features.append(row)
        }
        if !previousMeasured {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.drift", name: "the window before", outcome: .skipped,
                    detail:
                        "the window before (\(inputs.window.previous.description)) holds \(previous.rowCount) rows, fewer than monitor.min_rows (\(minRows)): drift was not measured"
                ))
        }
        predictionChecks(&report, current: current, evaluation: evaluation, threshold: inputs.monitor.predictions)
        if let labels = inputs.labels {
            progress("joining the labels in \(labels.path)")
            try labelChecks(
                &report, file: labels, current: current, model: model, evaluation: evaluation,
                section: inputs.evaluation, gates: inputs.gates)
        }
        return report
    }

    /// The served predictions against the eval split's (`monitor.predictions`).
    static func predictionChecks(
        _ report: inout MonitorReport, current: LoggedRows, evaluation: EvaluationReport?, threshold: Double
    ) {
        var comparisons: [FeatureComparison] = []
        if let reference = evaluation?.predictions {
            for statistics in reference.features {
                guard let column = current.predictions.column(statistics.name) else { continue }
                if statistics.type == .bytes {
                    if let comparison = ReferenceDistance.categorical(
                        feature: statistics.name, reference: statistics, column: column)
                    {
                        comparisons.append(comparison)
                    }
                } else if let numeric = statistics.numeric,
                    let comparison = ReferenceDistance.numeric(
                        feature: statistics.name, reference: numeric, values: Distribution.numbers(column))
                {
                    comparisons.append(comparison)
                }
            }
        } else if let bins = evaluation?.curves?.calibration, let column = current.predictions.column("probability"),
            let comparison = ReferenceDistance.calibration(
                feature: "probability", bins: bins, values: Distribution.numbers(column))
        {
            comparisons.append(comparison)
        }
        guard !comparisons.isEmpty else {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.predictions", name: "predictions", outcome: .skipped,
                    detail:
                        "the release's evaluation keeps no distribution of its predictions to compare with (released before mlops kept one)"
                ))
            return
        }
        for comparison in comparisons {
            report.predictionPlots.append(comparison)
            let measure = comparison.measure == "JS" ? "JENSEN_SHANNON_DIVERGENCE" : "L_INFTY"
            report.predictions.append(
                FeatureRow(
                    feature: comparison.feature, type: comparison.measure == "JS" ? "FLOAT" : "BYTES", missing: 0,
                    trainingMissing: nil, skew: comparison.distance, skewMeasure: measure))
            report.checks.append(
                measurement(
                    category: "predictions", feature: comparison.feature, measure: measure, value: comparison.distance,
                    threshold: threshold, source: "monitor.predictions",
                    against: "the eval split's predictions", unmeasured: ""))
        }
    }

    /// Labels joined by request id: the Evaluator's metrics on the labelled rows, checked
    /// against `evaluation.thresholds`' bounds (change thresholds compare a candidate with a
    /// baseline, not live traffic with the gate, and are not applied), beside the gate's.
    static func labelChecks(
        _ report: inout MonitorReport, file: URL, current: LoggedRows, model: ServableModel,
        evaluation: EvaluationReport?, section: EvaluationSection?, gates: GatesSection
    ) throws {
        let join = try LabelJoin.join(file: file, logged: current)
        var summary = join.summary
        defer { report.labels = summary }
        if summary.malformed > 0 || summary.unmatched > 0 || summary.duplicates > 0 {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.labels", name: "labels", outcome: .warned,
                    detail:
                        "\(summary.records) labels: \(summary.joined) joined, \(summary.unmatched) match no logged row of the window, \(summary.duplicates) duplicates, \(summary.malformed) malformed lines"
                ))
        }
        guard !join.rows.isEmpty else {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.metrics", name: "labelled rows", outcome: .skipped,
                    detail: "no label joins a logged row of the window: no live metric was computed"))
            return
        }
        let features = current.features.rows(join.rows)
        let names = Set(join.columns.map(\.name))
        let table = DataTable(
            file: file.path, columns: features.columns.filter { !names.contains($0.name) } + join.columns,
            rowCount: join.rows.count)
        let label: [Double]
        do throws(TransformError) {
            guard let derived = try model.transform.apply(to: table, label: true).label else {
                throw TransformError(.missingInput(model.transform.label ?? "label", available: []))
            }
            label = derived
        } catch {
            throw LabelJoin.ReadError(
                message:
                    "'\(file.path)' gives no label for the model: it needs '\(model.transform.label ?? "the label")' or the columns it is derived from (\(error.message))",
                hint: "add a column named as the label (\(model.transform.label ?? "the trainer's label"))")
        }
        let labelled = label.indices.filter { !label[$0].isNaN }
        summary.unlabeled = label.count - labelled.count
        let rows = labelled.map { join.rows[$0] }
        let predictions = current.predictions.rows(rows)
        let served = Predictions(
            rows: rows.count,
            columns: predictions.columns.map { column in
                switch column.values {
                case .float(let values): Predictions.Column(name: column.name, numbers: values, texts: nil)
                default: Predictions.Column(name: column.name, numbers: nil, texts: (0..<rows.count).map { _ in "" })
                }
            })
        let outcomes = try EvaluatorComponent.outcomes(
            served, task: model.task, labels: labelled.map { label[$0] },
            classes: EvaluatorComponent.classNames(model))
        let sliced = table.rows(labelled)
        var slices: [Slicing.Slice] = []
        do {
            slices = try Slicing.slices(of: sliced, specs: section?.slices ?? [])
        } catch {
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.metrics", name: "slices", outcome: .warned,
                    detail: "the live metrics are overall only: \(error.message)"))
        }
        let live = Evaluation.evaluate(
            outcomes,
            slices: slices.isEmpty ? [Slicing.Slice(name: Slicing.overall, rows: Array(0..<rows.count))] : slices,
            minSliceSize: section?.minSliceSize ?? 1, threshold: model.decisionThreshold)
        let gated = evaluation?.candidate ?? []
        for slice in live {
            let reference = gated.first { $0.slice == slice.slice }
            for (metric, value) in slice.metrics.values.sorted(by: { $0.key < $1.key }) {
                report.metrics.append(
                    MetricRow(
                        slice: slice.slice, metric: metric, rows: slice.size, live: value.isNaN ? nil : value,
                        gate: reference?.metrics[metric].flatMap { $0.isNaN ? nil : $0 }))
            }
        }
        let bounds = (section?.thresholds ?? []).compactMap { threshold -> ThresholdSpec? in
            guard threshold.lowerBound != nil || threshold.upperBound != nil else { return nil }
            var bound = threshold
            bound.change = nil
            return bound
        }
        guard !bounds.isEmpty else { return }
        for check in ThresholdChecks.check(
            bounds, candidate: live, baseline: nil, policy: PolicyAction(gates, "metrics"))
        {
            let slice = check.className.replacingOccurrences(of: "mlops.gate.evaluation", with: "")
            let gate = gated.first { "." + $0.slice == slice }
            let metric = bounds.first { check.name.hasPrefix($0.metric + " ") }?.metric
            let figure =
                metric.flatMap { gate?.metrics[$0] }.map { ", \(ThresholdChecks.format($0)) at the gate" } ?? ""
            // What the window's labels cannot measure (a slice with no labelled row, a metric
            // undefined on it, one class only) is skipped: a thin hour is no verdict.
            let measured = live.first { "." + $0.slice == slice }.flatMap { found in
                metric.flatMap { found.size > 0 ? found.metrics[$0] : nil }
            }
            var outcome = check.outcome
            var detail = check.detail + " on \(rows.count) labelled rows" + figure
            if outcome == .failed, measured == nil || measured!.isNaN {
                outcome = .skipped
                detail = "not measurable on this window's labelled rows: " + check.detail
            }
            report.checks.append(
                CheckResult(
                    className: "mlops.monitor.metrics" + slice, name: check.name, outcome: outcome, detail: detail))
        }
    }

    /// One distance against its threshold, as a check.
    static func measurement(
        category: String, feature: String, measure: String, value: Double?, threshold: Double, source: String,
        against: String, unmeasured: String
    ) -> CheckResult {
        let name = "\(category) \(feature) \(measure) <= \(ThresholdChecks.format(threshold))"
        guard let value else {
            return CheckResult(
                className: "mlops.monitor.\(category)", name: name, outcome: .skipped, detail: unmeasured)
        }
        let what = measure == "L_INFTY" ? "L-infinity distance" : "Jensen-Shannon divergence"
        let over = value > threshold
        return CheckResult(
            className: "mlops.monitor.\(category)", name: name, outcome: over ? .failed : .passed,
            detail:
                "\(what) against \(against) is \(String(format: "%.4g", value)), \(over ? "above" : "within") the threshold \(ThresholdChecks.format(threshold)) (\(source))"
        )
    }

    static func standard(_ statistics: FeatureStatistics?) -> Histogram? {
        statistics?.numeric?.histograms.first { $0.type == .standard }
    }
}
