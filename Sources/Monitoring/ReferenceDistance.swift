import Foundation
import Gates
import Pipeline
import Tabular

/// Distances between data known only by its statistics (the training split in a release
/// bundle, the eval split's predictions) and rows read from the logs, with the shares the
/// report plots.
///
/// - A numeric feature is compared on the reference's own quantile buckets: StatisticsGen
///   counts its values exactly into ten buckets between the 0%, 10%, …, 100% quantiles, so each
///   holds about a tenth of them; the logged values are counted into the same buckets, plus one
///   below the reference's minimum and one above its maximum. Jensen–Shannon divergence of the
///   two (log base 2, in [0, 1]). Two samples of one distribution score near 0, as on the
///   gate's shared buckets; values beyond the range the model saw count in full.
/// - A text feature is compared on the reference's most frequent values (StatisticsGen keeps
///   twenty) and `(other)`: L-infinity distance, the largest difference in any value's share.
///   With at most twenty values in the training data this is the exact L-infinity distance; a
///   value never seen in training counts in `(other)`.
enum ReferenceDistance {
    /// The comparison of a numeric column with the reference's quantile buckets; nil when the
    /// reference has none (no values) or the column has no value.
    static func numeric(feature: String, reference: NumericStatistics, values: [Double]) -> FeatureComparison? {
        guard let histogram = reference.histograms.first(where: { $0.type == .quantiles }),
            let first = histogram.buckets.first, !values.isEmpty
        else { return nil }
        let boundaries = [first.lowValue] + histogram.buckets.map(\.highValue)
        let inner = histogram.buckets.count
        var counts = [Double](repeating: 0, count: inner + 2)
        let low = boundaries[0]
        let high = boundaries[inner]
        for value in values {
            if value < low {
                counts[0] += 1
            } else if value > high {
                counts[inner + 1] += 1
            } else {
                counts[1 + StatisticsGenerator.quantileBucket(value, boundaries: boundaries)] += 1
            }
        }
        let referenceCounts = [0] + histogram.buckets.map(\.sampleCount) + [0]
        let referenceTotal = max(referenceCounts.reduce(0, +), 1)
        let shares = counts.map { $0 / Double(values.count) }
        return FeatureComparison(
            feature: feature, buckets: .numeric(edges: [low] + boundaries + [high]), range: low...high,
            train: referenceCounts.map { $0 / referenceTotal }, eval: shares,
            distance: Distribution.jensenShannon(counts: referenceCounts, counts))
    }

    /// The comparison of a text column with the reference's most frequent values; nil when
    /// neither has a value.
    static func categorical(feature: String, reference: FeatureStatistics, column: Column) -> FeatureComparison? {
        guard let strings = reference.string else { return nil }
        let counts = Distribution.valueCounts(column)
        let windowTotal = counts.values.reduce(0, +)
        let referenceTotal = strings.topValues.reduce(0) { $0 + $1.frequency }
        let present = max(reference.numNonMissing, referenceTotal)
        // No logged value (a column left out of the log, `serving.log.exclude`): nothing to measure.
        guard windowTotal > 0 else { return nil }
        let values = strings.topValues.map(\.value)
        var referenceShares = strings.topValues.map { present > 0 ? Double($0.frequency) / Double(present) : 0 }
        referenceShares.append(max(0, 1 - referenceShares.reduce(0, +)))
        var windowShares = values.map { windowTotal > 0 ? Double(counts[$0] ?? 0) / Double(windowTotal) : 0 }
        windowShares.append(max(0, 1 - windowShares.reduce(0, +)))
        let distance = present == 0 ? 1 : zip(referenceShares, windowShares).map { abs($0 - $1) }.max() ?? 0
        return FeatureComparison(
            feature: feature, buckets: .categorical(values: values + ["(other)"]), range: nil, train: referenceShares,
            eval: windowShares, distance: distance)
    }

    /// A binary model's probabilities against the eval split's calibration bins (ten of equal
    /// width, each with its count): the reference of reports written before the Evaluator kept
    /// its predictions' statistics.
    static func calibration(feature: String, bins: [Curves.Bin], values: [Double]) -> FeatureComparison? {
        guard !bins.isEmpty, !values.isEmpty else { return nil }
        var reference = [Double](repeating: 0, count: 10)
        for bin in bins { reference[min(9, max(0, Int(bin.meanProbability * 10)))] += Double(bin.count) }
        var counts = [Double](repeating: 0, count: 10)
        for value in values where value.isFinite { counts[min(9, max(0, Int(value * 10)))] += 1 }
        let referenceTotal = max(reference.reduce(0, +), 1)
        let total = max(counts.reduce(0, +), 1)
        return FeatureComparison(
            feature: feature, buckets: .numeric(edges: (0...10).map { Double($0) / 10 }), range: 0...1,
            train: reference.map { $0 / referenceTotal }, eval: counts.map { $0 / total },
            distance: Distribution.jensenShannon(counts: reference, counts))
    }
}
