import Foundation
import MLOpsCore
import Tabular

/// SchemaGen: a schema inferred from the train split (output `schema`).
public struct SchemaGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let label: String?
        public let split: String
    }

    public let id = Component.schemaGen
    public let version = "2"
    public let parameters: Parameters
    public let inputs = Component.schemaGen.bindings()
    public let outputs = Component.schemaGen.outputs

    public init(label: String?) { parameters = Parameters(label: label, split: "train") }

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let splits = try exampleSplits(try context.input("examples"))
        let statistics = try StatisticsList.read(try context.input("statistics"))
        guard let split = splits.first(where: { $0.name == parameters.split }),
            let stats = statistics.datasets.first(where: { $0.name == parameters.split })
        else { throw InternalError("no '\(parameters.split)' split to infer a schema from") }
        let proto = SchemaInference.infer(
            from: try ExamplesFile.read(split.url), statistics: stats, label: parameters.label)
        let folder = context.output("schema")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text =
            "# Inferred by mlops \(MLOpsVersion.current) (SchemaGen) from the \(parameters.split) split\n"
            + Schema.text(proto)
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent("schema.pbtxt"))
        return ExecutorOutput(summary: "\(stats.features.count) features inferred from the \(parameters.split) split")
    }
}
