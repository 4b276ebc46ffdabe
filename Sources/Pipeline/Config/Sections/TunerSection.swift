import Foundation
import MLOpsCore
import Yams

// The `tuner` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum SearchStrategy: String, Sendable, Codable, CaseIterable { case grid, random }
public enum OptimizationDirection: String, Sendable, Codable, CaseIterable { case maximize, minimize }

/// One hyperparameter's search range.
public enum SearchDimension: Sendable, Hashable, Encodable {
    case int(min: Int, max: Int, log: Bool)
    case float(min: Double, max: Double, log: Bool)
    case choice([String])

    enum Key: String, ConfigKey { case type, min, max, log, values }
    enum Kind: String, CaseIterable { case int, float, choice }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .int(let min, let max, let log):
            try container.encode("int", forKey: .type)
            try container.encode(min, forKey: .min)
            try container.encode(max, forKey: .max)
            try container.encode(log, forKey: .log)
        case .float(let min, let max, let log):
            try container.encode("float", forKey: .type)
            try container.encode(min, forKey: .min)
            try container.encode(max, forKey: .max)
            try container.encode(log, forKey: .log)
        case .choice(let values):
            try container.encode("choice", forKey: .type)
            try container.encode(values, forKey: .values)
        }
    }

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> SearchDimension? {
        let f = Fields<Key>(reader, path: path, node: node)
        guard f.isPresent else {
            reader.report(node, path, "'\(path)' needs a type (int, float or choice) and its range")
            return nil
        }
        f.requirePresent(.type, what: "int, float or choice")
        guard let kind = f.value(.type).flatMap({ ConfigValue.choice($0, reader, f.keyPath(.type), as: Kind.self) })
        else {
            return nil
        }
        let log = f.bool(.log, default: false)
        switch kind {
        case .int:
            f.requirePresent(.min, what: "the smallest value")
            f.requirePresent(.max, what: "the largest value")
            // XGBoost's integer parameters are small; the bounds keep range arithmetic exact.
            let low = f.int(.min, default: 0, in: -1_000_000_000...1_000_000_000)
            let high = f.int(.max, default: low, in: -1_000_000_000...1_000_000_000)
            if low > high { reader.report(node, path, "'\(path)' min (\(low)) is above its max (\(high))") }
            if log && low <= 0 { reader.report(node, path, "'\(path)' uses log scale, so min must be above 0") }
            return .int(min: low, max: high, log: log)
        case .float:
            f.requirePresent(.min, what: "the smallest value")
            f.requirePresent(.max, what: "the largest value")
            let low = f.double(.min, default: 0)
            let high = f.double(.max, default: low)
            if low > high { reader.report(node, path, "'\(path)' min (\(low)) is above its max (\(high))") }
            if log && low <= 0 { reader.report(node, path, "'\(path)' uses log scale, so min must be above 0") }
            return .float(min: low, max: high, log: log)
        case .choice:
            f.requirePresent(.values, what: "the values to try")
            let values = f.strings(.values, default: [])
            if f.has(.values), values.isEmpty { reader.report(node, path, "'\(path).values' must not be empty") }
            return .choice(values)
        }
    }
}

public struct TunerSection: ConfigSection {
    public var strategy: SearchStrategy
    public var trials: Int
    public var seed: Int
    /// Trials run at once; 0 means the cores available.
    public var parallel: Int
    /// The eval-split metric to optimize; nil means the task's default (AUC, log loss, RMSE).
    public var metric: String?
    public var direction: OptimizationDirection?
    public var searchSpace: OrderedPairs<SearchDimension>

    public enum Key: String, ConfigKey {
        case strategy, trials, seed, parallel, metric, direction, searchSpace = "search_space"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        strategy = f.choice(.strategy, default: .random)
        trials = f.int(.trials, default: 20, in: 1...10_000)
        seed = f.int(.seed, default: 0, in: 0...Int(Int32.max))
        parallel = f.int(.parallel, default: 0, in: 0...1024)
        metric = f.string(.metric)
        if let metric, !XGBoostNames.evalMetrics.contains(metric), let node = f.value(.metric) {
            let hint = Suggestions.nearest(to: metric, in: XGBoostNames.evalMetrics).map { "did you mean '\($0)'?" }
            f.reader.report(node, f.keyPath(.metric), "unknown metric '\(metric)'", hint: hint)
        }
        direction = f.value(.direction).flatMap {
            ConfigValue.choice($0, f.reader, f.keyPath(.direction), as: OptimizationDirection.self)
        }
        var dimensions: [(name: String, value: SearchDimension)] = []
        for pair in f.pairs(.searchSpace) ?? [] {
            let path = f.keyPath(.searchSpace) + "." + pair.name
            if let reserved = XGBoostNames.reservedParameters[pair.name] {
                f.reader.report(pair.keyNode, path, "'\(pair.name)' is set by '\(reserved)', not searched")
                continue
            }
            if !XGBoostNames.parameters.contains(pair.name) {
                let hint = Suggestions.nearest(to: pair.name, in: XGBoostNames.parameters).map {
                    "did you mean '\($0)'?"
                }
                f.reader.report(
                    pair.keyNode, path, "unknown XGBoost parameter '\(pair.name)' in the search space", hint: hint)
                continue
            }
            if let dimension = SearchDimension.parse(pair.value, f.reader, path) {
                dimensions.append((pair.name, dimension))
            }
        }
        searchSpace = OrderedPairs(dimensions)
        if f.isPresent, !f.has(.searchSpace) {
            f.reader.report(
                f.node, f.keyPath(.searchSpace),
                "missing required key 'tuner.search_space': the hyperparameters to search",
                hint: "for example `search_space: {max_depth: {type: int, min: 3, max: 8}}`")
        }
    }
}
