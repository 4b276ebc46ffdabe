import Foundation
import MLOpsCore
import Tabular
import XGBoostKit

/// The files of a servable model folder: what the Trainer writes as its `model` artifact and
/// what a release bundle will hold. Raw rows go through `transform.json`, then `model.json`.
public enum ModelFolder {
    public static let modelFile = "model.json"
    public static let transformFile = "transform.json"
    public static let schemaFile = "schema.pbtxt"
    public static let historyFile = TrainingHistory.fileName
}

/// A model loaded for prediction: the fitted transform, the XGBoost model, the task, and the
/// schema the rows are read with. One code path for bulk inference and serving: raw rows in,
/// the transform applied as in training, one XGBoost predict call per batch.
public final class ServableModel: @unchecked Sendable {
    // `booster` is only used under `lock` (one predict call at a time); the rest is immutable.
    public let folder: URL
    public let transform: FittedTransform
    public let schema: Schema?
    /// `binary`, `multiclass` or `regression`.
    public let task: TaskKind
    /// A binary model's decision threshold, stored with it (`history.json`; 0.5 when absent).
    public let decisionThreshold: Double
    /// The schema's domains for the inputs (``DomainCheck``).
    public let domain: DomainCheck
    /// XGBoost's outputs per row (the class count of a multiclass model, else 1).
    let outputsPerRow: Int
    private let booster: Booster
    private let lock = NSLock()

    /// Loads a model folder; every file is checked (exit 66 when one is missing, 65 when damaged).
    public init(folder: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.folder = folder
        func file(_ name: String) throws -> URL {
            let url = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ServingError(.missingFile(folder: folder.path, file: name))
            }
            return url
        }
        transform = try readArtifactJSON(FittedTransform.self, try file(ModelFolder.transformFile))
        let history = try readArtifactJSON(TrainingHistory.self, try file(ModelFolder.historyFile))
        task = history.task
        decisionThreshold = history.decisionThreshold ?? 0.5
        let schemaURL = folder.appendingPathComponent(ModelFolder.schemaFile)
        schema = FileManager.default.fileExists(atPath: schemaURL.path) ? try Schema.load(path: schemaURL.path) : nil
        do {
            booster = try Booster(contentsOf: try file(ModelFolder.modelFile).path)
            try booster.setParameter("nthread", String(max(1, threads)))
        } catch let error as XGBoostError {
            throw ServingError(.badModel(folder: folder.path, detail: error.message))
        }
        let count = try booster.featureCount()
        guard count == transform.featureNames.count else {
            throw ServingError(
                .badModel(
                    folder: folder.path,
                    detail: "the model takes \(count) features; the transform gives \(transform.featureNames.count)"))
        }
        guard task != .auto else {
            throw ServingError(.badModel(folder: folder.path, detail: "history.json names no task (auto)"))
        }
        requiredInputs = transform.neededInputs
        inputTypes = Dictionary(transform.inputs.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        domain = DomainCheck(schema: schema, inputs: requiredInputs)
        // One row of missing features tells the output width (and that the model predicts).
        let probe = try booster.predict(
            try DMatrix(values: [Float](repeating: .nan, count: count), rows: 1, columns: count))
        guard !probe.isEmpty else { throw ServingError(.badModel(folder: folder.path, detail: "it predicts nothing")) }
        outputsPerRow = probe.count
    }

    /// The prediction columns, by task (``Predictions``).
    public var outputNames: [String] {
        (try? Predictions(
            task: task, rows: 0, output: [], perRow: outputsPerRow, classNames: transform.labelValues,
            threshold: decisionThreshold))?.columns.map(
                \.name) ?? []
    }

    /// The raw columns a row must have (``FittedTransform/neededInputs``).
    public let requiredInputs: [FittedTransform.Input]
    /// The type of every raw column the transform knows (the training-only ones too).
    public let inputTypes: [String: FeatureType]

    /// Column types to read raw rows with: the schema's BYTES features stay text (`007`).
    public var readTypes: [String: FeatureType] {
        var types: [String: FeatureType] = [:]
        for input in transform.inputs where input.type == .bytes { types[input.name] = .bytes }
        return types
    }

    /// Predictions for every row of `table`, in order.
    public func predict(_ table: DataTable) throws -> Predictions {
        let features = try transform.apply(to: table, label: false).features
        let rows = table.rowCount
        let width = transform.featureNames.count
        var output: [Float] = []
        if rows > 0 {
            lock.lock()
            defer { lock.unlock() }
            output = try booster.predict(values: features, rows: rows, columns: width)
        }
        return try Predictions(
            task: task, rows: rows, output: output, perRow: outputsPerRow, classNames: transform.labelValues,
            threshold: decisionThreshold)
    }
}

/// A batch's predictions as named columns: `probability` and `predicted_class` (binary),
/// `probability_<class>` per class and `predicted_class` (multiclass), `prediction`
/// (regression). A class is its label value from training (text labels) or its index.
public struct Predictions: Sendable {
    public struct Column: Sendable {
        public let name: String
        public let numbers: [Double]?
        public let texts: [String]?

        public init(name: String, numbers: [Double]?, texts: [String]?) {
            self.name = name
            self.numbers = numbers
            self.texts = texts
        }

        /// Row `row` as text, nil when missing: a class index as an integer, a probability or
        /// prediction in its shortest float form, a label as it was in training.
        public func text(_ row: Int) -> String? {
            if let texts { return texts[row] }
            guard let value = numbers?[row], !value.isNaN else { return nil }
            return name == "predicted_class" ? String(Int(value)) : "\(Float(value))"
        }

        /// Row `row` as a JSON value: a number, a quoted label, or null.
        public func json(_ row: Int) -> String {
            guard let text = text(row) else { return "null" }
            return texts != nil ? StringLiteral.json(text) : text
        }
    }

    public let rows: Int
    public let columns: [Column]

    /// Predictions as they are (a log read back, a test).
    public init(rows: Int, columns: [Column]) {
        self.rows = rows
        self.columns = columns
    }

    /// The predictions as a table whose statistics describe their distribution: probabilities
    /// and predictions as numbers, the predicted class as text (its value counts). The
    /// Evaluator keeps these statistics of the eval split; `mlops monitor` compares the served
    /// predictions' with them.
    public var distributionTable: DataTable {
        let columns = columns.map { column -> Tabular.Column in
            if column.name == "predicted_class" || column.texts != nil {
                return Tabular.Column(name: column.name, texts: (0..<rows).map { column.text($0) })
            }
            return Tabular.Column(name: column.name, numbers: column.numbers ?? [])
        }
        return DataTable(file: "predictions", columns: columns, rowCount: rows)
    }

    init(task: TaskKind, rows: Int, output: [Float], perRow: Int, classNames: [String]?, threshold: Double) throws {
        self.rows = rows
        guard perRow * rows == output.count else {
            throw InternalError("XGBoost gave \(output.count) values for \(rows) rows")
        }
        func className(_ index: Int) -> String {
            if let classNames, index < classNames.count { return classNames[index] }
            return String(index)
        }
        /// The class of each row: its label text when training had text labels, else its index.
        func classes(_ indices: [Int]) -> Column {
            classNames == nil
                ? Column(name: "predicted_class", numbers: indices.map(Double.init), texts: nil)
                : Column(name: "predicted_class", numbers: nil, texts: indices.map(className))
        }
        switch task {
        case .binary:
            let probabilities = output.map(Double.init)
            columns = [
                Column(name: "probability", numbers: probabilities, texts: nil),
                classes(probabilities.map { $0 >= threshold ? 1 : 0 }),
            ]
        case .multiclass:
            var columns: [Column] = []
            for label in 0..<perRow {
                columns.append(
                    Column(
                        name: "probability_\(className(label))",
                        numbers: (0..<rows).map { Double(output[$0 * perRow + label]) }, texts: nil))
            }
            let predicted = (0..<rows).map { row in
                let scores = output[(row * perRow)..<((row + 1) * perRow)]
                return (scores.indices.max { scores[$0] < scores[$1] } ?? row * perRow) - row * perRow
            }
            columns.append(classes(predicted))
            self.columns = columns
        case .regression, .auto:
            columns = [Column(name: "prediction", numbers: output.map(Double.init), texts: nil)]
        }
    }
}

/// A model folder that cannot be served: a missing file or a model that does not fit its transform.
public struct ServingError: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case missingFile(folder: String, file: String)
        case badModel(folder: String, detail: String)
        case noModel
        /// The server cannot open its socket: the address and the flag that chose it.
        case cannotListen(address: String, flag: String, detail: String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .missingFile(let folder, let file): "the model folder '\(folder)' has no \(file)"
        case .badModel(let folder, let detail): "the model in '\(folder)' cannot be served: \(detail)"
        case .noModel: "this project has no trained model yet"
        case .cannotListen(let address, let flag, let detail): "cannot listen on \(address) (\(flag)): \(detail)"
        }
    }

    public var hint: String? {
        switch kind {
        case .missingFile, .noModel: "run `mlops train`, then pass `latest` or the Trainer's model folder"
        case .badModel: "train it again with `mlops train --force Trainer`"
        case .cannotListen(_, let flag, _):
            "stop what listens there or choose another port (`\(flag) 0` picks a free one)"
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .missingFile, .noModel: .noInput
        case .badModel: .dataError
        case .cannotListen: .ioError
        }
    }
}
