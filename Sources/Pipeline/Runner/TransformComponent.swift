import Foundation
import MLOpsCore

/// The splits of a TransformedExamples artifact (`transformed.json`).
public struct TransformedSplits: Sendable, Codable, Equatable {
    public struct Split: Sendable, Codable, Equatable {
        public let name: String
        public let file: String
        public let rows: Int
    }

    public static let fileName = "transformed.json"
    public let features: [String]
    /// The label column in each split file, nil without a label.
    public let label: String?
    public let splits: [Split]
}

/// Transform: fits the transform on the train split and applies it to every split (outputs
/// `transform`, the fitted `transform.json`, and `transformed`, one examples file per split
/// holding the features as FLOAT columns and the label). Waits for ExampleValidator's verdict.
public struct TransformComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        /// `transform` of mlops.yaml as key-sorted JSON.
        public let config: String
        public let label: String?
    }

    public let id = Component.transform
    public let version = "1"
    public let parameters: Parameters
    public let inputs = ["examples": InputBinding(.exampleGen, "examples")]
    public let outputs = ["transform": "TransformGraph", "transformed": "TransformedExamples"]
    public let runsAfter: [Component] = [.exampleValidator]
    let section: TransformSection

    public init(section: TransformSection, label: String?) throws {
        self.section = section
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        parameters = Parameters(config: String(decoding: try encoder.encode(section), as: UTF8.self), label: label)
    }

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let splits = try exampleSplits(try context.input("examples"))
        guard let train = splits.first(where: { $0.name == "train" }) else {
            throw InternalError("the examples have no train split to fit the transform on")
        }
        let fitted = try FittedTransform.fit(section, label: parameters.label, on: try ExamplesFile.read(train.url))
        let folder = context.output("transform")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try StatisticsGenComponent.encoder.encode(fitted), to: folder.appendingPathComponent("transform.json"))
        let names = fitted.featureNames
        let transformed = context.output("transformed")
        try FileManager.default.createDirectory(at: transformed, withIntermediateDirectories: true)
        var written: [TransformedSplits.Split] = []
        for split in splits {
            let table = try ExamplesFile.read(split.url)
            let (features, label) = try fitted.apply(to: table)
            let rows = table.rowCount
            var columns = names.indices.map { index -> Column in
                let values = (0..<rows).map { Double(features[$0 * names.count + index]) }
                return Column(
                    name: names[index], type: .float, values: .float(values), present: values.map { !$0.isNaN })
            }
            if let labelName = fitted.label, let label {
                columns.append(
                    Column(name: labelName, type: .float, values: .float(label), present: label.map { !$0.isNaN }))
            }
            let file = "\(split.name).examples"
            try ExamplesFile.write(
                DataTable(file: file, columns: columns, rowCount: rows), rows: nil, split: split.name,
                to: transformed.appendingPathComponent(file))
            written.append(.init(name: split.name, file: file, rows: rows))
        }
        try AtomicFile.write(
            try StatisticsGenComponent.encoder.encode(
                TransformedSplits(features: names, label: fitted.label, splits: written)),
            to: transformed.appendingPathComponent(TransformedSplits.fileName))
        return ExecutorOutput(
            properties: ["transform": ["features": String(names.count)]],
            summary: "\(names.count) features\(fitted.label.map { ", label \($0)" } ?? "") fitted on \(train.name)")
    }
}
