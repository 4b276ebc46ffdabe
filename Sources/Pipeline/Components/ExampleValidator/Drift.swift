import Foundation
import Tabular

/// How a drift or skew distance is measured (docs/gates.md, "How drift is measured").
public enum DriftMethod: String, Sendable, Codable {
    /// mlops's method, for thresholds set in `mlops.yaml` (`gates.drift`, `gates.skew`):
    /// numeric features counted into the same buckets on both sides, so two samples of one
    /// distribution score near 0.
    case sharedBuckets = "shared_buckets"
    /// TFDV's method, for a schema's `drift_comparator` / `skew_comparator`: each side's own
    /// ten statistics buckets, spread over the union of their edges, so a threshold means what
    /// it meant under TFDV.
    case tfdv
}

/// Distances between two datasets' distributions of one feature, as TFDV measures drift
/// (against a previous span) and skew (training against serving data).
public enum Distribution {
    /// L-infinity distance of two categorical distributions: the largest difference in any
    /// value's share. Values absent on one side count as share 0 there.
    public static func lInfinity(_ a: [String: Int], _ b: [String: Int]) -> Double {
        let totalA = Double(a.values.reduce(0, +))
        let totalB = Double(b.values.reduce(0, +))
        guard totalA > 0, totalB > 0 else { return totalA == totalB ? 0 : 1 }
        var largest = 0.0
        for key in Set(a.keys).union(b.keys) {
            let difference = abs(Double(a[key] ?? 0) / totalA - Double(b[key] ?? 0) / totalB)
            largest = max(largest, difference)
        }
        return largest
    }

    /// L-infinity distance of two columns' values: text, or integers as category ids.
    public static func lInfinity(_ a: Column, _ b: Column) -> Double {
        lInfinity(valueCounts(a), valueCounts(b))
    }

    /// Jensen–Shannon divergence (log base 2, so in [0, 1]) of two numeric distributions given
    /// as histograms, TFDV's way: both are put on the union of their bucket boundaries, each
    /// bucket's count spread uniformly over its width, then JSD = ½·KL(P‖M) + ½·KL(Q‖M) with
    /// M = ½(P + Q). A bucket of zero width (a feature with one value) is a point mass: when
    /// both sides are only point masses they are compared value by value, so a constant that
    /// becomes another constant scores 1.
    public static func jensenShannon(_ a: Histogram, _ b: Histogram) -> Double {
        let buckets = (a.buckets + b.buckets).filter { $0.sampleCount > 0 }
        if !buckets.isEmpty, buckets.allSatisfy({ $0.highValue <= $0.lowValue }) {
            let points = Set(buckets.map(\.lowValue)).sorted()
            func counts(_ histogram: Histogram) -> [Double] {
                var counts = [Double](repeating: 0, count: points.count)
                for bucket in histogram.buckets where bucket.sampleCount > 0 {
                    counts[points.firstIndex(of: bucket.lowValue) ?? 0] += bucket.sampleCount
                }
                return counts
            }
            return jensenShannon(counts: counts(a), counts(b))
        }
        var edges = Set<Double>()
        for bucket in buckets {
            edges.insert(bucket.lowValue)
            edges.insert(bucket.highValue)
        }
        let boundaries = edges.sorted()
        guard boundaries.count >= 2 else { return 0 }
        func rebucket(_ histogram: Histogram) -> [Double] {
            var counts = [Double](repeating: 0, count: boundaries.count - 1)
            for bucket in histogram.buckets where bucket.sampleCount > 0 {
                let width = bucket.highValue - bucket.lowValue
                if width <= 0 {
                    // A single point: all its count goes to the bucket that holds it.
                    let index = boundaries.lastIndex { $0 <= bucket.lowValue } ?? 0
                    counts[max(0, min(counts.count - 1, index))] += bucket.sampleCount
                    continue
                }
                for index in counts.indices {
                    let overlap = min(bucket.highValue, boundaries[index + 1]) - max(bucket.lowValue, boundaries[index])
                    if overlap > 0 { counts[index] += bucket.sampleCount * overlap / width }
                }
            }
            return counts
        }
        return jensenShannon(counts: rebucket(a), rebucket(b))
    }

    /// Jensen–Shannon divergence (log base 2, in [0, 1]) of two distributions given as counts
    /// over the same buckets.
    public static func jensenShannon(counts a: [Double], _ b: [Double]) -> Double {
        let p = normalized(a)
        let q = normalized(b)
        var divergence = 0.0
        for (x, y) in zip(p, q) {
            let m = (x + y) / 2
            if x > 0 { divergence += 0.5 * x * log2(x / m) }
            if y > 0 { divergence += 0.5 * y * log2(y / m) }
        }
        return max(0, min(1, divergence))
    }

    /// Jensen–Shannon divergence of two columns' numeric values on shared buckets (mlops's
    /// method): 0 when neither has a value or both hold the same single value.
    public static func jensenShannon(shared a: Column, _ b: Column) -> Double {
        guard let buckets = SharedBuckets(numbers(a), numbers(b)) else {
            let (x, y) = (numbers(a), numbers(b))
            return x.isEmpty == y.isEmpty ? 0 : 1
        }
        return buckets.jensenShannon
    }

    private static func normalized(_ counts: [Double]) -> [Double] {
        let total = counts.reduce(0, +)
        return total > 0 ? counts.map { $0 / total } : counts
    }

    /// Value counts of a text column, or of an integer column's values (spelled in decimal):
    /// what L-infinity compares. Empty for a float column.
    public static func valueCounts(_ column: Column) -> [String: Int] {
        switch column.values {
        case .bytes(let dictionary, let codes):
            var counts = [Int](repeating: 0, count: dictionary.count)
            for code in codes where code >= 0 { counts[Int(code)] += 1 }
            var result: [String: Int] = [:]
            for (index, count) in counts.enumerated() where count > 0 { result[dictionary[index]] = count }
            return result
        case .int(let values):
            var counts: [Int64: Int] = [:]
            for (value, present) in zip(values, column.present) where present { counts[value, default: 0] += 1 }
            var result: [String: Int] = [:]
            for (value, count) in counts { result[String(value)] = count }
            return result
        case .float:
            return [:]
        }
    }

    /// The present, finite values of a numeric column (none for text).
    public static func numbers(_ column: Column) -> [Double] {
        switch column.values {
        case .int(let values):
            return zip(values, column.present).compactMap { $1 ? Double($0) : nil }
        case .float(let values):
            return zip(values, column.present).compactMap { $1 && $0.isFinite ? $0 : nil }
        case .bytes:
            return []
        }
    }
}

/// Two samples of a numeric feature counted into the same buckets: up to twenty of equal width
/// from the lower of the two 0.5th percentiles to the higher of the two 99.5th (values beyond
/// go to the end buckets), or one bucket per value for integers over a narrower range. The
/// smaller sample's square root bounds the count of equal-width buckets (at least two), so a
/// small sample is not spread so thin that noise reads as drift. The drift measure of `gates.drift` and the
/// report's histograms.
public struct SharedBuckets: Sendable, Equatable {
    /// `edges.count - 1` buckets.
    public let edges: [Double]
    /// The values the buckets cover (the end buckets also take what lies beyond).
    public let range: ClosedRange<Double>
    /// Each side's share of its values per bucket.
    public let first: [Double]
    public let second: [Double]

    public static let bucketCount = 20

    public var jensenShannon: Double { Distribution.jensenShannon(counts: first, second) }

    /// Nil when a side has no value, or every value of both is one and the same.
    public init?(_ a: [Double], _ b: [Double]) {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        // The two percentiles of each side by selection, not a full sort (a million rows a side).
        var scratchA = a
        var scratchB = b
        func quantile(_ values: inout [Double], _ q: Double) -> Double {
            Self.select(&values, Int((q * Double(values.count - 1)).rounded()))
        }
        var low = min(quantile(&scratchA, 0.005), quantile(&scratchB, 0.005))
        var high = max(quantile(&scratchA, 0.995), quantile(&scratchB, 0.995))
        if high <= low {
            // Most values are one; the range is what the few others span.
            low = min(a.min() ?? low, b.min() ?? low)
            high = max(a.max() ?? high, b.max() ?? high)
            guard high > low else { return nil }
        }
        // Integers over a narrow range get one bucket per value, so no bucket straddles two.
        let most = max(2, min(Self.bucketCount, Int(Double(min(a.count, b.count)).squareRoot())))
        let integral =
            high - low < Double(Self.bucketCount) && a.allSatisfy { $0 == $0.rounded() }
            && b.allSatisfy { $0 == $0.rounded() }
        let count = integral ? Int(high - low) + 1 : most
        let start: Double = integral ? low - 0.5 : low
        let step: Double = integral ? 1 : (high - low) / Double(count)
        let edges: [Double] = (0...count).map { start + step * Double($0) }
        func shares(_ values: [Double]) -> [Double] {
            var counts = [Double](repeating: 0, count: count)
            for value in values {
                // Clamped as a Double first: an outlier far past the range must not overflow Int.
                let position = ((value - start) / step).rounded(.down)
                counts[Int(max(0, min(Double(count - 1), position)))] += 1
            }
            return counts.map { $0 / Double(values.count) }
        }
        self.edges = edges
        self.range = low...high
        self.first = shares(a)
        self.second = shares(b)
    }

    /// The `k`-th smallest of `values` (0-based), reordering them: Hoare's selection with a
    /// median-of-three pivot, linear on average.
    static func select(_ values: inout [Double], _ k: Int) -> Double {
        var low = 0
        var high = values.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            // Median of three as the pivot value.
            let (x, y, z) = (values[low], values[middle], values[high])
            let pivot = max(min(x, y), min(max(x, y), z))
            var i = low
            var j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return values[k]
            }
        }
        return values[k]
    }
}
