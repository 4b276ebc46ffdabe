import Foundation
import MLOpsCore
import Yams

// The `trainer` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum TaskKind: String, Sendable, Codable, CaseIterable {
    case auto, binary, multiclass, regression
}

public enum BoosterKind: String, Sendable, Codable, CaseIterable { case gbtree, gblinear }
public enum MissingLabelPolicy: String, Sendable, Codable, CaseIterable { case fail, drop }

/// Where the trainer's hyperparameters come from.
public enum HyperparameterSource: Sendable, Hashable, Encodable {
    /// Given inline in `trainer.hyperparameters`.
    case inline(OrderedPairs<ParameterValue>)
    /// The best trial of the Tuner in the same run (`hyperparameters: from_tuner`).
    case fromTuner
    /// A JSON or YAML file of hyperparameters, e.g. saved from an earlier tuning run.
    case file(String)

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .inline(let pairs): try pairs.encode(to: encoder)
        case .fromTuner:
            var container = encoder.singleValueContainer()
            try container.encode("from_tuner")
        case .file(let path):
            var container = encoder.singleValueContainer()
            try container.encode(["file": path])
        }
    }
}

/// A hyperparameter value as written: an integer, a number or a string.
/// One XGBoost hyperparameter: its name and value, applied in the order configured. In a
/// cache key it is the string `name=value`, as it has always been written there, so keys made
/// before it was typed still match.
public struct Hyperparameter: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let value: ParameterValue

    public init(_ name: String, _ value: ParameterValue) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let equals = text.firstIndex(of: "=") else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not name=value"))
        }
        self.init(String(text[..<equals]), ParameterValue(text: String(text[text.index(after: equals)...])))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)

    init(_ scalar: Node.Scalar) {
        let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
        self = quoted ? .string(scalar.string) : ParameterValue(text: scalar.string)
    }

    /// A value written as text: a number when it reads as one.
    public init(text: String) {
        if let value = Int(text) {
            self = .int(value)
        } else if let value = Double(text), value.isFinite {
            self = .double(value)
        } else {
            self = .string(text)
        }
    }

    /// The text XGBoost's `XGBoosterSetParam` takes.
    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .double(let value): "\(value)"
        case .string(let value): value
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}

extension OrderedPairs: Hashable, Equatable where Value: Hashable {
    public static func == (a: OrderedPairs, b: OrderedPairs) -> Bool {
        a.pairs.count == b.pairs.count
            && zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.name)
            hasher.combine(pair.value)
        }
    }
}

public struct TrainerSection: ConfigSection {
    /// The label column (raw or derived in `transform.derive`).
    public var label: String
    public var task: TaskKind
    /// XGBoost objective; nil means the task's default (binary:logistic, multi:softprob, reg:squarederror).
    public var objective: String?
    public var booster: BoosterKind
    public var rounds: Int
    public var earlyStoppingRounds: Int?
    /// Number of classes for multiclass; nil means count them in the training data.
    public var numClass: Int?
    /// XGBoost threads; 0 means the cores available.
    public var threads: Int
    public var seed: Int
    public var evalMetric: String?
    public var hyperparameters: HyperparameterSource
    /// An external trainer command, run with `MLOPS_FN_ARGS` pointing at its inputs.
    public var command: String?
    public var timeoutSeconds: Int
    public var missingLabel: MissingLabelPolicy

    public enum Key: String, ConfigKey {
        case label, task, objective, booster, rounds, earlyStoppingRounds = "early_stopping_rounds"
        case numClass = "num_class", threads = "nthread", seed, evalMetric = "eval_metric", hyperparameters
        case command, timeoutSeconds = "timeout_seconds", missingLabel = "missing_label"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        f.requirePresent(.label, what: "the column the model predicts")
        label = f.string(.label) ?? ""
        task = f.choice(.task, default: .auto)
        objective = f.string(.objective)
        if let objective, !XGBoostNames.objectives.contains(objective), let node = f.value(.objective) {
            let hint = Suggestions.nearest(to: objective, in: XGBoostNames.objectives).map { "did you mean '\($0)'?" }
            f.reader.report(node, f.keyPath(.objective), "unknown XGBoost objective '\(objective)'", hint: hint)
        }
        booster = f.choice(.booster, default: .gbtree)
        rounds = f.int(.rounds, default: 100, in: 1...100_000)
        earlyStoppingRounds = f.optionalInt(.earlyStoppingRounds, in: 1...100_000)
        numClass = f.optionalInt(.numClass, in: 2...100_000)
        threads = f.int(.threads, default: 0, in: 0...1024)
        seed = f.int(.seed, default: 0, in: 0...Int(Int32.max))
        evalMetric = f.string(.evalMetric)
        if let metric = evalMetric, !XGBoostNames.evalMetrics.contains(metric), let node = f.value(.evalMetric) {
            let hint = Suggestions.nearest(to: metric, in: XGBoostNames.evalMetrics).map { "did you mean '\($0)'?" }
            f.reader.report(node, f.keyPath(.evalMetric), "unknown XGBoost eval_metric '\(metric)'", hint: hint)
        }
        hyperparameters = Self.hyperparameters(f)
        command = f.string(.command)
        timeoutSeconds = f.int(.timeoutSeconds, default: 3600, in: 1...604_800)
        missingLabel = f.choice(.missingLabel, default: .fail)
    }

    private static func hyperparameters(_ f: Fields<Key>) -> HyperparameterSource {
        guard let node = f.value(.hyperparameters) else { return .inline(OrderedPairs()) }
        let path = f.keyPath(.hyperparameters)
        if case .scalar(let scalar) = node {
            if scalar.string == "from_tuner" { return .fromTuner }
            f.reader.report(
                node, path, "'\(path)' must be a mapping of XGBoost parameters, from_tuner, or {file: PATH}")
            return .inline(OrderedPairs())
        }
        guard let pairs = ConfigValue.pairs(node, f.reader, path) else { return .inline(OrderedPairs()) }
        if pairs.count == 1, pairs[0].name == "file" {
            guard let file = ConfigValue.string(pairs[0].value, f.reader, path + ".file") else {
                return .inline(OrderedPairs())
            }
            if let problem = PathPattern.problem(file) {
                f.reader.report(pairs[0].value, path + ".file", "hyperparameters file '\(file)' \(problem)")
            } else if let root = f.reader.root,
                !FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path)
            {
                f.reader.report(
                    pairs[0].value, path + ".file", "hyperparameters file '\(file)' does not exist",
                    hint: "save the Tuner's best_hyperparameters.json there (docs/tuner.md)")
            }
            return .file(file)
        }
        return .inline(OrderedPairs(parameterValues(pairs, f.reader, path)))
    }

    /// XGBoost parameters from a mapping: known names, single values; `num_boost_round` and
    /// the like are refused with the key that sets them.
    static func parameterValues(
        _ pairs: [(name: String, keyNode: Node, value: Node)], _ reader: ConfigReader, _ path: String
    ) -> [(name: String, value: ParameterValue)] {
        var values: [(name: String, value: ParameterValue)] = []
        for pair in pairs {
            let keyPath = ConfigReader.join(path, pair.name)
            if let reserved = XGBoostNames.reservedParameters[pair.name] {
                reader.report(pair.keyNode, keyPath, "'\(pair.name)' is set by '\(reserved)', not in hyperparameters")
                continue
            }
            if !XGBoostNames.parameters.contains(pair.name) {
                let hint = Suggestions.nearest(to: pair.name, in: XGBoostNames.parameters).map {
                    "did you mean '\($0)'?"
                }
                reader.report(pair.keyNode, keyPath, "unknown XGBoost parameter '\(pair.name)'", hint: hint)
                continue
            }
            guard case .scalar(let scalar) = pair.value else {
                reader.report(
                    pair.value, keyPath,
                    "'\(keyPath)' must be a single value, found \(ConfigReader.describe(pair.value))")
                continue
            }
            values.append((pair.name, ParameterValue(scalar)))
        }
        return values
    }
}
