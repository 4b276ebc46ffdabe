import Foundation
import Gates
import MLOpsCore
import Pipeline
import Tabular
import Testing

/// The Evaluator's metrics against hand-computed values and straightforward computations.
@Suite struct MetricsTests {
    func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test func binaryMetricsOnAHandComputedExampleWithATie() {
        // Positives score 0.9, 0.8 and 0.1; negatives 0.8 (tied with a positive) and 0.3.
        let m = Metrics.binary(probabilities: [0.9, 0.8, 0.8, 0.3, 0.1], labels: [1, 1, 0, 0, 1])
        #expect(close(m["auc"], 3.5 / 6))  // 6 pairs: 3 won, 1 tied (a half), 2 lost
        #expect(close(m["pr_auc"], (1.0 / 3) * 1 + (1.0 / 3) * (2.0 / 3) + (1.0 / 3) * (3.0 / 5)))
        #expect(m.confusion == [[1, 1], [1, 2]])  // tn fp / fn tp at 0.5
        #expect(close(m["accuracy"], 0.6) && close(m["precision"], 2.0 / 3) && close(m["recall"], 2.0 / 3))
        #expect(close(m["f1"], 2.0 / 3))
        let logLoss = -(log(0.9) + log(0.8) + log(0.2) + log(0.7) + log(0.1)) / 5
        #expect(close(m["log_loss"], logLoss))
        #expect(close(m["brier_score"], (0.01 + 0.04 + 0.64 + 0.09 + 0.81) / 5))
        #expect(close(m["calibration_error"], (0.1 + 2 * 0.3 + 0.3 + 0.9) / 5))
        #expect(m["example_count"] == 5)
        // Another decision threshold moves the confusion matrix, not the ranking metrics.
        let strict = Metrics.binary(
            probabilities: [0.9, 0.8, 0.8, 0.3, 0.1], labels: [1, 1, 0, 0, 1], threshold: 0.85)
        #expect(strict.confusion == [[2, 0], [2, 1]] && strict["auc"] == m["auc"])
    }

    @Test func aSliceWithOneClassOrNoRowsHasUndefinedMetricsNotZeros() {
        let one = Metrics.binary(probabilities: [0.2, 0.7], labels: [1, 1])
        #expect(one["auc"]!.isNaN && one["pr_auc"]!.isNaN)
        #expect(one["recall"] == 0.5 && one["precision"] == 1)
        let none = Metrics.binary(probabilities: [], labels: [])
        #expect(none["example_count"] == 0 && none["accuracy"]!.isNaN && none["log_loss"]!.isNaN)
        let nothingPredicted = Metrics.binary(probabilities: [0.1, 0.2], labels: [1, 0])
        #expect(nothingPredicted["precision"]!.isNaN && nothingPredicted["f1"]!.isNaN)
    }

    @Test func aucAndAveragePrecisionEqualStraightforwardComputationsWithManyTies() {
        var random = SplitMix64(seed: 11)
        let count = 2000
        // Scores on a grid of 21 values: most rows tie with many others.
        let scores = (0..<count).map { _ in Double(random.int(in: 0...20)) / 20 }
        let labels = scores.map { random.unit() < 0.2 + 0.6 * $0 ? 1.0 : 0.0 }
        let m = Metrics.binary(probabilities: scores, labels: labels)
        // AUC over every positive–negative pair.
        var wins = 0.0
        var pairs = 0.0
        for i in 0..<count where labels[i] == 1 {
            for j in 0..<count where labels[j] == 0 {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
            }
        }
        #expect(close(m["auc"], wins / pairs, 1e-9))
        // Average precision over the distinct thresholds, high to low.
        var ap = 0.0
        var previousRecall = 0.0
        let positives = labels.reduce(0, +)
        for threshold in Set(scores).sorted(by: >) {
            let predicted = (0..<count).filter { scores[$0] >= threshold }
            let truePositives = predicted.reduce(0.0) { $0 + labels[$1] }
            let recall = truePositives / positives
            ap += (recall - previousRecall) * truePositives / Double(predicted.count)
            previousRecall = recall
        }
        #expect(close(m["pr_auc"], ap, 1e-9))
    }

    @Test func multiclassMetricsOnAHandComputedExample() {
        // Actual → predicted: a→a, a→b, b→b, c→c, c→b, c→c.
        let p: [[Double]] = [
            [0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0, 0.1, 0.9],
        ]
        let m = Metrics.multiclass(
            probabilities: p.flatMap { $0 }, labels: [0, 0, 1, 2, 2, 2], classes: ["a", "b", "c"])
        #expect(m.confusion == [[1, 1, 0], [0, 1, 0], [0, 1, 2]])
        #expect(close(m["accuracy"], 4.0 / 6))
        #expect(close(m["precision_b"], 1.0 / 3) && close(m["recall_c"], 2.0 / 3) && close(m["recall_a"], 0.5))
        // Per class F1: a (precision 1, recall 1/2), b (1/3, 1), c (1, 2/3).
        let f1a: Double = 2.0 / 3
        let f1b: Double = 0.5
        let f1c: Double = 0.8
        #expect(close(m["macro_f1"], (f1a + f1b + f1c) / 3))
        let weighted: Double = (2 * f1a + f1b + 3 * f1c) / 6
        #expect(close(m["weighted_f1"], weighted))
        let losses: [Double] = [log(0.7), log(0.3), log(0.8), log(0.7), log(0.3), log(0.9)]
        #expect(close(m["log_loss"], -losses.reduce(0, +) / 6))
    }

    @Test func regressionMetricsOnAHandComputedExample() {
        let m = Metrics.regression(predictions: [2, 3, 5, 1], labels: [1, 3, 4, 0])
        #expect(close(m["rmse"], (3.0 / 4).squareRoot()) && close(m["mae"], 0.75))
        // Mean label 2; total sum of squares 1 + 1 + 4 + 4.
        #expect(close(m["r2"], 1 - 3.0 / 10))
        #expect(close(m["mape"], 100 * (1.0 + 0 + 0.25) / 3))  // the zero label is left out
        #expect(Metrics.regression(predictions: [1], labels: [0])["mape"]!.isNaN)
    }
}

@Suite struct SlicingTests {
    let table = DataTable(
        file: "eval",
        columns: [
            Column(name: "payment", texts: ["Cash", "Card", nil, "Cash", "Card", "Cash"]),
            Column(name: "hour", integers: [1, 7, 13, 19, 23, nil]),
        ], rowCount: 6)

    @Test func slicesByValueByBucketAndByTwoFeatures() throws {
        let slices = try Slicing.slices(
            of: table,
            specs: [
                SliceSpec(features: ["payment"]), SliceSpec(features: ["hour"], buckets: [6, 12, 18]),
                SliceSpec(features: ["payment", "hour"]),
            ])
        let byName = Dictionary(uniqueKeysWithValues: slices.map { ($0.name, $0.rows) })
        #expect(slices[0] == Slicing.Slice(name: "overall", rows: [0, 1, 2, 3, 4, 5]))
        #expect(slices.dropFirst().prefix(3).map(\.name) == ["payment=Card", "payment=Cash", "payment=(missing)"])
        #expect(byName["payment=Cash"] == [0, 3, 5])
        #expect(
            slices[4...8].map(\.name) == ["hour=< 6", "hour=[6, 12)", "hour=[12, 18)", "hour=>= 18", "hour=(missing)"])
        #expect(byName["hour=>= 18"] == [3, 4] && byName["hour=(missing)"] == [5])
        #expect(byName["payment=Cash, hour=19"] == [3])
        #expect(throws: SliceError(feature: "paymnt", available: ["payment", "hour"])) {
            try Slicing.slices(of: table, specs: [SliceSpec(features: ["paymnt"])])
        }
    }

    @Test func smallSlicesAreReportedNotGatedAndBootstrapIntervalsRepeat() throws {
        var random = SplitMix64(seed: 3)
        let count = 600
        let scores = (0..<count).map { _ in random.unit() }
        let labels = scores.map { random.unit() < $0 ? 1.0 : 0.0 }
        let outcomes = Outcomes.binary(probabilities: scores, labels: labels)
        let slices = [
            Slicing.Slice(name: "overall", rows: Array(0..<count)), Slicing.Slice(name: "tiny", rows: [0, 1]),
        ]
        let first = Evaluation.evaluate(
            outcomes, slices: slices, minSliceSize: 30, threshold: 0.5, bootstrapSamples: 200, seed: 7)
        #expect(first.map(\.gated) == [true, false])
        #expect(first[1].intervals == nil && first[1].size == 2)
        let auc = try #require(first[0].metrics["auc"])
        let interval = try #require(first[0].intervals?["auc"])
        #expect(interval.lower < auc && auc < interval.upper && interval.upper - interval.lower < 0.15)
        let again = Evaluation.evaluate(
            outcomes, slices: slices, minSliceSize: 30, threshold: 0.5, bootstrapSamples: 200, seed: 7)
        #expect(again == first)  // the same seed, the same intervals
    }
}

@Suite struct ThresholdCheckTests {
    func slice(_ name: String, size: Int = 100, gated: Bool = true, _ values: [String: Double]) -> SliceMetrics {
        SliceMetrics(
            slice: name, size: size, gated: gated, metrics: MetricSet(values: values, confusion: nil, classes: nil),
            intervals: nil)
    }

    @Test func valueBoundsPassOrFailWithTheValue() {
        let results = ThresholdChecks.check(
            [
                ThresholdSpec(metric: "auc", lowerBound: 0.75),
                ThresholdSpec(metric: "log_loss", upperBound: 0.4),
            ],
            candidate: [slice("overall", ["auc": 0.8123456789, "log_loss": 0.45])], baseline: nil)
        #expect(results.map(\.name) == ["auc >= 0.75", "log_loss <= 0.4"])
        #expect(results.map(\.outcome) == [.passed, .failed])
        #expect(results[0].detail == "auc = 0.812346" && results[1].detail == "log_loss = 0.45")
        #expect(results.allSatisfy { $0.className == "mlops.gate.evaluation.overall" })
        #expect(!GateVerdict(checks: results).passed)
    }

    @Test func changeThresholdsNeedABaselineAndNameBothValues() {
        let threshold = ThresholdSpec(
            metric: "auc", lowerBound: 0.7, change: .init(direction: .higherIsBetter, absolute: -0.01, relative: -0.02))
        let candidate = [slice("overall", ["auc": 0.80])]
        let none = ThresholdChecks.check([threshold], candidate: candidate, baseline: nil)
        #expect(none.map(\.outcome) == [.passed, .skipped, .skipped])
        #expect(none[1].detail == "no baseline: change thresholds were not checked")
        #expect(GateVerdict(checks: none).passed)  // value thresholds alone can bless

        let worse = ThresholdChecks.check(
            [threshold], candidate: candidate, baseline: [slice("overall", ["auc": 0.82])])
        #expect(worse[1].name == "auc change >= -0.01 vs baseline" && worse[1].outcome == .failed)
        #expect(worse[1].detail == "auc 0.8 against the baseline's 0.82: change -0.02 (-2.43902%)")
        #expect(worse[2].name == "auc relative change >= -2% vs baseline" && worse[2].outcome == .failed)
        let close = ThresholdChecks.check(
            [threshold], candidate: candidate, baseline: [slice("overall", ["auc": 0.805])])
        #expect(close.map(\.outcome) == [.passed, .passed, .passed])
        // Lower is better: a log loss may rise by at most 5%.
        let loss = ThresholdSpec(metric: "log_loss", change: .init(direction: .lowerIsBetter, relative: 0.05))
        let rising = ThresholdChecks.check(
            [loss], candidate: [slice("overall", ["log_loss": 0.5])], baseline: [slice("overall", ["log_loss": 0.45])])
        #expect(rising.map(\.outcome) == [.failed] && rising[0].name == "log_loss relative change <= +5% vs baseline")
    }

    @Test func whatCannotBeMeasuredNeverPasses() {
        let candidate = [
            slice("overall", ["auc": 0.8]), slice("payment_type=Cash", ["auc": .nan]),
            slice("payment_type=Dispute", size: 3, gated: false, ["auc": 1]),
        ]
        let thresholds = [
            ThresholdSpec(metric: "auc", slice: "payment_type=Cash", lowerBound: 0.7),
            ThresholdSpec(metric: "auc", slice: "payment_type=Bitcoin", lowerBound: 0.7),
            ThresholdSpec(metric: "auc", slice: "payment_type=Dispute", lowerBound: 0.7),
            ThresholdSpec(metric: "rmse", upperBound: 1),
        ]
        let results = ThresholdChecks.check(thresholds, candidate: candidate, baseline: nil)
        #expect(results.map(\.outcome) == [.failed, .failed, .skipped, .failed])
        #expect(results[0].detail.hasPrefix("auc is undefined on this slice"))
        #expect(
            results[1].detail == "the slice 'payment_type=Bitcoin' has no eval rows: the threshold cannot be checked")
        #expect(results[2].detail == "the slice has 3 rows, fewer than evaluation.min_slice_size")
        #expect(results[3].detail == "rmse is not computed for this model's task")
        // `*`: every gated slice.
        let every = ThresholdChecks.check(
            [ThresholdSpec(metric: "auc", slice: "*", lowerBound: 0.7)], candidate: candidate, baseline: nil)
        #expect(every.map(\.className) == ["mlops.gate.evaluation.overall", "mlops.gate.evaluation.payment_type=Cash"])
    }

    @Test func noThresholdsBlessesNothingUnlessAllowedAndPolicyCanWarn() {
        let candidate = [slice("overall", ["auc": 0.6])]
        let none = ThresholdChecks.check([], candidate: candidate, baseline: nil)
        #expect(
            none.map(\.outcome) == [.failed] && none[0].detail.hasPrefix("a gate without thresholds blesses nothing"))
        #expect(!GateVerdict(checks: none).passed)
        let allowed = ThresholdChecks.check([], candidate: candidate, baseline: nil, allowNoThresholds: true)
        #expect(allowed.map(\.outcome) == [.skipped])
        let warned = ThresholdChecks.check(
            [ThresholdSpec(metric: "auc", lowerBound: 0.7)], candidate: candidate, baseline: nil, policy: .warn)
        #expect(warned.map(\.outcome) == [.warned] && warned[0].detail == "auc = 0.6 (gates.policy.metrics: warn)")
        #expect(!GateVerdict(checks: warned).strict().passed)
    }
}

@Suite struct GateReportTests {
    @Test func reportsEscapeWhatMarkdownAndXMLWouldMisread() throws {
        let evaluation = EvaluationReport(
            task: .binary, rows: 10,
            candidate: [
                SliceMetrics(
                    slice: "overall", size: 10, gated: true,
                    metrics: MetricSet(values: ["auc": 0.5], confusion: nil, classes: nil), intervals: nil)
            ],
            baseline: nil, baselineMetrics: nil,
            checks: [
                CheckResult(
                    className: "mlops.gate.evaluation.company=A|B <&>", name: "auc >= 0.7", outcome: .failed,
                    detail: "auc = 0.5 \"quoted\" 'single'\u{1}")
            ], blessed: false)
        let report = GateReport(
            pipeline: "p", commit: "abc", run: 1, strict: false, evaluation: evaluation, infra: nil,
            dataChecks: dataChecks(warning: "ENUM_TYPE_UNEXPECTED_STRING_VALUES"))
        #expect(!report.blessed)  // no infra blessing, and a failed check
        let markdown = report.markdown()
        #expect(markdown.hasPrefix(GateReport.marker + "\n## ❌ mlops gate: not blessed — 1 check failed\n"))
        #expect(markdown.contains("| company=A\\|B <&> | auc >= 0.7 | failed |"))
        #expect(markdown.contains("InfraValidator did not run."))
        #expect(
            markdown.contains(
                "Drift: not measured (no earlier span of the data sources, and no merge-base to compare with)."))
        #expect(markdown.contains("| ⚠️ eval: company ENUM_TYPE_UNEXPECTED_STRING_VALUES | warned | x |"))
        let xml = report.junit()
        #expect(xml.contains(#"classname="mlops.gate.evaluation.company=A|B &lt;&amp;&gt;" name="auc &gt;= 0.7""#))
        #expect(xml.contains(#"message="auc = 0.5 &quot;quoted&quot; &apos;single&apos;""#))
        #expect(xml.contains(#"<testsuite name="mlops.gate.data" tests="1" failures="0" errors="0" skipped="0">"#))
        #expect(
            xml.hasPrefix(
                #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
                    + #"<testsuites name="mlops gate" tests="2" failures="1""#))
        // --strict: the data warning fails too.
        let strict = GateReport(
            pipeline: "p", commit: nil, run: 1, strict: true, evaluation: evaluation, infra: nil,
            dataChecks: dataChecks(warning: "SCHEMA_NEW_COLUMN"))
        #expect(strict.checks.filter { $0.outcome == .failed }.count == 2)
    }
}

/// ExampleValidator's checks with one anomaly of `reason` on `company` in the eval split, warned.
func dataChecks(warning reason: String) -> DataChecks {
    let anomalies = Anomalies(
        features: [
            "company": .init(
                severity: .error, reasons: [.init(type: reason, shortDescription: "short", description: "x")])
        ], dataset: nil)
    return DataChecks(
        spans: [0], previousSpan: nil, serving: nil, comparedSplit: "train",
        checks: DataChecks.checks(split: "eval", anomalies: anomalies) { _, _ in .warn })
}

@Suite struct HTMLReportTests {
    func table(_ text: String) throws -> DataTable {
        try Array(text.utf8).withUnsafeBytes { try CSVReader.parse($0, file: "t.csv") }
    }

    @Test func featuresAreComparedOnSharedBuckets() throws {
        // Same values in a different order: no distance at all, whatever the range.
        let values = (0..<200).map { Double($0 * $0) / 7 }
        let same = FeatureComparison.compare(
            train: try table("x\n" + values.map { "\($0)" }.joined(separator: "\n") + "\n"),
            eval: try table("x\n" + values.reversed().map { "\($0)" }.joined(separator: "\n") + "\n"))
        #expect(same.first?.distance == 0)
        // Disjoint: the whole way apart (16 values a side: four buckets, the square root).
        let low = (0..<16).map { "\(1.5 + Double($0) / 10)" }.joined(separator: "\n")
        let high = (0..<16).map { "\(100.5 + Double($0) * 6)" }.joined(separator: "\n")
        let apart = FeatureComparison.compare(train: try table("x\n\(low)\n"), eval: try table("x\n\(high)\n"))
        #expect(apart.first?.distance == 1)
        if case .numeric(let edges) = apart.first?.buckets {
            #expect(edges.count == 5)
        } else {
            Issue.record("numeric")
        }
        // Small integers get one bucket each, over both splits' values.
        let hours = FeatureComparison.compare(
            train: try table("h\n0\n1\n1\n2\n"), eval: try table("h\n0\n1\n3\n"))
        #expect(hours.first?.buckets == .numeric(edges: [-0.5, 0.5, 1.5, 2.5, 3.5]))
        #expect(hours.first?.train == [0.25, 0.5, 0.25, 0] && hours.first?.eval == [1.0 / 3, 1.0 / 3, 0, 1.0 / 3])
        // Categories: the most common train values, then the rest; L∞ over every value.
        let letters = (0..<10).map { String(UnicodeScalar(UInt8(65 + $0))) }
        let categories = FeatureComparison.compare(
            train: try table("c\n" + letters.joined(separator: "\n") + "\nA\n"), eval: try table("c\nA\nA\nJ\nZ\n"))
        let first = try #require(categories.first)
        #expect(first.buckets == .categorical(values: ["A", "B", "C", "D", "E", "F", "G", "H", "(other)"]))
        #expect(abs(first.distance - (0.5 - 2.0 / 11)) < 1e-12)
        #expect(abs(first.train.reduce(0, +) - 1) < 1e-12 && abs(first.eval.last! - 0.5) < 1e-12)
    }

    @Test func theReportIsOneSelfContainedPageWithItsPlotsAndEscapedText() throws {
        var random = SplitMix64(seed: 5)
        let scores = (0..<300).map { _ in random.unit() }
        let labels = scores.map { random.unit() < $0 ? 1.0 : 0.0 }
        let curves = Curves.binary(probabilities: scores, labels: labels)
        #expect(curves?.roc.first == [0, 0] && curves?.roc.last == [1, 1])
        #expect((curves?.calibration.reduce(0) { $0 + $1.count }) == 300)
        let metrics = Metrics.binary(probabilities: scores, labels: labels)
        let evaluation = EvaluationReport(
            task: .binary, rows: 300,
            candidate: [
                SliceMetrics(slice: "overall", size: 300, gated: true, metrics: metrics, intervals: nil),
                SliceMetrics(slice: "company=<b>&Co", size: 12, gated: false, metrics: metrics, intervals: nil),
            ],
            baseline: nil, baselineMetrics: nil,
            checks: [
                CheckResult(
                    className: "mlops.gate.evaluation.overall", name: "auc >= 0.99", outcome: .failed,
                    detail: "auc = 0.8")
            ],
            blessed: false, curves: curves)
        let gate = GateReport(
            pipeline: "taxi <test>", commit: nil, run: 3, strict: false, evaluation: evaluation, infra: nil,
            dataChecks: nil)
        let train = try table("hour,company\n1,A\n2,B\n2,<b>\n3,A\n")
        let eval = try table("hour,company\n1,A\n2,A\n3,A\n")
        let html = HTMLReport.render(gate, history: nil, features: FeatureComparison.compare(train: train, eval: eval))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("FAIL</span> mlops gate: not blessed — 1 check failed"))
        #expect(html.contains(#"aria-label="ROC curve""#) && html.contains(#"aria-label="Precision–recall""#))
        #expect(html.contains(#"aria-label="Calibration (10 bins)""#) && html.contains(#"aria-label="auc per slice""#))
        #expect(html.contains("company=&lt;b&gt;&amp;Co (12, not gated)") && html.contains("taxi &lt;test&gt;"))
        #expect(html.contains(#"aria-label="hour""#) && html.contains(">JS 0.") && html.contains(">L∞ 0.500<"))
        #expect(html.contains(">&lt;b&gt;</text>"))
        // Nothing to fetch, nothing to run.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("http"))
    }
}
