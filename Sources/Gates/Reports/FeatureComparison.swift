import Foundation
import Pipeline
import Tabular

/// One feature's distribution in two splits (train against eval) on shared buckets, with the
/// distance between them, for the report's histograms.
///
/// The statistics' own histograms have ten equal-width buckets over each split's range, so
/// two splits of one dataset get different edges, and comparing them (as drift against a
/// schema threshold does, TFDV's way) adds a distance that is only the bucketing's. Here both
/// splits are counted into the same buckets, from the lower of their 0.5th percentiles to the
/// higher of their 99.5th (values beyond go to the end buckets), so the figure measures the
/// data.
public struct FeatureComparison: Sendable, Equatable {
    public enum Buckets: Sendable, Equatable {
        /// `edges.count - 1` buckets.
        case numeric(edges: [Double])
        /// The most common train values, then `(other)` when there are more.
        case categorical(values: [String])
    }

    public let feature: String
    public let buckets: Buckets
    /// The values the numeric buckets cover (the end buckets also take what lies beyond).
    public let range: ClosedRange<Double>?
    /// Each split's share of its present values per bucket.
    public let train: [Double]
    public let eval: [Double]
    /// Jensen–Shannon divergence (numeric) or L-infinity distance (categorical), in [0, 1].
    public let distance: Double

    public var measure: String {
        if case .numeric = buckets { return "JS" }
        return "L∞"
    }

    public init(
        feature: String, buckets: Buckets, range: ClosedRange<Double>?, train: [Double], eval: [Double],
        distance: Double
    ) {
        self.feature = feature
        self.buckets = buckets
        self.range = range
        self.train = train
        self.eval = eval
        self.distance = distance
    }

    static let bucketCount = 20
    static let categories = 8

    /// The features of `train` that `eval` has too, in train's column order.
    public static func compare(train: DataTable, eval: DataTable) -> [FeatureComparison] {
        train.columns.compactMap { column in
            guard let other = eval.column(column.name) else { return nil }
            return compare(column, other)
        }
    }

    static func compare(_ a: Column, _ b: Column) -> FeatureComparison? {
        if case .bytes = a.values {
            let countsA = Distribution.valueCounts(a)
            let countsB = Distribution.valueCounts(b)
            guard !countsA.isEmpty || !countsB.isEmpty else { return nil }
            let top = countsA.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(categories).map(\.key)
            let other = Set(countsA.keys).union(countsB.keys).count > top.count
            func shares(_ counts: [String: Int]) -> [Double] {
                let total = Double(max(counts.values.reduce(0, +), 1))
                var result = top.map { Double(counts[$0] ?? 0) / total }
                if other { result.append(max(0, 1 - result.reduce(0, +))) }
                return result
            }
            return FeatureComparison(
                feature: a.name, buckets: .categorical(values: top + (other ? ["(other)"] : [])), range: nil,
                train: shares(countsA),
                eval: shares(countsB), distance: Distribution.lInfinity(countsA, countsB))
        }
        guard let shared = SharedBuckets(Distribution.numbers(a), Distribution.numbers(b)) else { return nil }
        return FeatureComparison(
            feature: a.name, buckets: .numeric(edges: shared.edges), range: shared.range, train: shared.first,
            eval: shared.second, distance: shared.jensenShannon)
    }
}
