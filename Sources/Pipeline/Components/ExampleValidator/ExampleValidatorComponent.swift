import Foundation
import MLOpsCore
import TFMetadata
import Tabular

/// ExampleValidator: anomalies of every split against the schema, drift of the train split
/// against the previous span and skew against serving data (thresholds from the schema's
/// comparators), with the gate policy deciding which findings fail (output `anomalies`, with
/// a `verdict`, and `checks.json` for the gate).
public struct ExampleValidatorComponent: PipelineComponent {
    public struct Parameters: Encodable, Hashable, Sendable {
        /// Finding (a TFDV reason or a category) → fail, warn or ignore, from `gates.policy`.
        public let policy: [String: String]
        public let strict: Bool
        /// The span drift is measured against, and the serving data pattern.
        public let previousSpan: Int?
        public let serving: String?
        public let delimiter: String
        /// `gates.drift` and `gates.skew` (absent when empty).
        public let drift: [String: DriftThreshold]?
        public let skew: [String: DriftThreshold]?
        /// Without spans, the merge-base's versions of the sources drift is measured against:
        /// path → git blob id (their contents, so a new commit on the base with the same data
        /// is still a cache hit).
        public let baseBlobs: [String: String]?
    }

    /// What the driver found to compare with (their files enter the cache key).
    public struct Comparisons: Sendable {
        public var spans: [Int] = []
        public var previous: SpanFiles?
        public var serving: SpanFiles?
        public var servingPattern: String?
        public var base: MergeBaseData?
        public var csv = CSVOptions()
        public init() {}
    }

    public let id = Component.exampleValidator
    public let version = "4"
    public let parameters: Parameters
    public let inputs: [String: InputBinding]
    public let outputs = Component.exampleValidator.outputs
    let comparisons: Comparisons
    let thresholds: ExampleValidator.Thresholds
    /// The split compared with the previous span and with serving data.
    static let comparedSplit = "train"

    public init(
        gates: GatesSection, schemaFrom producer: Component, strict: Bool = false,
        comparisons: Comparisons = Comparisons()
    ) {
        let thresholds = ExampleValidator.Thresholds(gates)
        self.thresholds = thresholds
        parameters = Parameters(
            policy: gates.actions, strict: strict || gates.strict, previousSpan: comparisons.previous?.span,
            serving: comparisons.servingPattern, delimiter: String(UnicodeScalar(comparisons.csv.delimiter)),
            drift: thresholds.drift.isEmpty ? nil : thresholds.drift,
            skew: thresholds.skew.isEmpty ? nil : thresholds.skew,
            baseBlobs: comparisons.base.flatMap { base in
                base.measured
                    ? Dictionary(base.files.map { ($0.path, $0.blob.hex) }, uniquingKeysWith: { $1 }) : nil
            })
        self.comparisons = comparisons
        inputs = Component.exampleValidator.bindings(schema: producer)
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
        var options = ExampleGen.Options()
        options.csv = csv
        // Statistics of the other data only when a schema's TFDV-mode Jensen-Shannon threshold
        // needs its histograms (a million-row base costs a second otherwise).
        let tfdvDrift = schema.features.contains { $0.driftJensenShannon != nil }
        let tfdvSkew = schema.features.contains { $0.skewJensenShannon != nil }
        func comparison(_ table: DataTable, _ label: String, statistics: Bool) -> ExampleValidator.Comparison {
            ExampleValidator.Comparison(
                table: table, statistics: statistics ? StatisticsGenerator.statistics(of: table, name: label) : nil,
                label: label)
        }
        func read(_ files: SpanFiles) throws -> DataTable {
            try ExampleGen.read(spans: [files], root: context.root, options: options).table
        }
        var previous = try comparisons.previous.map {
            comparison(try read($0), "span \($0.span)", statistics: tfdvDrift)
        }
        if previous == nil, let base = comparisons.base, base.measured {
            previous = comparison(try ExampleGen.read(base: base, options: options), base.label, statistics: tfdvDrift)
        }
        let serving = try comparisons.serving.map { comparison(try read($0), "serving data", statistics: tfdvSkew) }
        var bySplit: [String: Anomalies] = [:]
        var tfmd: [String: TFMD_Anomalies] = [:]
        var checks: [DataChecks.Check] = []
        for (name, url) in try exampleSplits(try context.input("examples")) {
            guard let stats = statistics.datasets.first(where: { $0.name == name }) else { continue }
            let compared = name == Self.comparedSplit
            let table = try ExamplesFile.read(url)
            if compared { try thresholds.requireColumns(of: table, serving: serving?.table) }
            let anomalies = ExampleValidator.validate(
                table: table, statistics: stats, schema: schema,
                previous: compared ? previous : nil, serving: compared ? serving : nil, thresholds: thresholds)
            bySplit[name] = anomalies
            tfmd[name] = anomalies.tfmd(schema: schema, numExamples: stats.numExamples)
            checks += DataChecks.checks(split: name, anomalies: anomalies, action: action)
        }
        let result = DataChecks(
            spans: comparisons.spans, previousSpan: comparisons.previous?.span,
            base: comparisons.previous == nil ? comparisons.base?.label : nil,
            baseMeasured: comparisons.previous == nil ? comparisons.base?.measured : nil,
            serving: comparisons.servingPattern,
            comparedSplit: Self.comparedSplit, checks: checks)
        let folder = context.output("anomalies")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try artifactEncoder.encode(bySplit), to: folder.appendingPathComponent("anomalies.json"))
        try AtomicFile.write(try artifactEncoder.encode(result), to: folder.appendingPathComponent(DataChecks.fileName))
        for (split, anomalies) in tfmd {
            let file = folder.appendingPathComponent(Anomalies.tfxFile(split: split))
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(try TFMDEncoding.binary(anomalies), to: file)
        }
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
