import Foundation
import MLOpsCore
import Tabular

/// A transform fitted on the train split: derived columns, then each feature's steps with the
/// analyzers' results (means, quantile boundaries, vocabularies) fixed. Saved as
/// `transform.json` (docs/transform.md) and applied by ``apply(to:)``, the one code path for
/// training, evaluation, a served row and bulk inference.
public struct FittedTransform: Sendable, Codable, Equatable {
    public static let format = "mlops.transform/v1"

    /// A raw column the transform reads.
    public struct Input: Sendable, Codable, Equatable {
        public let name: String
        public let type: FeatureType
        /// Only in training data (the label and what it is derived from): serving omits it.
        public let trainingOnly: Bool

        enum CodingKeys: String, CodingKey { case name, type, trainingOnly = "training_only" }
    }

    public struct Derived: Sendable, Codable, Equatable {
        public let name: String
        public let expression: String
        /// `number`, `boolean` (1 or 0) or `text`.
        public let type: String
    }

    /// A step with what its analyzer learned.
    public enum Step: Sendable, Codable, Equatable {
        case fillNumber(Double)
        case fillText(String)
        case zscore(mean: Double, std: Double)
        case scale(min: Double, max: Double)
        case log1p
        case clip(min: Double?, max: Double?)
        /// Bucket `i` holds values in [boundaries[i-1], boundaries[i]); below the first is 0.
        case bucketize(boundaries: [Double])
        /// Index of the value in `values`; an unknown value goes to one of `oovBuckets`
        /// buckets after them (by FNV-1a of its bytes), or is missing when there are none.
        case vocabulary(values: [String], oovBuckets: Int)
        /// One 0/1 column per vocabulary index (the vocabulary step's size).
        case oneHot(size: Int)
    }

    public struct Feature: Sendable, Codable, Equatable {
        /// The column it starts from (raw or derived).
        public let source: String
        public let steps: [Step]
        /// The names of the columns it gives: its name, or `name=value` per one-hot column.
        public let outputs: [String]
    }

    public let format: String
    public let inputs: [Input]
    public let derived: [Derived]
    public let features: [Feature]
    /// The label column (raw or derived), not among the features; nil without a trainer.
    public let label: String?
    /// A text label's classes in byte order (from the train split): the label is the index.
    public let labelValues: [String]?

    enum CodingKeys: String, CodingKey {
        case format, inputs, derived, features, label, labelValues = "label_values"
    }

    /// The model's feature names, in order.
    public var featureNames: [String] { features.flatMap(\.outputs) }

    /// The raw columns a row must have to be transformed: those a feature starts from or a
    /// derived feature reads, less the training-only ones. A dropped column is not needed.
    public var neededInputs: [Input] {
        var used = Set(features.map(\.source))
        // Derived columns in reverse order: one used by a feature makes its inputs used too.
        for item in derived.reversed() where used.contains(item.name) {
            if let expression = try? Expression.parse(item.expression) { used.formUnion(expression.columns) }
        }
        return inputs.filter { !$0.trainingOnly && used.contains($0.name) }
    }

    // MARK: - Applying

    /// The features of every row of `table`, row-major (`rows × featureNames.count`), as
    /// 32-bit floats with NaN for missing, the way XGBoost takes them; and, with `label`, the
    /// label as doubles when `table` has what it needs. Columns only training has may be
    /// absent. Without `label` (serving), derived columns no feature reads are not computed.
    /// A large table is transformed a feature per core; a small one (a served request) on
    /// the calling thread.
    public func apply(to table: DataTable, label withLabel: Bool = true) throws(TransformError) -> (
        features: [Float], label: [Double]?
    ) {
        // Serving has checked its rows' columns against the needed inputs already (which parses
        // the derived expressions: not once per request).
        if withLabel {
            for input in neededInputs where table.column(input.name) == nil {
                throw TransformError(.missingInput(input.name, available: table.columns.map(\.name)))
            }
        }
        var computed: [String: Expression.Values] = [:]
        var extended = table
        let sources = Set(features.map(\.source))
        for derived in derived where withLabel || sources.contains(derived.name) {
            let expression: Expression
            do { expression = try Expression.parse(derived.expression) } catch {
                throw TransformError(.badExpression(derived.name, error))
            }
            // A derived column that reads a training-only column is itself training-only.
            guard expression.columns.allSatisfy({ extended.column($0) != nil }) else { continue }
            let values = expression.evaluate(on: extended)
            computed[derived.name] = values
            extended = extended.adding(values.column(named: derived.name))
        }
        let rows = table.rowCount
        let width = featureNames.count
        var inputs: [Source] = []
        var offsets: [Int] = []
        var offset = 0
        for feature in features {
            if let values = computed[feature.source] {
                inputs.append(.values(values))
            } else if let column = table.column(feature.source) {
                inputs.append(.column(column))
            } else {
                throw TransformError(.missingInput(feature.source, available: table.columns.map(\.name)))
            }
            offsets.append(offset)
            offset += feature.outputs.count
        }
        var matrix = [Float](repeating: .nan, count: rows * width)
        let written = matrix.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let matrix = buffer  // each feature writes only its own columns
            let feature = { (index: Int) -> Bool in
                let produced = Self.run(features[index].steps, on: inputs[index], rows: rows)
                // A transform.json whose outputs disagree with its steps writes nothing.
                guard produced.count == features[index].outputs.count else { return false }
                for (position, column) in produced.enumerated() {
                    let start = offsets[index] + position
                    for row in 0..<rows { matrix[row * width + start] = Float(column[row]) }
                }
                return true
            }
            return rows >= 4096 ? concurrentMap(features.count, feature) : features.indices.map(feature)
        }
        if let bad = written.firstIndex(of: false) {
            throw TransformError(.inconsistent(feature: features[bad].source))
        }
        let classes = Dictionary(
            (labelValues ?? []).enumerated().map { ($1, Double($0)) }, uniquingKeysWith: { first, _ in first })
        let labelSource =
            withLabel ? label.flatMap { computed[$0] ?? table.column($0).map(Expression.Values.init) } : nil
        let label = labelSource.map { values -> [Double] in
            switch values {
            case .numbers(let numbers): return numbers
            case .texts(let texts): return texts.map { $0.flatMap { classes[$0] } ?? .nan }
            }
        }
        return (matrix, label)
    }

    /// Where a feature's values come from: a raw column, or a derived column's values.
    enum Source {
        case column(Column)
        case values(Expression.Values)
    }

    /// A feature's steps over its source. Every fitted step is a function of one value, so
    /// a dictionary-encoded text column runs them over its distinct values (and missing)
    /// and each row takes its value's result: the same numbers as row by row, in far less time.
    static func run(_ steps: [Step], on source: Source, rows: Int) -> [[Double]] {
        switch source {
        case .values(let values):
            return run(steps, on: values, rows: rows)
        case .column(let column):
            guard case .bytes(let dictionary, let codes) = column.values else {
                return run(steps, on: Expression.Values(column), rows: rows)
            }
            // The distinct values, then missing at index dictionary.count.
            let distinct = run(steps, on: .texts(dictionary + [nil]), rows: dictionary.count + 1)
            let missing = dictionary.count
            return distinct.map { results in
                codes.map { results[$0 < 0 ? missing : Int($0)] }
            }
        }
    }

    /// A feature's steps over its column: one output column, or several after `one_hot`.
    static func run(_ steps: [Step], on source: Expression.Values, rows: Int) -> [[Double]] {
        var texts: [String?]?
        var numbers: [Double] = []
        switch source {
        case .numbers(let values): numbers = values
        case .texts(let values): texts = values
        }
        for step in steps {
            switch step {
            case .fillText(let value):
                texts = texts?.map { $0 ?? value }
            case .fillNumber(let value):
                numbers = numbers.map { $0.isNaN ? value : $0 }
            case .zscore(let mean, let std):
                numbers = numbers.map { std > 0 ? ($0 - mean) / std : $0 - mean }
            case .scale(let low, let high):
                numbers = numbers.map { high > low ? ($0 - low) / (high - low) : 0 * $0 }
            case .log1p:
                numbers = numbers.map { $0 > -1 ? Foundation.log1p($0) : .nan }
            case .clip(let low, let high):
                numbers = numbers.map { value in
                    var value = value
                    if let low, value < low { value = low }
                    if let high, value > high { value = high }
                    return value
                }
            case .bucketize(let boundaries):
                numbers = numbers.map { value in
                    guard !value.isNaN else { return .nan }
                    var low = 0
                    var high = boundaries.count
                    while low < high {
                        let middle = (low + high) / 2
                        if boundaries[middle] <= value { low = middle + 1 } else { high = middle }
                    }
                    return Double(low)
                }
            case .vocabulary(let values, let oovBuckets):
                let source = texts ?? Expression.Values.numbers(numbers).texts
                // A few values to look up (a served row's): a scan of the vocabulary costs less
                // than building its index.
                let index: [String: Double] =
                    source.count <= 8
                    ? [:] : Dictionary(values.enumerated().map { ($1, Double($0)) }, uniquingKeysWith: { a, _ in a })
                numbers = source.map { text in
                    guard let text else { return .nan }
                    if source.count <= 8 {
                        if let position = values.firstIndex(of: text) { return Double(position) }
                    } else if let known = index[text] {
                        return known
                    }
                    guard oovBuckets > 0 else { return .nan }
                    let hash = Array(text.utf8).withUnsafeBytes { SplitHash.fnv1a($0) }
                    return Double(values.count) + Double(hash % UInt64(oovBuckets))
                }
                texts = nil
            case .oneHot(let size):
                return (0..<size).map { position in
                    numbers.map { $0.isNaN ? 0 : ($0 == Double(position) ? 1 : 0) }
                }
            }
        }
        if texts != nil { return [[Double](repeating: .nan, count: rows)] }  // not reached: fit adds a vocabulary
        return [numbers]
    }
}

extension Expression.Values {
    var numbersIfNumeric: [Double]? {
        if case .numbers(let values) = self { return values }
        return nil
    }

}

extension DataTable {
    /// The table with one more column.
    func adding(_ column: Column) -> DataTable {
        DataTable(
            file: file, columns: columns.filter { $0.name != column.name } + [column], rowCount: rowCount,
            skipped: skipped, rowHashes: rowHashes)
    }

    /// The rows at `indices`, in that order (a served row is `rows([i])`).
    public func rows(_ indices: [Int]) -> DataTable {
        let columns = columns.map { column -> Column in
            let present = indices.map { column.present[$0] }
            switch column.values {
            case .int(let values):
                return Column(
                    name: column.name, type: column.type, values: .int(indices.map { values[$0] }), present: present)
            case .float(let values):
                return Column(
                    name: column.name, type: column.type, values: .float(indices.map { values[$0] }), present: present)
            case .bytes(let dictionary, let codes):
                return Column(
                    name: column.name, type: column.type,
                    values: .bytes(dictionary: dictionary, codes: indices.map { codes[$0] }), present: present)
            }
        }
        return DataTable(file: file, columns: columns, rowCount: indices.count)
    }
}

/// A transform that cannot be fitted or applied, naming the feature and what to change.
public struct TransformError: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case unknownColumn(String, in: String, available: [String])
        case missingInput(String, available: [String])
        case badExpression(String, ExpressionError)
        case textStep(feature: String, step: String)
        case vocabularyOnNumbers(feature: String)
        case oneHotWithoutVocabulary(feature: String)
        case badConstant(feature: String, value: String)
        /// A fitted transform whose feature's outputs disagree with its steps (a damaged transform.json).
        case inconsistent(feature: String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .unknownColumn(let name, let key, _): "\(key) names '\(name)', which is not a column of the data"
        case .missingInput(let name, _): "the rows have no column '\(name)', which the transform needs"
        case .badExpression(let name, let error): "transform.derive.\(name): \(error)"
        case .textStep(let feature, let step): "'\(step)' needs numbers, but '\(feature)' is text"
        case .vocabularyOnNumbers(let feature):
            "'\(feature)' is numeric: a vocabulary is for text (use bucketize for numbers)"
        case .oneHotWithoutVocabulary(let feature): "'\(feature)': one_hot needs a vocabulary step before it"
        case .inconsistent(let feature):
            "the fitted transform's feature '\(feature)' lists a different number of outputs than its steps give"
        case .badConstant(let feature, let value):
            "'\(feature)' is numeric, but fill_missing's constant '\(value)' is not a number"
        }
    }

    public var hint: String? {
        switch kind {
        case .unknownColumn(let name, _, let available), .missingInput(let name, let available):
            Suggestions.nearest(to: name, in: available).map { "did you mean '\($0)'?" }
                ?? "the columns are: " + available.sorted().joined(separator: ", ")
        case .vocabularyOnNumbers:
            "if its numbers are categories (codes, ids), write `vocabulary: {allow_numbers: true}`"
        default: nil
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .missingInput, .inconsistent: .dataError
        default: .configError
        }
    }
}

extension FittedTransform.Step {
    /// Written as in `mlops.yaml`, with what the analyzer learned: `{"zscore": {"mean": 11.7,
    /// "std": 12.2}}`, `{"fill_missing": 7.85}`, `{"vocabulary": {"values": [...],
    /// "oov_buckets": 1}}`, `"log1p"`.
    enum Key: String, CodingKey {
        case fillMissing = "fill_missing", zscore, scale = "scale_to_0_1", log1p, clip, bucketize, vocabulary
        case oneHot = "one_hot"
    }

    enum Field: String, CodingKey {
        case mean, std, min, max, boundaries, values, oovBuckets = "oov_buckets", size, text
    }

    public func encode(to encoder: any Encoder) throws {
        if case .log1p = self {
            var single = encoder.singleValueContainer()
            try single.encode(Key.log1p.rawValue)
            return
        }
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .fillNumber(let value): try container.encode(value, forKey: .fillMissing)
        case .fillText(let value):
            // {"text": …}, so a text constant that looks like a number stays text.
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .fillMissing)
            try fields.encode(value, forKey: .text)
        case .zscore(let mean, let std):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .zscore)
            try fields.encode(mean, forKey: .mean)
            try fields.encode(std, forKey: .std)
        case .scale(let low, let high):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .scale)
            try fields.encode(low, forKey: .min)
            try fields.encode(high, forKey: .max)
        case .clip(let low, let high):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .clip)
            try fields.encodeIfPresent(low, forKey: .min)
            try fields.encodeIfPresent(high, forKey: .max)
        case .bucketize(let boundaries):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .bucketize)
            try fields.encode(boundaries, forKey: .boundaries)
        case .vocabulary(let values, let oovBuckets):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .vocabulary)
            try fields.encode(values, forKey: .values)
            try fields.encode(oovBuckets, forKey: .oovBuckets)
        case .oneHot(let size):
            var fields = container.nestedContainer(keyedBy: Field.self, forKey: .oneHot)
            try fields.encode(size, forKey: .size)
        case .log1p: break
        }
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            guard name == Key.log1p.rawValue else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "unknown step '\(name)'")
            }
            self = .log1p
            return
        }
        let container = try decoder.container(keyedBy: Key.self)
        guard let key = container.allKeys.first, container.allKeys.count == 1 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a step is one `name: settings` pair"))
        }
        switch key {
        case .fillMissing:
            if let number = try? container.decode(Double.self, forKey: .fillMissing) {
                self = .fillNumber(number)
            } else {
                let fields = try container.nestedContainer(keyedBy: Field.self, forKey: .fillMissing)
                self = .fillText(try fields.decode(String.self, forKey: .text))
            }
        case .log1p: self = .log1p
        default:
            let fields = try container.nestedContainer(keyedBy: Field.self, forKey: key)
            switch key {
            case .zscore:
                self = .zscore(
                    mean: try fields.decode(Double.self, forKey: .mean),
                    std: try fields.decode(Double.self, forKey: .std))
            case .scale:
                self = .scale(
                    min: try fields.decode(Double.self, forKey: .min), max: try fields.decode(Double.self, forKey: .max)
                )
            case .clip:
                self = .clip(
                    min: try fields.decodeIfPresent(Double.self, forKey: .min),
                    max: try fields.decodeIfPresent(Double.self, forKey: .max))
            case .bucketize: self = .bucketize(boundaries: try fields.decode([Double].self, forKey: .boundaries))
            case .vocabulary:
                self = .vocabulary(
                    values: try fields.decode([String].self, forKey: .values),
                    oovBuckets: try fields.decode(Int.self, forKey: .oovBuckets))
            default: self = .oneHot(size: try fields.decode(Int.self, forKey: .size))
            }
        }
    }
}
