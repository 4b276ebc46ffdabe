import Foundation
import MLOpsCore

/// ExampleGen: the spans' CSV files split into columnar examples (output `examples`).
public struct ExampleGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let sources: [String]
        public let span: String
        public let splits: [String]
        public let partitionColumn: String?
        public let delimiter: String
        public let onBadRows: String
        /// Columns read as text whatever they look like (BYTES in a curated schema), so
        /// `007` stays `007`.
        public let textColumns: [String]
    }

    public let id = Component.exampleGen
    public let version = "1"
    public let parameters: Parameters
    public let inputs: [String: InputBinding] = [:]
    public let outputs = Component.exampleGen.outputs
    /// The spans chosen now (the driver's decision); their files are fingerprinted.
    public let spans: [SpanFiles]
    let options: ExampleGen.Options

    /// Resolves the spans of `data` under `root` (span detection happens before the cache key).
    public init(data: DataSection, root: URL, textColumns: [String]) throws {
        spans = try SpanResolver.resolve(patterns: data.sources, selection: data.span, root: root)
        var options = ExampleGen.Options()
        options.csv.delimiter = data.delimiter.utf8.first ?? UInt8(ascii: ",")
        options.csv.onBadRows = data.onBadRows
        for column in textColumns { options.csv.types[column] = .bytes }
        options.splits = data.splits.pairs.map { ($0.name, $0.value) }
        options.partitionColumn = data.partitionColumn
        self.options = options
        parameters = Parameters(
            sources: data.sources, span: data.span.description,
            splits: data.splits.pairs.map { "\($0.name):\($0.value)" }, partitionColumn: data.partitionColumn,
            delimiter: data.delimiter, onBadRows: data.onBadRows.rawValue, textColumns: textColumns.sorted())
    }

    public func readPaths(root: URL) throws -> [String] { spans.flatMap(\.files) }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        var options = options
        let total = spans.flatMap(\.files).reduce(0) { sum, file in
            let size = try? FileManager.default.attributesOfItem(atPath: context.root.appendingPathComponent(file).path)
            return sum + ((size?[.size] as? NSNumber)?.intValue ?? 0)
        }
        options.csv.progress = context.progress(total)
        let result = try ExampleGen.run(
            spans: spans, root: context.root, output: context.output("examples"), options: options)
        let spanText = result.spans.map { "span \($0.span)" }.joined(separator: ", ")
        let splits = result.splits.map { "\($0.name) \($0.rows)" }.joined(separator: ", ")
        var properties = [
            "rows": String(result.rows), "spans": result.spans.map { String($0.span) }.joined(separator: ","),
        ]
        if !result.skipped.isEmpty { properties["skipped_rows"] = String(result.skipped.reduce(0) { $0 + $1.count }) }
        return ExecutorOutput(
            properties: ["examples": properties], summary: "\(result.rows) rows from \(spanText): \(splits)")
    }
}

/// The splits of an Examples artifact, from its `examples.json`: each split's name and file.
public func exampleSplits(_ examples: ResolvedArtifact) throws -> [(name: String, url: URL)] {
    let result = try readArtifactJSON(
        ExampleGen.Result.self, examples.url.appendingPathComponent(ExampleGen.metadataFile))
    return result.splits.map { ($0.name, examples.url.appendingPathComponent($0.file)) }
}
