import Foundation
import Pipeline

/// The Evaluator's metrics, computed exactly from predictions and labels, by task. Names are
/// ``MetricName``s, the ones `evaluation.thresholds` takes.
///
/// Conventions, stated once:
/// - A binary prediction is the probability of class 1; the predicted class is 1 when the
///   probability is at least the decision threshold.
/// - AUC is the trapezoidal ROC area: the chance that a random positive scores above a random
///   negative, a tie counting half. PR-AUC is average precision: the precision at each distinct
///   score, weighted by the recall it adds (a step curve, no interpolation; tied scores move
///   together). Both are NaN when a class is absent.
/// - Precision is NaN when nothing is predicted positive, recall when nothing is positive, F1
///   when both are zero or NaN.
/// - Log loss clips probabilities to [1e-15, 1 − 1e-15]. Calibration error is the expected
///   calibration error over 10 equal-width probability bins.
/// - MAPE is in percent over the rows whose label is not zero (NaN when none is).
public enum Metrics {
    /// Binary classification at `threshold`, with the confusion matrix `[[tn, fp], [fn, tp]]`.
    public static func binary(probabilities: [Double], labels: [Double], threshold: Double = 0.5) -> MetricSet {
        precondition(probabilities.count == labels.count, "one label per prediction")
        let count = labels.count
        var values: [String: Double] = [MetricName.exampleCount.rawValue: Double(count)]
        var tp = 0, fp = 0, tn = 0, fn = 0
        var logLoss = 0.0, brier = 0.0
        for (p, y) in zip(probabilities, labels) {
            let positive = y >= 0.5
            switch (p >= threshold, positive) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
            let clipped = min(max(p, 1e-15), 1 - 1e-15)
            logLoss -= positive ? log(clipped) : log(1 - clipped)
            brier += (p - (positive ? 1 : 0)) * (p - (positive ? 1 : 0))
        }
        let n = Double(count)
        values[metric: .accuracy] = count == 0 ? .nan : Double(tp + tn) / n
        let precision = tp + fp == 0 ? Double.nan : Double(tp) / Double(tp + fp)
        let recall = tp + fn == 0 ? Double.nan : Double(tp) / Double(tp + fn)
        values[metric: .precision] = precision
        values[metric: .recall] = recall
        values[metric: .f1] = f1(precision, recall)
        values[metric: .logLoss] = count == 0 ? .nan : logLoss / n
        values[metric: .brierScore] = count == 0 ? .nan : brier / n
        values[metric: .calibrationError] = calibrationError(probabilities, labels)
        let (auc, prAUC) = rankingAreas(probabilities, labels)
        values[metric: .auc] = auc
        values[metric: .prAUC] = prAUC
        return MetricSet(values: values, confusion: [[tn, fp], [fn, tp]], classes: ["0", "1"])
    }

    /// Multiclass: `probabilities` is row-major `rows × classes`; a label is a class index.
    /// Per-class precision and recall are `precision_<class>` and `recall_<class>`.
    public static func multiclass(probabilities: [Double], labels: [Int], classes: [String]) -> MetricSet {
        let k = classes.count
        precondition(k > 0 && probabilities.count == labels.count * k, "rows × classes probabilities")
        let count = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var logLoss = 0.0
        for (row, label) in labels.enumerated() {
            let base = row * k
            // The most probable class; the first on a tie, as argmax does.
            var predicted = 0
            for index in 1..<k where probabilities[base + index] > probabilities[base + predicted] {
                predicted = index
            }
            if (0..<k).contains(label) {
                confusion[label][predicted] += 1
                logLoss -= log(min(max(probabilities[base + label], 1e-15), 1 - 1e-15))
            }
        }
        var values: [String: Double] = [MetricName.exampleCount.rawValue: Double(count)]
        let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
        values[metric: .accuracy] = count == 0 ? .nan : Double(correct) / Double(count)
        values[metric: .logLoss] = count == 0 ? .nan : logLoss / Double(count)
        var f1s: [Double] = []
        var support: [Int] = []
        for index in 0..<k {
            let truePositives = confusion[index][index]
            let predicted = (0..<k).reduce(0) { $0 + confusion[$1][index] }
            let actual = confusion[index].reduce(0, +)
            let precision = predicted == 0 ? Double.nan : Double(truePositives) / Double(predicted)
            let recall = actual == 0 ? Double.nan : Double(truePositives) / Double(actual)
            values["precision_\(classes[index])"] = precision
            values["recall_\(classes[index])"] = recall
            f1s.append(f1(precision, recall))
            support.append(actual)
        }
        // Over the classes present in the labels; a class never predicted has F1 0.
        let present = (0..<k).filter { support[$0] > 0 }
        let scored = present.map { f1s[$0].isNaN ? 0 : f1s[$0] }
        values[metric: .macroF1] = present.isEmpty ? .nan : scored.reduce(0, +) / Double(present.count)
        let total = present.reduce(0) { $0 + support[$1] }
        values[metric: .weightedF1] =
            total == 0 ? .nan : zip(present, scored).reduce(0) { $0 + Double(support[$1.0]) * $1.1 } / Double(total)
        return MetricSet(values: values, confusion: confusion, classes: classes)
    }

    /// Regression.
    public static func regression(predictions: [Double], labels: [Double]) -> MetricSet {
        precondition(predictions.count == labels.count, "one label per prediction")
        let count = labels.count
        let n = Double(count)
        var squared = 0.0, absolute = 0.0, percent = 0.0, percentRows = 0
        for (p, y) in zip(predictions, labels) {
            squared += (p - y) * (p - y)
            absolute += abs(p - y)
            if y != 0 {
                percent += abs((y - p) / y)
                percentRows += 1
            }
        }
        let mean = count == 0 ? .nan : labels.reduce(0, +) / n
        let total = labels.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return MetricSet(
            values: [
                MetricName.exampleCount.rawValue: n,
                MetricName.rmse.rawValue: count == 0 ? .nan : (squared / n).squareRoot(),
                MetricName.mae.rawValue: count == 0 ? .nan : absolute / n,
                MetricName.r2.rawValue: total == 0 ? .nan : 1 - squared / total,
                MetricName.mape.rawValue: percentRows == 0 ? .nan : 100 * percent / Double(percentRows),
            ], confusion: nil, classes: nil)
    }

    static func f1(_ precision: Double, _ recall: Double) -> Double {
        guard !precision.isNaN, !recall.isNaN, precision + recall > 0 else { return .nan }
        return 2 * precision * recall / (precision + recall)
    }

    /// ROC AUC and average precision over the scores sorted high to low, a group of tied
    /// scores at a time.
    static func rankingAreas(_ scores: [Double], _ labels: [Double]) -> (auc: Double, prAUC: Double) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let positives = labels.reduce(0) { $0 + ($1 >= 0.5 ? 1 : 0) }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return (.nan, .nan) }
        var area = 0.0
        var precisionSum = 0.0
        var positivesAbove = 0
        var seen = 0
        var start = 0
        while start < order.count {
            var end = start
            var groupPositives = 0
            while end < order.count, scores[order[end]] == scores[order[start]] {
                if labels[order[end]] >= 0.5 { groupPositives += 1 }
                end += 1
            }
            let groupNegatives = end - start - groupPositives
            // Each negative here ranks below every positive above and ties with this group's.
            area += Double(groupNegatives) * (Double(positivesAbove) + Double(groupPositives) / 2)
            positivesAbove += groupPositives
            seen += end - start
            // Precision at this threshold, times the recall this group adds.
            precisionSum += Double(groupPositives) * Double(positivesAbove) / Double(seen)
            start = end
        }
        return (area / (Double(positives) * Double(negatives)), precisionSum / Double(positives))
    }

    /// Expected calibration error over 10 equal-width bins of the probability.
    static func calibrationError(_ probabilities: [Double], _ labels: [Double], bins: Int = 10) -> Double {
        guard !probabilities.isEmpty else { return .nan }
        var counts = [Int](repeating: 0, count: bins)
        var sums = [Double](repeating: 0, count: bins)
        var positives = [Double](repeating: 0, count: bins)
        for (p, y) in zip(probabilities, labels) {
            let bin = min(bins - 1, max(0, Int(p * Double(bins))))
            counts[bin] += 1
            sums[bin] += p
            positives[bin] += y >= 0.5 ? 1 : 0
        }
        let n = Double(probabilities.count)
        return (0..<bins).reduce(0) { total, bin in
            guard counts[bin] > 0 else { return total }
            let size = Double(counts[bin])
            return total + size / n * abs(sums[bin] / size - positives[bin] / size)
        }
    }
}

/// Metric values by name, with the confusion matrix (rows: actual class, columns: predicted)
/// for classification.
public struct MetricSet: Sendable, Codable, Equatable {
    public let values: [String: Double]
    public let confusion: [[Int]]?
    /// The confusion matrix's class names, in its order.
    public let classes: [String]?

    public init(values: [String: Double], confusion: [[Int]]?, classes: [String]?) {
        self.values = values
        self.confusion = confusion
        self.classes = classes
    }

    public subscript(name: String) -> Double? { values[name] }
}

/// The points of a binary model's curves, for plots: ROC (false positive rate, true positive
/// rate) and precision–recall at each distinct score (thinned to about 200 points), and the
/// calibration of 10 equal-width probability bins.
public struct Curves: Sendable, Codable, Equatable {
    public struct Bin: Sendable, Codable, Equatable {
        public let meanProbability: Double
        public let fractionPositive: Double
        public let count: Int
    }

    public let roc: [[Double]]
    public let precisionRecall: [[Double]]
    public let calibration: [Bin]

    public static func binary(probabilities: [Double], labels: [Double]) -> Curves? {
        let positives = labels.reduce(0) { $0 + ($1 >= 0.5 ? 1 : 0) }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        var roc: [[Double]] = [[0, 0]]
        var pr: [[Double]] = []
        var truePositives = 0, falsePositives = 0, start = 0
        while start < order.count {
            var end = start
            while end < order.count, probabilities[order[end]] == probabilities[order[start]] {
                if labels[order[end]] >= 0.5 { truePositives += 1 } else { falsePositives += 1 }
                end += 1
            }
            roc.append([Double(falsePositives) / Double(negatives), Double(truePositives) / Double(positives)])
            pr.append([Double(truePositives) / Double(positives), Double(truePositives) / Double(end)])
            start = end
        }
        var bins: [Bin] = []
        for bin in 0..<10 {
            let rows = probabilities.indices.filter { min(9, max(0, Int(probabilities[$0] * 10))) == bin }
            guard !rows.isEmpty else { continue }
            bins.append(
                Bin(
                    meanProbability: rows.reduce(0) { $0 + probabilities[$1] } / Double(rows.count),
                    fractionPositive: Double(rows.filter { labels[$0] >= 0.5 }.count) / Double(rows.count),
                    count: rows.count))
        }
        return Curves(roc: thin(roc), precisionRecall: thin(pr), calibration: bins)
    }

    /// At most about 200 points, the first and last kept.
    static func thin(_ points: [[Double]]) -> [[Double]] {
        guard points.count > 200 else { return points }
        let step = Double(points.count - 1) / 199
        return (0..<200).map { points[Int((Double($0) * step).rounded())] }
    }
}
