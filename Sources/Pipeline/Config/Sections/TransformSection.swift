import Foundation
import MLOpsCore
import Yams

// The `transform` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

/// One step of a feature's transform, applied in order.
public enum TransformStep: Sendable, Hashable, Encodable {
    public enum Fill: Sendable, Hashable {
        case mean, median, mostFrequent
        case constant(String)
    }

    case fillMissing(Fill)
    case zscore
    case scaleToUnit
    case log1p
    case clip(min: Double?, max: Double?)
    case bucketize(buckets: Int)
    /// `allowNumbers` lets a numeric column's values be categories (area codes, say); without
    /// it a vocabulary on numbers is refused as a likely mistake.
    case vocabulary(topK: Int?, oovBuckets: Int, minFrequency: Int, allowNumbers: Bool)
    case oneHot
    case drop

    static let names = [
        "fill_missing", "zscore", "scale_to_0_1", "log1p", "clip", "bucketize", "vocabulary", "one_hot", "drop",
    ]

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .zscore: try single.encode("zscore")
        case .scaleToUnit: try single.encode("scale_to_0_1")
        case .log1p: try single.encode("log1p")
        case .oneHot: try single.encode("one_hot")
        case .drop: try single.encode("drop")
        case .fillMissing(let fill):
            switch fill {
            case .mean: try single.encode(["fill_missing": "mean"])
            case .median: try single.encode(["fill_missing": "median"])
            case .mostFrequent: try single.encode(["fill_missing": "most_frequent"])
            case .constant(let value): try single.encode(["fill_missing": ["constant": value]])
            }
        case .clip(let min, let max):
            try single.encode(["clip": ClipSettings(min: min, max: max)])
        case .bucketize(let buckets): try single.encode(["bucketize": ["buckets": buckets]])
        case .vocabulary(let topK, let oov, let minFrequency, let allowNumbers):
            // `allow_numbers` is written only when set, so earlier transforms keep their keys.
            try single.encode([
                "vocabulary": VocabularySettings(
                    topK: topK, oovBuckets: oov, minFrequency: minFrequency, allowNumbers: allowNumbers ? true : nil)
            ])
        }
    }

    /// Settings printed in a fixed key order (a dictionary's order is not stable).
    struct ClipSettings: Encodable {
        let min: Double?
        let max: Double?
    }

    struct VocabularySettings: Encodable {
        let topK: Int?
        let oovBuckets: Int
        let minFrequency: Int
        let allowNumbers: Bool?
        enum CodingKeys: String, CodingKey {
            case topK = "top_k", oovBuckets = "oov_buckets", minFrequency = "min_frequency"
            case allowNumbers = "allow_numbers"
        }
    }

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> TransformStep? {
        var name: String
        var argument: Node?
        switch node {
        case .scalar(let scalar):
            name = scalar.string
        case .mapping(let mapping) where mapping.count == 1:
            guard case .scalar(let key) = mapping[mapping.startIndex].key else { return nil }
            name = key.string
            argument = mapping[mapping.startIndex].value
        default:
            reader.report(node, path, "'\(path)' must be a step name like zscore, or one `step: settings` pair")
            return nil
        }
        switch name {
        case "zscore": return .zscore
        case "scale_to_0_1": return .scaleToUnit
        case "log1p": return .log1p
        case "one_hot": return .oneHot
        case "drop": return .drop
        case "fill_missing":
            guard let argument else {
                reader.report(
                    node, path, "'fill_missing' needs a strategy: mean, median, most_frequent or {constant: VALUE}")
                return nil
            }
            if case .scalar(let scalar) = argument {
                switch scalar.string {
                case "mean": return .fillMissing(.mean)
                case "median": return .fillMissing(.median)
                case "most_frequent": return .fillMissing(.mostFrequent)
                default: break
                }
            }
            let fields = Fields<FillKey>(reader, path: path + ".fill_missing", node: argument)
            if case .mapping = argument, let value = fields.string(.constant) { return .fillMissing(.constant(value)) }
            reader.report(
                argument, path + ".fill_missing",
                "'fill_missing' must be mean, median, most_frequent or {constant: VALUE}, found \(ConfigReader.describe(argument))"
            )
            return nil
        case "clip":
            let fields = Fields<ClipKey>(reader, path: path + ".clip", node: argument)
            let low = fields.optionalDouble(.min)
            let high = fields.optionalDouble(.max)
            if low == nil && high == nil {
                reader.report(argument ?? node, path + ".clip", "'clip' needs a min, a max or both")
                return nil
            }
            if let low, let high, low > high {
                reader.report(argument ?? node, path + ".clip", "'clip' min (\(low)) is above its max (\(high))")
            }
            return .clip(min: low, max: high)
        case "bucketize":
            let fields = Fields<BucketizeKey>(reader, path: path + ".bucketize", node: argument)
            return .bucketize(buckets: fields.int(.buckets, default: 10, in: 2...1000))
        case "vocabulary":
            let fields = Fields<VocabularyKey>(reader, path: path + ".vocabulary", node: argument)
            return .vocabulary(
                topK: fields.optionalInt(.topK, in: 1...1_000_000),
                oovBuckets: fields.int(.oovBuckets, default: 1, in: 0...1000),
                minFrequency: fields.int(.minFrequency, default: 1, in: 1...Int.max),
                allowNumbers: fields.bool(.allowNumbers, default: false))
        default:
            let hint =
                Suggestions.nearest(to: name, in: names).map { "did you mean '\($0)'?" }
                ?? "steps are: " + names.joined(separator: ", ")
            reader.report(node, path, "unknown transform step '\(name)'", hint: hint)
            return nil
        }
    }

    enum FillKey: String, ConfigKey { case constant }
    enum ClipKey: String, ConfigKey { case min, max }
    enum BucketizeKey: String, ConfigKey { case buckets }
    enum VocabularyKey: String, ConfigKey {
        case topK = "top_k", oovBuckets = "oov_buckets", minFrequency = "min_frequency"
        case allowNumbers = "allow_numbers"
    }
}

public struct TransformSection: ConfigSection {
    /// Derived columns, in order: `name: expression` (e.g. `big_tipper: tips > 0.2 * fare`).
    public var derive: OrderedPairs<String>
    /// Per-feature steps, in order. Features not listed pass through unchanged.
    public var features: OrderedPairs<[TransformStep]>
    /// Raw columns present only in training data (the label's sources): serving does not require them.
    public var trainingOnly: [String]

    public enum Key: String, ConfigKey { case derive, features, trainingOnly = "training_only" }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        var derived: [(name: String, value: String)] = []
        for pair in f.pairs(.derive) ?? [] {
            let path = f.keyPath(.derive) + "." + pair.name
            if let expression = ConfigValue.string(pair.value, f.reader, path) {
                if expression.trimmingCharacters(in: .whitespaces).isEmpty {
                    f.reader.report(pair.value, path, "'\(path)' is an empty expression")
                } else {
                    do {
                        _ = try Expression.parse(expression)
                    } catch {
                        f.reader.report(
                            pair.value, path, "in '\(path)': \(error.message)", offset: error.column - 1)
                    }
                }
                derived.append((pair.name, expression))
            }
        }
        derive = OrderedPairs(derived)
        var features: [(name: String, value: [TransformStep])] = []
        for pair in f.pairs(.features) ?? [] {
            let path = f.keyPath(.features) + "." + pair.name
            var steps: [TransformStep] = []
            switch pair.value {
            case .sequence(let sequence):
                for (index, item) in sequence.enumerated() {
                    if let step = TransformStep.parse(item, f.reader, "\(path)[\(index)]") { steps.append(step) }
                }
            default:
                if let step = TransformStep.parse(pair.value, f.reader, path) { steps.append(step) }
            }
            features.append((pair.name, steps))
        }
        self.features = OrderedPairs(features)
        trainingOnly = f.strings(.trainingOnly, default: [])
    }
}
