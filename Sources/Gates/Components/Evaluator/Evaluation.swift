import Foundation
import MLOpsCore
import Pipeline

/// A model's predictions on the eval rows with their labels, by task.
public enum Outcomes: Sendable {
    case binary(probabilities: [Double], labels: [Double])
    /// `probabilities` row-major `rows × classes.count`; a label is a class index.
    case multiclass(probabilities: [Double], labels: [Int], classes: [String])
    case regression(predictions: [Double], labels: [Double])

    public var count: Int {
        switch self {
        case .binary(_, let labels), .regression(_, let labels): labels.count
        case .multiclass(_, let labels, _): labels.count
        }
    }

    /// The outcomes of `rows` only, in that order (rows may repeat: a bootstrap sample).
    public func subset(_ rows: [Int]) -> Outcomes {
        switch self {
        case .binary(let p, let y): .binary(probabilities: rows.map { p[$0] }, labels: rows.map { y[$0] })
        case .regression(let p, let y): .regression(predictions: rows.map { p[$0] }, labels: rows.map { y[$0] })
        case .multiclass(let p, let y, let classes):
            .multiclass(
                probabilities: rows.flatMap { p[($0 * classes.count)..<(($0 + 1) * classes.count)] },
                labels: rows.map { y[$0] }, classes: classes)
        }
    }

    public func metrics(threshold: Double) -> MetricSet {
        switch self {
        case .binary(let p, let y): Metrics.binary(probabilities: p, labels: y, threshold: threshold)
        case .multiclass(let p, let y, let classes): Metrics.multiclass(probabilities: p, labels: y, classes: classes)
        case .regression(let p, let y): Metrics.regression(predictions: p, labels: y)
        }
    }
}

/// A slice's metrics: its rows, whether it is large enough to be gated, the values, and
/// bootstrap confidence intervals when asked for.
public struct SliceMetrics: Sendable, Codable, Equatable {
    public let slice: String
    public let size: Int
    /// False below `evaluation.min_slice_size`: reported, not gated (`overall` always is).
    public let gated: Bool
    public let metrics: MetricSet
    /// The central 95% of each metric over the bootstrap samples.
    public let intervals: [String: ConfidenceInterval]?

    public init(slice: String, size: Int, gated: Bool, metrics: MetricSet, intervals: [String: ConfidenceInterval]?) {
        self.slice = slice
        self.size = size
        self.gated = gated
        self.metrics = metrics
        self.intervals = intervals
    }
}

public struct ConfidenceInterval: Sendable, Codable, Equatable {
    public let lower: Double
    public let upper: Double
}

public enum Evaluation {
    /// Metrics for every slice. With `bootstrapSamples` > 0, each gated slice's rows are
    /// resampled with replacement that many times from a SplitMix64 stream seeded with `seed`
    /// (the same intervals on every machine), and each metric's 2.5th and 97.5th percentiles
    /// (over the samples where it is defined) are its interval.
    public static func evaluate(
        _ outcomes: Outcomes, slices: [Slicing.Slice], minSliceSize: Int, threshold: Double,
        bootstrapSamples: Int = 0, seed: UInt64 = 0
    ) -> [SliceMetrics] {
        slices.map { slice in
            let part = outcomes.subset(slice.rows)
            let gated = slice.name == Slicing.overall || slice.rows.count >= minSliceSize
            let metrics = part.metrics(threshold: threshold)
            var intervals: [String: ConfidenceInterval]?
            if bootstrapSamples > 0, gated, !slice.rows.isEmpty {
                intervals = bootstrap(part, samples: bootstrapSamples, seed: seed, threshold: threshold)
            }
            return SliceMetrics(
                slice: slice.name, size: slice.rows.count, gated: gated, metrics: metrics, intervals: intervals)
        }
    }

    static func bootstrap(_ outcomes: Outcomes, samples: Int, seed: UInt64, threshold: Double) -> [String:
        ConfidenceInterval]
    {
        var random = SplitMix64(seed: seed)
        let count = outcomes.count
        var draws: [String: [Double]] = [:]
        for _ in 0..<samples {
            let rows = (0..<count).map { _ in random.int(in: 0...(count - 1)) }
            for (name, value) in outcomes.subset(rows).metrics(threshold: threshold).values where value.isFinite {
                draws[name, default: []].append(value)
            }
        }
        var intervals: [String: ConfidenceInterval] = [:]
        for (name, values) in draws where name != "example_count" {
            let sorted = values.sorted()
            intervals[name] = ConfidenceInterval(
                lower: percentile(sorted, 0.025), upper: percentile(sorted, 0.975))
        }
        return intervals
    }

    /// Linear interpolation between closest ranks (numpy's default).
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = fraction * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
