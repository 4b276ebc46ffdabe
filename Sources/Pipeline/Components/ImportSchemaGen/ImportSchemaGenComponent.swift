import Foundation
import MLOpsCore
import Tabular

/// ImportSchemaGen: the curated schema file, checked and copied (output `schema`).
public struct ImportSchemaGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let path: String
    }

    public let id = Component.importSchemaGen
    public let version = "1"
    public let parameters: Parameters
    public let inputs: [String: InputBinding] = [:]
    public let outputs = Component.importSchemaGen.outputs

    public init(path: String) { parameters = Parameters(path: path) }

    public func readPaths(root: URL) throws -> [String] { [parameters.path] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let source = context.root.appendingPathComponent(parameters.path)
        let schema = try Schema.load(path: source.path)
        let folder = context.output("schema")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try Data(contentsOf: source), to: folder.appendingPathComponent("schema.pbtxt"))
        return ExecutorOutput(summary: "\(schema.features.count) features from \(parameters.path)")
    }
}
