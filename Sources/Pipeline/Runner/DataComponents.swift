import Foundation
import MLOpsCore

// The data components as pipeline components: typed parameters, declared inputs and outputs,
// and executors over the library code of ExampleGen, StatisticsGen, SchemaGen,
// ImportSchemaGen and ExampleValidator. Artifact layouts are in docs/pipeline.md.

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
    public let outputs = ["examples": "Examples"]
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

/// How mlops writes an artifact's JSON: key-sorted, indented, NaN and infinities as strings.
public let artifactEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return encoder
}()

/// A JSON file of an artifact, decoded as mlops writes it (NaN and infinities as strings).
public func readArtifactJSON<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw ArtifactError(path: url.path, detail: "cannot be read: \((error as NSError).localizedDescription)")
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    do {
        return try decoder.decode(type, from: data)
    } catch {
        throw ArtifactError(path: url.path, detail: "is not what mlops wrote there (\(error))")
    }
}

/// An artifact in `.mlops` that is missing or damaged.
public struct ArtifactError: MLOpsError {
    public let path: String
    public let detail: String
    public var message: String { "artifact file '\(path)' \(detail)" }
    public var hint: String? { "run again with --no-cache to rebuild it, or remove .mlops to start afresh" }
    public var exitStatus: ExitStatus { .ioError }
}

/// Statistics of every split (the artifact StatisticsGen writes).
public struct StatisticsList: Sendable, Codable, Equatable {
    public let datasets: [DatasetStatistics]
    public static let fileName = "statistics.json"

    static func read(_ artifact: ResolvedArtifact) throws -> StatisticsList {
        try readArtifactJSON(StatisticsList.self, artifact.url.appendingPathComponent(fileName))
    }
}

/// StatisticsGen: statistics per split (output `statistics`).
public struct StatisticsGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let buckets: Int
        public let topValues: Int
    }

    public let id = Component.statisticsGen
    public let version = "1"
    public let parameters = Parameters(
        buckets: StatisticsGenerator.buckets, topValues: StatisticsGenerator.topValueCount)
    public let inputs = ["examples": InputBinding(.exampleGen, "examples")]
    public let outputs = ["statistics": "ExampleStatistics"]

    public init() {}

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        var datasets: [DatasetStatistics] = []
        for (name, url) in try exampleSplits(try context.input("examples")) {
            datasets.append(StatisticsGenerator.statistics(of: try ExamplesFile.read(url), name: name))
        }
        let folder = context.output("statistics")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try artifactEncoder.encode(StatisticsList(datasets: datasets)),
            to: folder.appendingPathComponent(StatisticsList.fileName))
        let features = datasets.first?.features.count ?? 0
        return ExecutorOutput(summary: "\(datasets.count) splits, \(features) features")
    }

}

/// ImportSchemaGen: the curated schema file, checked and copied (output `schema`).
public struct ImportSchemaGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let path: String
    }

    public let id = Component.importSchemaGen
    public let version = "1"
    public let parameters: Parameters
    public let inputs: [String: InputBinding] = [:]
    public let outputs = ["schema": "Schema"]

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

/// SchemaGen: a schema inferred from the train split (output `schema`).
public struct SchemaGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let label: String?
        public let split: String
    }

    public let id = Component.schemaGen
    public let version = "1"
    public let parameters: Parameters
    public let inputs = [
        "examples": InputBinding(.exampleGen, "examples"), "statistics": InputBinding(.statisticsGen, "statistics"),
    ]
    public let outputs = ["schema": "Schema"]

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
            + proto.text()
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent("schema.pbtxt"))
        return ExecutorOutput(summary: "\(stats.features.count) features inferred from the \(parameters.split) split")
    }
}

/// ExampleValidator: anomalies of every split against the schema, drift of the train split
/// against the previous span and skew against serving data (thresholds from the schema's
/// comparators), with the gate policy deciding which findings fail (output `anomalies`, with
/// a `verdict`, and `checks.json` for the gate).
public struct ExampleValidatorComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        /// Finding (a TFDV reason or a category) → fail, warn or ignore, from `gates.policy`.
        public let policy: [String: String]
        public let strict: Bool
        /// The span drift is measured against, and the serving data pattern.
        public let previousSpan: Int?
        public let serving: String?
        public let delimiter: String
    }

    /// What the driver found to compare with (their files enter the cache key).
    public struct Comparisons: Sendable {
        public var spans: [Int] = []
        public var previous: SpanFiles?
        public var serving: SpanFiles?
        public var servingPattern: String?
        public var csv = CSVOptions()
        public init() {}
    }

    public let id = Component.exampleValidator
    public let version = "2"
    public let parameters: Parameters
    public let inputs: [String: InputBinding]
    public let outputs = ["anomalies": "ExampleAnomalies"]
    let comparisons: Comparisons
    /// The split compared with the previous span and with serving data.
    static let comparedSplit = "train"

    public init(
        gates: GatesSection, schemaFrom producer: Component, strict: Bool = false,
        comparisons: Comparisons = Comparisons()
    ) {
        parameters = Parameters(
            policy: gates.actions, strict: strict || gates.strict, previousSpan: comparisons.previous?.span,
            serving: comparisons.servingPattern, delimiter: String(UnicodeScalar(comparisons.csv.delimiter)))
        self.comparisons = comparisons
        inputs = [
            "examples": InputBinding(.exampleGen, "examples"), "statistics": InputBinding(.statisticsGen, "statistics"),
            "schema": InputBinding(producer, "schema"),
        ]
    }

    public func readPaths(root: URL) throws -> [String] {
        (comparisons.previous?.files ?? []) + (comparisons.serving?.files ?? [])
    }

    /// The action for one finding: its reason's policy entry, else its category's, else fail;
    /// `--strict` makes a warning a failure.
    func action(reason: String, category: String) -> GateAction {
        GateAction.resolve(parameters.policy, reason: reason, category: category, strict: parameters.strict)
    }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let schemaURL = try context.input("schema").url.appendingPathComponent("schema.pbtxt")
        let schema = try Schema.load(path: schemaURL.path)
        let statistics = try StatisticsList.read(try context.input("statistics"))
        // The other datasets, read as ExampleGen reads the sources (the schema's text columns as text).
        var csv = comparisons.csv
        for feature in schema.features where feature.type == .bytes { csv.types[feature.name] = .bytes }
        func comparison(_ files: SpanFiles?) throws -> ExampleValidator.Comparison? {
            guard let files else { return nil }
            var options = ExampleGen.Options()
            options.csv = csv
            let table = try ExampleGen.read(spans: [files], root: context.root, options: options).table
            return ExampleValidator.Comparison(
                table: table, statistics: StatisticsGenerator.statistics(of: table, name: "span \(files.span)"))
        }
        let previous = try comparison(comparisons.previous)
        let serving = try comparison(comparisons.serving)
        var bySplit: [String: Anomalies] = [:]
        var checks: [DataChecks.Check] = []
        for (name, url) in try exampleSplits(try context.input("examples")) {
            guard let stats = statistics.datasets.first(where: { $0.name == name }) else { continue }
            let compared = name == Self.comparedSplit
            let anomalies = ExampleValidator.validate(
                table: try ExamplesFile.read(url), statistics: stats, schema: schema,
                previous: compared ? previous : nil, serving: compared ? serving : nil)
            bySplit[name] = anomalies
            checks += DataChecks.checks(split: name, anomalies: anomalies, action: action)
        }
        let result = DataChecks(
            spans: comparisons.spans, previousSpan: comparisons.previous?.span, serving: comparisons.servingPattern,
            comparedSplit: Self.comparedSplit, checks: checks)
        let folder = context.output("anomalies")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try artifactEncoder.encode(bySplit), to: folder.appendingPathComponent("anomalies.json"))
        try AtomicFile.write(try artifactEncoder.encode(result), to: folder.appendingPathComponent(DataChecks.fileName))
        let failing = checks.filter { $0.outcome == .failed }.count
        let warnings = checks.filter { $0.outcome == .warned }.count
        let measured = checks.filter { $0.measure != nil }.count
        var summary =
            failing + warnings == 0
            ? "no anomalies"
            : "\(failing) failing, \(warnings) warning finding\(failing + warnings == 1 ? "" : "s") (gates.policy)"
        if measured > 0 { summary += "; \(measured) drift/skew measurement\(measured == 1 ? "" : "s")" }
        return ExecutorOutput(
            properties: [
                "anomalies": [
                    "verdict": failing > 0 ? "fail" : "pass", "failing": String(failing),
                    "warnings": String(warnings), "findings": result.findings.joined(separator: "\n"),
                ]
            ], summary: summary)
    }
}

extension MLOpsConfig {
    /// The components this configuration runs that are implemented so far (the data
    /// components and Transform), ready for the runner.
    public func dataComponents(root: URL, strict: Bool = false) throws -> [any PipelineComponent] {
        var components: [any PipelineComponent] = []
        var textColumns: [String] = []
        let schemaProducer: Component
        if case .file(let path) = schema {
            let curated = try Schema.load(path: root.appendingPathComponent(path).path)
            textColumns = curated.features.filter { $0.type == .bytes }.map(\.name)
            components.append(ImportSchemaGenComponent(path: path))
            schemaProducer = .importSchemaGen
        } else {
            components.append(SchemaGenComponent(label: trainer?.label))
            schemaProducer = .schemaGen
        }
        let exampleGen = try ExampleGenComponent(data: data, root: root, textColumns: textColumns)
        components.append(exampleGen)
        components.append(StatisticsGenComponent())
        components.append(
            ExampleValidatorComponent(
                gates: gates, schemaFrom: schemaProducer, strict: strict,
                comparisons: try comparisons(current: exampleGen.spans, root: root)))
        if self.components.contains(Component.transform.rawValue) {
            components.append(try TransformComponent(section: transform, label: trainer?.label))
        }
        if let trainer {
            if let tuner { components.append(try TunerComponent(tuner: tuner, trainer: trainer)) }
            var schemaPath: String?
            if case .file(let path) = schema { schemaPath = path }
            components.append(
                try TrainerComponent(
                    trainer: trainer, code: paths.code, schemaPath: schemaPath, root: root, schemaFrom: schemaProducer))
        }
        return components
    }
}

extension MLOpsConfig {
    /// What ExampleValidator compares the data with: the latest span before the earliest one
    /// read (when the sources have `{SPAN}`), and the files of `data.serving`.
    func comparisons(current: [SpanFiles], root: URL) throws -> ExampleValidatorComponent.Comparisons {
        var comparisons = ExampleValidatorComponent.Comparisons()
        comparisons.spans = current.map(\.span)
        comparisons.csv.delimiter = data.delimiter.utf8.first ?? UInt8(ascii: ",")
        comparisons.csv.onBadRows = data.onBadRows
        if data.sources.contains(where: { SpanPattern($0).hasSpan }), let first = current.map(\.span).min() {
            let all = try SpanResolver.resolve(patterns: data.sources, selection: .all, root: root)
            comparisons.previous = all.last { $0.span < first }
        }
        if let serving = data.serving {
            comparisons.servingPattern = serving
            comparisons.serving = try SpanResolver.resolve(patterns: [serving], selection: .latest, root: root).last
        }
        return comparisons
    }
}
