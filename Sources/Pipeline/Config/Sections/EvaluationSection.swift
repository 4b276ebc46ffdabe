import Foundation
import MLOpsCore
import Yams

// The `evaluation` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum BaselineChoice: String, Sendable, Codable, CaseIterable {
    /// The bundle in the production channel, else the latest blessed model from the merge-base, else none.
    case auto
    case production
    case latestBlessed = "latest-blessed"
    case none
}

public enum ChangeDirection: String, Sendable, Codable, CaseIterable {
    case higherIsBetter = "higher_is_better"
    case lowerIsBetter = "lower_is_better"
}

/// A slice of the eval rows: one or more features' values, or buckets of a numeric feature.
public struct SliceSpec: Sendable, Hashable, Encodable {
    public var features: [String]
    /// Bucket edges for a numeric feature (only with a single feature).
    public var buckets: [Double]?

    public init(features: [String], buckets: [Double]? = nil) {
        self.features = features
        self.buckets = buckets
    }

    enum Key: String, ConfigKey { case feature, features, buckets }

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> SliceSpec? {
        let f = Fields<Key>(reader, path: path, node: node)
        guard f.isPresent else {
            reader.report(
                node, path, "'\(path)' must be {feature: NAME}, {features: [A, B]} or {feature: NAME, buckets: [EDGES]}"
            )
            return nil
        }
        var features: [String] = []
        if let single = f.string(.feature) { features.append(single) }
        features += f.strings(.features, default: [])
        if features.isEmpty {
            reader.report(node, path, "'\(path)' must name a feature or features")
            return nil
        }
        var buckets: [Double]?
        if let list = f.list(.buckets) {
            let edges = list.enumerated().compactMap {
                ConfigValue.double($1, reader, "\(path).buckets[\($0)]", in: -.infinity...(.infinity))
            }
            if edges.count < 1 || edges != edges.sorted() || Set(edges).count != edges.count {
                reader.report(f.value(.buckets), path + ".buckets", "'\(path).buckets' must be increasing bucket edges")
            }
            if features.count != 1 {
                reader.report(f.value(.buckets), path + ".buckets", "buckets apply to a single numeric feature")
            }
            buckets = edges
        }
        return SliceSpec(features: features, buckets: buckets)
    }
}

/// A metric threshold, TFMA's model: a value bound and/or a change bound against the baseline.
public struct ThresholdSpec: Sendable, Hashable, Encodable {
    public struct Change: Sendable, Hashable, Encodable {
        public var direction: ChangeDirection
        public var absolute: Double?
        public var relative: Double?

        public init(direction: ChangeDirection, absolute: Double? = nil, relative: Double? = nil) {
            self.direction = direction
            self.absolute = absolute
            self.relative = relative
        }
    }

    public var metric: String
    /// `overall`, a slice like `payment_type=Cash`, or `*` for every slice.
    public var slice: String
    public var lowerBound: Double?
    public var upperBound: Double?
    public var change: Change?

    public init(
        metric: String, slice: String = "overall", lowerBound: Double? = nil, upperBound: Double? = nil,
        change: Change? = nil
    ) {
        self.metric = metric
        self.slice = slice
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.change = change
    }

    enum Key: String, ConfigKey { case metric, slice, lowerBound = "lower_bound", upperBound = "upper_bound", change }
    enum ChangeKey: String, ConfigKey { case direction, absolute, relative }
    typealias CodingKeys = Key

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> ThresholdSpec? {
        let f = Fields<Key>(reader, path: path, node: node)
        guard f.isPresent else {
            reader.report(node, path, "'\(path)' must be a mapping with a metric and its bounds")
            return nil
        }
        f.requirePresent(.metric, what: "the metric this threshold applies to")
        let metric = f.string(.metric) ?? ""
        if !metric.isEmpty, !MetricName.names.contains(metric), let node = f.value(.metric) {
            let hint =
                Suggestions.nearest(to: metric, in: MetricName.names).map { "did you mean '\($0)'?" }
                ?? "metrics are: " + MetricName.names.joined(separator: ", ")
            reader.report(node, f.keyPath(.metric), "unknown metric '\(metric)'", hint: hint)
        }
        let lower = f.optionalDouble(.lowerBound)
        let upper = f.optionalDouble(.upperBound)
        if let lower, let upper, lower > upper {
            reader.report(node, path, "'\(path)' lower_bound (\(lower)) is above its upper_bound (\(upper))")
        }
        var change: Change?
        if let changeNode = f.value(.change) {
            let c = Fields<ChangeKey>(reader, path: f.keyPath(.change), node: changeNode)
            c.requirePresent(.direction, what: "higher_is_better or lower_is_better")
            let direction = c.choice(.direction, default: ChangeDirection.higherIsBetter)
            let absolute = c.optionalDouble(.absolute)
            let relative = c.optionalDouble(.relative)
            if absolute == nil && relative == nil {
                reader.report(
                    changeNode, f.keyPath(.change), "'\(f.keyPath(.change))' needs an absolute or relative bound")
            }
            change = Change(direction: direction, absolute: absolute, relative: relative)
        }
        if lower == nil && upper == nil && change == nil {
            reader.report(node, path, "'\(path)' sets no bound: give lower_bound, upper_bound or change")
        }
        return ThresholdSpec(
            metric: metric, slice: f.string(.slice, default: "overall"), lowerBound: lower, upperBound: upper,
            change: change)
    }
}

public struct EvaluationSection: ConfigSection {
    /// Metrics to compute; empty means the task's standard set.
    public var metrics: [String]
    public var decisionThreshold: Double
    public var slices: [SliceSpec]
    /// Slices with fewer eval rows are reported but not gated.
    public var minSliceSize: Int
    public var thresholds: [ThresholdSpec]
    public var baseline: BaselineChoice
    /// Without thresholds a gate blesses nothing, unless this is true.
    public var allowNoThresholds: Bool
    /// Bootstrap resamples for confidence intervals (0 = off).
    public var bootstrapSamples: Int
    public var seed: Int

    public enum Key: String, ConfigKey {
        case metrics, decisionThreshold = "decision_threshold", slices, minSliceSize = "min_slice_size", thresholds
        case baseline, allowNoThresholds = "allow_no_thresholds", bootstrapSamples = "bootstrap_samples", seed
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        metrics = f.strings(.metrics, default: [])
        for (index, metric) in metrics.enumerated() where !MetricName.names.contains(metric) {
            let hint = Suggestions.nearest(to: metric, in: MetricName.names).map { "did you mean '\($0)'?" }
            f.reader.report(f.value(.metrics), "evaluation.metrics[\(index)]", "unknown metric '\(metric)'", hint: hint)
        }
        decisionThreshold = f.double(.decisionThreshold, default: 0.5, in: 0...1)
        slices = (f.list(.slices) ?? []).enumerated().compactMap {
            SliceSpec.parse($1, f.reader, "evaluation.slices[\($0)]")
        }
        minSliceSize = f.int(.minSliceSize, default: 30, in: 1...Int.max)
        thresholds = (f.list(.thresholds) ?? []).enumerated().compactMap {
            ThresholdSpec.parse($1, f.reader, "evaluation.thresholds[\($0)]")
        }
        baseline = f.choice(.baseline, default: .auto)
        allowNoThresholds = f.bool(.allowNoThresholds, default: false)
        bootstrapSamples = f.int(.bootstrapSamples, default: 0, in: 0...100_000)
        seed = f.int(.seed, default: 0, in: 0...Int(Int32.max))
    }
}
