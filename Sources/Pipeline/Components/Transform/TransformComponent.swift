import Foundation
import MLOpsCore
import Tabular

/// The splits of a TransformedExamples artifact (`transformed.json`).
public struct TransformedSplits: Sendable, Codable, Equatable {
    /// A split as two raw little-endian float32 files: `features` (rows × features, row-major,
    /// NaN for missing, as XGBoost takes them) and `labels` (one per row, NaN when missing).
    public struct Split: Sendable, Codable, Equatable {
        public let name: String
        public let features: String
        public let labels: String?
        public let rows: Int
    }

    public static let fileName = "transformed.json"
    public let features: [String]
    /// The label's name, nil without a label.
    public let label: String?
    public let splits: [Split]
}

/// Transform: fits the transform on the train split and applies it to every split (outputs
/// `transform`, the fitted `transform.json`, and `transformed`, each split's features and labels
/// as raw float32 files). Waits for ExampleValidator's verdict.
public struct TransformComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        /// `transform` of mlops.yaml as key-sorted JSON.
        public let config: String
        public let label: String?
    }

    public let id = Component.transform
    public let version = "2"
    public let parameters: Parameters
    public let inputs = Component.transform.bindings()
    public let outputs = Component.transform.outputs
    let section: TransformSection

    public init(section: TransformSection, label: String?) throws {
        self.section = section
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        parameters = Parameters(config: String(decoding: try encoder.encode(section), as: UTF8.self), label: label)
    }

    public func readPaths(root: URL) throws -> [String] { [] }

    /// Raw little-endian float32, written atomically.
    static func writeFloats(_ values: [Float], to url: URL) throws {
        try AtomicFile.create(url) { writer in
            let result: Result<Void, FileError> = values.withUnsafeBytes { raw in
                Result { () throws(FileError) in try writer.write(raw) }
            }
            try result.get()
        }
    }

    /// A raw float32 file of `count` values.
    static func readFloats(_ url: URL, count: Int) throws -> [Float] {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw ArtifactError(path: url.path, detail: "cannot be read: \((error as NSError).localizedDescription)")
        }
        guard data.count == count * 4 else {
            throw ArtifactError(path: url.path, detail: "has \(data.count) bytes, \(count * 4) expected")
        }
        return data.withUnsafeBytes { raw in ExamplesFile.copied(raw, count) }
    }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let splits = try exampleSplits(try context.input("examples"))
        guard let train = splits.first(where: { $0.name == "train" }) else {
            throw InternalError("the examples have no train split to fit the transform on")
        }
        let fitted = try FittedTransform.fit(section, label: parameters.label, on: try ExamplesFile.read(train.url))
        let folder = context.output("transform")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try artifactEncoder.encode(fitted), to: folder.appendingPathComponent("transform.json"))
        let names = fitted.featureNames
        let transformed = context.output("transformed")
        try FileManager.default.createDirectory(at: transformed, withIntermediateDirectories: true)
        var written: [TransformedSplits.Split] = []
        for split in splits {
            let table = try ExamplesFile.read(split.url)
            let (features, label) = try fitted.apply(to: table)
            let featuresFile = "\(split.name).features.f32"
            try Self.writeFloats(features, to: transformed.appendingPathComponent(featuresFile))
            var labelsFile: String?
            if let label {
                labelsFile = "\(split.name).labels.f32"
                try Self.writeFloats(
                    label.map { Float($0) }, to: transformed.appendingPathComponent("\(split.name).labels.f32"))
            }
            written.append(.init(name: split.name, features: featuresFile, labels: labelsFile, rows: table.rowCount))
        }
        try AtomicFile.write(
            try artifactEncoder.encode(
                TransformedSplits(features: names, label: fitted.label, splits: written)),
            to: transformed.appendingPathComponent(TransformedSplits.fileName))
        return ExecutorOutput(
            properties: ["transform": ["features": String(names.count)]],
            summary: "\(names.count) features\(fitted.label.map { ", label \($0)" } ?? "") fitted on \(train.name)")
    }
}
