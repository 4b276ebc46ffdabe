import Foundation
import Tabular

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

    /// Jensen–Shannon divergence (log base 2, so in [0, 1]) of two numeric distributions given
    /// as histograms. Both are first put on the union of their bucket boundaries, each
    /// bucket's count spread uniformly over its width (TFDV's method), then
    /// JSD = ½·KL(P‖M) + ½·KL(Q‖M) with M = ½(P + Q).
    public static func jensenShannon(_ a: Histogram, _ b: Histogram) -> Double {
        var edges = Set<Double>()
        for bucket in a.buckets + b.buckets {
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
                    let index = max(0, min(counts.count - 1, (boundaries.lastIndex { $0 <= bucket.lowValue } ?? 0)))
                    counts[min(index, counts.count - 1)] += bucket.sampleCount
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

    private static func normalized(_ counts: [Double]) -> [Double] {
        let total = counts.reduce(0, +)
        return total > 0 ? counts.map { $0 / total } : counts
    }

    /// Value counts of a text column.
    public static func valueCounts(_ column: Column) -> [String: Int] {
        guard case .bytes(let dictionary, let codes) = column.values else { return [:] }
        var counts = [Int](repeating: 0, count: dictionary.count)
        for code in codes where code >= 0 { counts[Int(code)] += 1 }
        var result: [String: Int] = [:]
        for (index, count) in counts.enumerated() where count > 0 { result[dictionary[index]] = count }
        return result
    }
}
