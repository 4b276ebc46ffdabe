import Foundation
import MLOpsCore
import Yams

// The schema of `mlops.yaml`, in one place. Each section's `Key` enum lists the YAML
// spellings it accepts (unknown keys are errors with a suggestion); its initializer reads
// and validates the values and supplies the defaults documented in docs/config.md.

// MARK: - pipeline

public struct PipelineSection: ConfigSection {
    public var name: String
    public var description: String?

    public enum Key: String, ConfigKey { case name, description }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        if f.isPresent { f.requirePresent(.name, what: "the pipeline's name, used for artifacts and release bundles") }
        name = f.string(.name) ?? ""
        description = f.string(.description)
        if !name.isEmpty, !Self.isValidName(name), let node = f.value(.name) {
            f.reader.report(
                node, f.keyPath(.name),
                "'\(f.keyPath(.name))' must be a name of lower-case letters, digits, '.', '_' or '-', found '\(name)'",
                hint: "for example 'taxi' or 'churn-model'")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 64 else { return false }
        let allowed = CharacterSet.lowercaseLetters.union(.decimalDigits).union(CharacterSet(charactersIn: "._-"))
        return name.unicodeScalars.allSatisfy { $0.isASCII && allowed.contains($0) }
            && CharacterSet.lowercaseLetters.union(.decimalDigits).contains(first)
    }
}

// MARK: - data

public enum DataFormat: String, Sendable, Codable, CaseIterable { case csv }
public enum BadRowPolicy: String, Sendable, Codable, CaseIterable { case fail, skip }

/// Which spans of a `{SPAN}` pattern to read.
public enum SpanSelection: Sendable, Hashable, Encodable, CustomStringConvertible {
    case latest
    case all
    case single(Int)
    case range(Int, Int)

    public var description: String {
        switch self {
        case .latest: "latest"
        case .all: "all"
        case .single(let span): String(span)
        case .range(let low, let high): "\(low)..\(high)"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let span): try container.encode(span)
        default: try container.encode(description)
        }
    }

    /// `latest`, `all`, a span number or a range `low..high`.
    public init?(_ text: String) {
        if text == "latest" {
            self = .latest
        } else if text == "all" {
            self = .all
        } else if let span = Int(text), span >= 0 {
            self = .single(span)
        } else {
            let bounds = text.components(separatedBy: "..")
            guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high else {
                return nil
            }
            self = .range(low, high)
        }
    }

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> SpanSelection? {
        guard case .scalar(let scalar) = node else {
            reader.report(node, path, "'\(path)' must be latest, all, a span number or a range like 3..5")
            return nil
        }
        let text = scalar.string
        if let selection = SpanSelection(text) { return selection }
        reader.report(
            node, path, "'\(path)' must be latest, all, a span number or a range like 3..5, found '\(text)'")
        return nil
    }
}

public struct DataSection: ConfigSection {
    /// Glob patterns of the input files, relative to the repository root; `{SPAN}` and
    /// `{VERSION}` stand for numbers.
    public var sources: [String]
    public var format: DataFormat
    public var delimiter: String
    public var onBadRows: BadRowPolicy
    public var span: SpanSelection
    /// Named splits with their hash-bucket weights, in order (default train 2 : eval 1).
    public var splits: OrderedPairs<Int>
    /// Split by the hash of this column instead of the whole row (keeps a group on one side).
    public var partitionColumn: String?
    /// Serving data (a glob) to check for training/serving skew.
    public var serving: String?

    public enum Key: String, ConfigKey {
        case sources, format, delimiter, onBadRows = "on_bad_rows", span, splits
        case partitionColumn = "partition_column", serving
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        if f.isPresent {
            f.requirePresent(.sources, what: "the glob patterns of the input CSV files, e.g. [\"data/*.csv\"]")
        }
        sources = f.strings(.sources, default: [])
        if f.has(.sources), sources.isEmpty {
            f.reader.report(f.value(.sources), f.keyPath(.sources), "'data.sources' must name at least one pattern")
        }
        for (index, source) in sources.enumerated() {
            if let problem = PathPattern.problem(source) ?? SpanPattern.problem(source) {
                f.reader.report(f.value(.sources), "data.sources[\(index)]", "data source '\(source)' \(problem)")
            }
        }
        format = f.choice(.format, default: .csv)
        delimiter = f.string(.delimiter, default: ",")
        if delimiter.utf8.count != 1 || delimiter == "\"" || delimiter == "\n" {
            f.reader.report(
                f.value(.delimiter), f.keyPath(.delimiter),
                "'data.delimiter' must be a single ASCII character other than a quote or newline, found '\(delimiter)'")
        }
        onBadRows = f.choice(.onBadRows, default: .fail)
        span = f.value(.span).flatMap { SpanSelection.parse($0, f.reader, f.keyPath(.span)) } ?? .latest
        var splits: [(name: String, value: Int)] = []
        if let pairs = f.pairs(.splits) {
            for pair in pairs {
                let path = f.keyPath(.splits) + "." + pair.name
                // Split names become file names: letters, digits, '_' and '-' only.
                if pair.name.isEmpty
                    || !pair.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                {
                    f.reader.report(
                        pair.keyNode, path, "split name '\(pair.name)' may hold only letters, digits, '_' and '-'")
                    continue
                }
                if let weight = ConfigValue.int(pair.value, f.reader, path, in: 1...1000) {
                    splits.append((pair.name, weight))
                }
            }
            for required in ["train", "eval"]
            where !splits.contains(where: { $0.name == required }) && !pairs.contains(where: { $0.name == required }) {
                f.reader.report(
                    f.value(.splits), f.keyPath(.splits), "'data.splits' must include a '\(required)' split",
                    hint: "for example `splits: {train: 2, eval: 1}`")
            }
        } else {
            splits = [("train", 2), ("eval", 1)]
        }
        self.splits = OrderedPairs(splits)
        partitionColumn = f.string(.partitionColumn)
        serving = f.string(.serving)
        if let serving, let problem = PathPattern.problem(serving) ?? SpanPattern.problem(serving) {
            f.reader.report(f.value(.serving), f.keyPath(.serving), "serving data '\(serving)' \(problem)")
        }
    }
}

/// Checks shared by every path pattern in the configuration.
enum PathPattern {
    /// Why a repository-relative pattern is not acceptable, or nil.
    static func problem(_ pattern: String) -> String? {
        if pattern.isEmpty { return "is empty" }
        if pattern.hasPrefix("/") { return "must be relative to the repository root, not absolute" }
        if pattern.split(separator: "/").contains("..") { return "must stay inside the repository (no '..')" }
        return nil
    }
}

// MARK: - schema

/// `schema: infer` (SchemaGen) or `schema: path/to/schema.pbtxt` (ImportSchemaGen).
public enum SchemaSource: Sendable, Hashable, Encodable {
    case infer
    case file(String)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .infer: try container.encode("infer")
        case .file(let path): try container.encode(path)
        }
    }
}

// MARK: - transform

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

// MARK: - trainer

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
public enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)

    init(_ scalar: Node.Scalar) {
        let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
        self = quoted ? .string(scalar.string) : ParameterValue(text: scalar.string)
    }

    /// A value written as text: a number when it reads as one.
    init(text: String) {
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

// MARK: - tuner

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

// MARK: - evaluation

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
        if !metric.isEmpty, !MetricNames.all.contains(metric), let node = f.value(.metric) {
            let hint =
                Suggestions.nearest(to: metric, in: MetricNames.all).map { "did you mean '\($0)'?" }
                ?? "metrics are: " + MetricNames.all.joined(separator: ", ")
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
        for (index, metric) in metrics.enumerated() where !MetricNames.all.contains(metric) {
            let hint = Suggestions.nearest(to: metric, in: MetricNames.all).map { "did you mean '\($0)'?" }
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

// MARK: - infra

public enum InfraMode: String, Sendable, Codable, CaseIterable {
    case loadOnly = "load_only"
    case loadAndQuery = "load_and_query"
}

public struct InfraSection: ConfigSection {
    public var enabled: Bool
    public var mode: InfraMode
    public var maxLoadingSeconds: Double
    public var numExamples: Int
    public var numTries: Int
    public var maxP99Milliseconds: Double
    /// Largest allowed difference between served and offline predictions.
    public var tolerance: Double

    public enum Key: String, ConfigKey {
        case enabled, mode, maxLoadingSeconds = "max_loading_seconds", numExamples = "num_examples"
        case numTries = "num_tries", maxP99Milliseconds = "max_p99_ms", tolerance
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        enabled = f.bool(.enabled, default: true)
        mode = f.choice(.mode, default: .loadAndQuery)
        maxLoadingSeconds = f.double(.maxLoadingSeconds, default: 30, in: 0.1...3600)
        numExamples = f.int(.numExamples, default: 100, in: 1...1_000_000)
        numTries = f.int(.numTries, default: 3, in: 1...100)
        maxP99Milliseconds = f.double(.maxP99Milliseconds, default: 50, in: 0.001...600_000)
        tolerance = f.double(.tolerance, default: 1e-6, in: 0...1)
    }
}

// MARK: - gates

public enum GateAction: String, Sendable, Codable, CaseIterable {
    case fail, warn, ignore

    /// The action `policy` (finding → action, as `gates.policy`) gives a finding: its reason's
    /// entry, else its category's, else fail; `strict` makes a warning a failure.
    public static func resolve(_ policy: [String: String], reason: String, category: String, strict: Bool)
        -> GateAction
    {
        let named = policy[reason] ?? policy[category]
        let action = named.flatMap(GateAction.init(rawValue:)) ?? .fail
        return strict && action == .warn ? .fail : action
    }
}

public struct GatesSection: ConfigSection {
    /// Finding → action. Keys are TFDV anomaly reason names (e.g. SCHEMA_NEW_COLUMN) or the
    /// categories `anomalies` (every other anomaly), `drift`, `skew`, `metrics`, `infra`.
    public var policy: OrderedPairs<GateAction>
    /// Treat warnings as failures (also `--strict`).
    public var strict: Bool

    public enum Key: String, ConfigKey { case policy, strict }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        var policy: [(name: String, value: GateAction)] = Self.defaults
        for pair in f.pairs(.policy) ?? [] {
            let path = f.keyPath(.policy) + "." + pair.name
            guard GatePolicyNames.all.contains(pair.name) else {
                let hint =
                    Suggestions.nearest(to: pair.name, in: GatePolicyNames.all).map { "did you mean '\($0)'?" }
                    ?? "keys are the categories \(GatePolicyNames.categories.joined(separator: ", ")) or a TFDV anomaly reason"
                f.reader.report(pair.keyNode, path, "unknown gate finding '\(pair.name)'", hint: hint)
                continue
            }
            guard let action = ConfigValue.choice(pair.value, f.reader, path, as: GateAction.self) else { continue }
            if let index = policy.firstIndex(where: { $0.name == pair.name }) {
                policy[index].value = action
            } else {
                policy.append((pair.name, action))
            }
        }
        self.policy = OrderedPairs(policy)
        strict = f.bool(.strict, default: false)
    }

    /// The policy as finding → action name.
    public var actions: [String: String] {
        var actions: [String: String] = [:]
        for pair in policy { actions[pair.name] = pair.value.rawValue }
        return actions
    }

    static let defaults: [(name: String, value: GateAction)] = [
        ("anomalies", .fail), ("drift", .fail), ("skew", .fail), ("metrics", .fail), ("infra", .fail),
    ]
}

// MARK: - release

public struct ReleaseSection: ConfigSection {
    /// Bundle name; nil means the pipeline name.
    public var name: String?
    /// A directory path or file:// URL (MLOPS_REGISTRY overrides).
    public var registry: String
    /// Channels in promotion order.
    public var channels: [String]
    /// An Ed25519 private key: a file path, or `env:VARIABLE`.
    public var signingKey: String?
    /// Public keys (files) that verification accepts.
    public var publicKeys: [String]
    public var compressionLevel: Int

    public enum Key: String, ConfigKey {
        case name, registry, channels, signingKey = "signing_key", publicKeys = "public_keys"
        case compressionLevel = "compression_level"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        name = f.string(.name)
        if let name, !PipelineSection.isValidName(name), let node = f.value(.name) {
            f.reader.report(
                node, f.keyPath(.name),
                "'release.name' must be lower-case letters, digits, '.', '_' or '-', found '\(name)'")
        }
        registry = f.string(.registry, default: ".mlops/registry")
        channels = f.strings(.channels, default: ["staging", "production"])
        if f.has(.channels), channels.isEmpty {
            f.reader.report(
                f.value(.channels), f.keyPath(.channels), "'release.channels' must name at least one channel")
        }
        if Set(channels).count != channels.count {
            f.reader.report(f.value(.channels), f.keyPath(.channels), "'release.channels' lists a channel twice")
        }
        for channel in channels where !PipelineSection.isValidName(channel) {
            f.reader.report(
                f.value(.channels), f.keyPath(.channels),
                "channel name '\(channel)' must be lower-case letters, digits, '.', '_' or '-'")
        }
        signingKey = f.string(.signingKey)
        publicKeys = f.strings(.publicKeys, default: [])
        // zstd's default level; 19 compresses a 190 MB model 160 times slower for 17% less (bench/release).
        compressionLevel = f.int(.compressionLevel, default: 3, in: 1...22)
    }
}

// MARK: - paths

public struct PathsSection: ConfigSection {
    public var data: [String]
    public var code: [String]
    public var config: [String]
    public var schema: [String]

    public enum Key: String, ConfigKey { case data, code, config, schema }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        data = f.strings(.data, default: [])
        code = f.strings(.code, default: [])
        config = f.strings(.config, default: [])
        schema = f.strings(.schema, default: [])
        for (key, patterns) in [(Key.data, data), (.code, code), (.config, config), (.schema, schema)] {
            for pattern in patterns {
                if let problem = PathPattern.problem(pattern) {
                    f.reader.report(f.value(key), f.keyPath(key), "path pattern '\(pattern)' \(problem)")
                }
            }
        }
    }
}

// MARK: - tests

/// A user test command run by `mlops test` (e.g. `pytest -q`).
public struct TestCommand: Sendable, Hashable, Encodable {
    public var name: String
    public var run: String
    public var timeoutSeconds: Int

    enum Key: String, ConfigKey { case name, run, timeoutSeconds = "timeout_seconds" }
    typealias CodingKeys = Key

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> TestCommand? {
        if case .scalar(let scalar) = node {
            return TestCommand(name: scalar.string, run: scalar.string, timeoutSeconds: 600)
        }
        let f = Fields<Key>(reader, path: path, node: node)
        f.requirePresent(.run, what: "the command line to run")
        guard let run = f.string(.run) else { return nil }
        return TestCommand(
            name: f.string(.name, default: run), run: run,
            timeoutSeconds: f.int(.timeoutSeconds, default: 600, in: 1...86_400))
    }
}
