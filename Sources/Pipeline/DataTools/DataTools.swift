import Foundation
import MLOpsCore
import TFMetadata
import Tabular

/// What `mlops data stats|schema|validate` do, the way TFDV users do it: statistics of CSV
/// files or ExampleGen outputs, a schema inferred from a file, a file checked against a schema.
public enum DataTools {
    /// Statistics of each file: a CSV file, an ExampleGen output folder (one dataset per
    /// split) or one `.examples` file. Returns them with the bad rows skipped per file.
    public static func statistics(
        of files: [String], options base: CSVOptions, console: Console
    ) throws -> (datasets: [DatasetStatistics], skipped: [String: Int]) {
        var options = base
        var datasets: [DatasetStatistics] = []
        var skipped: [String: Int] = [:]
        for file in files {
            let start = ContinuousClock.now
            if let splits = try examplesFiles(file) {
                for (name, url) in splits {
                    datasets.append(StatisticsGenerator.statistics(of: try ExamplesFile.read(url), name: name))
                }
                console.detail("\(file): \(splits.count) splits summarised in \(start.duration(to: .now))")
                continue
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
            let progress = ProgressBar(console: console, label: file, total: size)
            options.progress = { progress.advance(by: $0) }
            defer { progress.finish() }
            let table = try CSVReader.read(path: file, options: options)
            let read = ContinuousClock.now
            datasets.append(StatisticsGenerator.statistics(of: table, name: file))
            console.detail("\(file): read in \(start.duration(to: read)), summarised in \(read.duration(to: .now))")
            if !table.skipped.isEmpty {
                skipped[file] = table.skipped.count
                let first = table.skipped.prefix(3).map { "line \($0.line) (\($0.reason))" }.joined(separator: ", ")
                console.warning(
                    "\(file): skipped \(table.skipped.count) bad row\(table.skipped.count == 1 ? "" : "s"): \(first)\(table.skipped.count > 3 ? ", …" : "")"
                )
            }
        }
        return (datasets, skipped)
    }

    /// The split files of an ExampleGen folder (named by split) or one `.examples` file
    /// (named by its header's split); nil for anything else.
    public static func examplesFiles(_ path: String) throws -> [(String, URL)]? {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            guard path.hasSuffix(".examples") else { return nil }
            return [(try ExamplesFile.header(of: url).split, url)]
        }
        let metadata = url.appendingPathComponent(ExampleGen.metadataFile)
        let result: ExampleGen.Result
        do {
            result = try JSONDecoder().decode(ExampleGen.Result.self, from: Data(contentsOf: metadata))
        } catch {
            throw FileError(
                .missing, path: metadata.path,
                detail: "not an ExampleGen output folder (\(error.localizedDescription))",
                hint: "run `mlops data examples` to make one, or name CSV files")
        }
        return result.splits.map { ($0.name, url.appendingPathComponent($0.file)) }
    }

    /// An inferred schema.
    public struct InferredSchema: Sendable {
        /// `schema.pbtxt`'s text, with a comment saying where it came from.
        public let text: String
        public let features: Int
        public let domains: Int
    }

    /// The schema TFDV's `infer_schema` would give `file` (written atomically to `output`
    /// when given). `label` is left out of the SERVING environment and must be a column.
    public static func inferSchema(of file: String, label: String?, output: URL?) throws -> InferredSchema {
        let table = try CSVReader.read(path: file)
        if let label, table.column(label) == nil {
            throw UsageError("--label '\(label)' is not a column of \(file)")
        }
        let statistics = StatisticsGenerator.statistics(of: table, name: file)
        let proto = SchemaInference.infer(from: table, statistics: statistics, label: label)
        let text =
            "# Inferred by mlops \(MLOpsVersion.current) from \(URL(fileURLWithPath: file).lastPathComponent)\n"
            + Schema.text(proto)
        if let output { try AtomicFile.write(Data(text.utf8), to: output) }
        return InferredSchema(text: text, features: statistics.features.count, domains: proto.stringDomain.count)
    }

    /// `file`'s anomalies against the schema at `schemaPath`, with drift against `previous`
    /// and skew against `serving` when given; also as TFMD's `Anomalies`.
    public static func validate(
        _ file: String, schema schemaPath: String, environment: String?, previous: String?, serving: String?
    ) throws -> (anomalies: Anomalies, tfmd: TFMD_Anomalies) {
        let schema = try Schema.load(path: schemaPath)
        var options = CSVOptions()
        // Text features are read as text, so "007" is checked against the domain as written.
        for feature in schema.features where feature.type == .bytes { options.types[feature.name] = .bytes }
        let table = try CSVReader.read(path: file, options: options)
        func comparison(_ path: String?) throws -> ExampleValidator.Comparison? {
            guard let path else { return nil }
            let other = try CSVReader.read(path: path, options: options)
            return ExampleValidator.Comparison(
                table: other, statistics: StatisticsGenerator.statistics(of: other, name: path), label: path)
        }
        let anomalies = ExampleValidator.validate(
            table: table, statistics: StatisticsGenerator.statistics(of: table, name: file), schema: schema,
            environment: environment, previous: try comparison(previous), serving: try comparison(serving))
        return (anomalies, anomalies.tfmd(schema: schema, numExamples: table.rowCount))
    }

    /// The anomalies as `mlops data validate` prints them.
    public static func print(_ anomalies: Anomalies, file: String, schema: String, on console: Console) {
        guard !anomalies.isEmpty else {
            console.line(console.style("✓", .green, bold: true) + " \(file): no anomalies against \(schema)")
            return
        }
        let count = anomalies.features.count + (anomalies.dataset == nil ? 0 : 1)
        console.line(
            console.style("✗", .red, bold: true)
                + " \(file): \(count) anomal\(count == 1 ? "y" : "ies") against \(schema)")
        let width = max(12, anomalies.features.keys.map(\.count).max() ?? 0)
        for name in anomalies.features.keys.sorted() {
            guard let info = anomalies.features[name] else { continue }
            for reason in info.reasons {
                console.line(
                    "  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + info.severity.rawValue
                        + "  " + reason.type + ": " + reason.description)
            }
        }
        for measurement in anomalies.measurements {
            console.line(
                "  \(measurement.comparison) \(measurement.feature): \(measurement.type.rawValue) \(String(format: "%.4f", measurement.value)) (threshold \(measurement.threshold))"
            )
        }
        for reason in anomalies.dataset?.reasons ?? [] {
            console.line(
                "  (dataset)  " + (anomalies.dataset?.severity.rawValue ?? "") + "  " + reason.type + ": "
                    + reason.description)
        }
    }
}
