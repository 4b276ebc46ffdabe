import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import Tabular

extension MLOps {
    struct DataCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data", abstract: "Work with data files the way TFDV users do.",
            subcommands: [Examples.self, Stats.self, SchemaCommand.self, Validate.self])
    }
}

extension MLOps.DataCommand {
    struct Stats: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract:
                "Statistics of CSV files: per feature counts, missing, mean, std dev, quantiles, histograms, top values.",
            discussion: """
                Reads each FILE as RFC 4180 CSV with a header (types inferred as INT, FLOAT or BYTES). \
                Quantiles are exact. --json gives TFMD DatasetFeatureStatistics field names (docs/statistics.md). \
                Exits 65 on malformed CSV, naming the file, line and field.
                """)
        static let jsonSchema = "mlops.statistics/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "CSV files, ExampleGen output folders (statistics per split) or .examples files.")
        var files: [String]

        @Option(help: "The field delimiter (one character).")
        var delimiter = ","

        @Option(name: .customLong("on-bad-rows"), help: "fail or skip rows whose field count differs from the header.")
        var onBadRows = "fail"

        func validate() throws {
            guard delimiter.utf8.count == 1, delimiter != "\"", delimiter != "\n" else {
                throw ValidationError("--delimiter must be one character other than a quote or newline")
            }
            guard BadRowPolicy(rawValue: onBadRows) != nil else {
                throw ValidationError("--on-bad-rows must be fail or skip")
            }
        }

        struct Output: Encodable {
            let datasets: [DatasetStatistics]
            let skippedRows: [String: Int]
            enum CodingKeys: String, CodingKey { case datasets, skippedRows = "skipped_rows" }
        }

        func run(context: CommandContext) async throws {
            var options = CSVOptions()
            options.delimiter = delimiter.utf8.first ?? UInt8(ascii: ",")
            options.onBadRows = BadRowPolicy(rawValue: onBadRows) ?? .fail
            var datasets: [DatasetStatistics] = []
            var skipped: [String: Int] = [:]
            for file in files {
                let start = ContinuousClock.now
                if let splits = try Self.examplesFiles(file) {
                    for (name, url) in splits {
                        let table = try ExamplesFile.read(url)
                        datasets.append(StatisticsGenerator.statistics(of: table, name: name))
                    }
                    context.console.detail("\(file): \(splits.count) splits summarised in \(start.duration(to: .now))")
                    continue
                }
                let size =
                    ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
                let progress = ProgressBar(console: context.console, label: file, total: size)
                options.progress = { progress.advance(by: $0) }
                defer { progress.finish() }
                let table = try CSVReader.read(path: file, options: options)
                let read = ContinuousClock.now
                let statistics = StatisticsGenerator.statistics(of: table, name: file)
                datasets.append(statistics)
                context.console.detail(
                    "\(file): read in \(start.duration(to: read)), summarised in \(read.duration(to: .now))")
                if !table.skipped.isEmpty {
                    skipped[file] = table.skipped.count
                    let first = table.skipped.prefix(3).map { "line \($0.line) (\($0.reason))" }.joined(separator: ", ")
                    context.console.warning(
                        "\(file): skipped \(table.skipped.count) bad row\(table.skipped.count == 1 ? "" : "s"): \(first)\(table.skipped.count > 3 ? ", …" : "")"
                    )
                }
            }
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(schema: Self.jsonSchema, result: Output(datasets: datasets, skippedRows: skipped)))
                return
            }
            for (index, dataset) in datasets.enumerated() {
                if index > 0 { console.line() }
                print(dataset, on: console)
            }
        }

        /// The split files of an ExampleGen folder (named by split) or one `.examples` file
        /// (named by its header's split); nil for anything else.
        static func examplesFiles(_ path: String) throws -> [(String, URL)]? {
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

        private func print(_ dataset: DatasetStatistics, on console: Console) {
            let numeric = dataset.features.filter { $0.numeric != nil }
            let text = dataset.features.filter { $0.string != nil }
            console.line(
                console.style(dataset.name, .cyan, bold: true)
                    + "  \(dataset.numExamples) rows, \(dataset.features.count) features (\(numeric.count) numeric, \(text.count) text)"
            )
            let nameWidth = max(8, dataset.features.map(\.name.count).max() ?? 0)
            func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
                let padding = String(repeating: " ", count: max(0, width - text.count))
                return left ? text + padding : padding + text
            }
            func missing(_ feature: FeatureStatistics) -> String {
                let total = feature.numMissing + feature.numNonMissing
                let share = total == 0 ? 0 : 100 * Double(feature.numMissing) / Double(total)
                return "\(feature.numMissing) (\(String(format: "%.1f", share))%)"
            }
            let widths = [9, 15, 11, 11, 7, 11, 11, 11]
            if !numeric.isEmpty {
                console.line()
                console.line(
                    pad("numeric", nameWidth, left: true) + "  type   "
                        + zip(["present", "missing", "mean", "std dev", "zeros", "min", "median", "max"], widths).map {
                            pad($0, $1)
                        }.joined(separator: " "))
                for feature in numeric {
                    guard let stats = feature.numeric else { continue }
                    let cells = [
                        String(feature.numNonMissing), missing(feature), number(stats.mean), number(stats.stdDev),
                        String(stats.numZeros), number(stats.min), number(stats.median), number(stats.max),
                    ]
                    var line =
                        pad(feature.name, nameWidth, left: true) + "  " + pad(feature.type.rawValue, 5, left: true)
                        + "  " + zip(cells, widths).map { pad($0, $1) }.joined(separator: " ")
                    if stats.numNaN + stats.numInfinite > 0 {
                        line += "  (\(stats.numNaN) NaN, \(stats.numInfinite) infinite)"
                    }
                    console.line(line)
                }
            }
            if !text.isEmpty {
                console.line()
                console.line(
                    pad("text", nameWidth, left: true) + "  "
                        + zip(["present", "missing", "unique", "avg len"], [9, 15, 8, 8]).map { pad($0, $1) }.joined(
                            separator: " ") + "  top values")
                for feature in text {
                    guard let stats = feature.string else { continue }
                    let top = stats.topValues.prefix(3).map { "\($0.value) (\($0.frequency))" }.joined(separator: ", ")
                    let cells = [
                        String(feature.numNonMissing), missing(feature), String(stats.unique),
                        String(format: "%.1f", stats.avgLength),
                    ]
                    console.line(
                        pad(feature.name, nameWidth, left: true) + "  "
                            + zip(cells, [9, 15, 8, 8]).map { pad($0, $1) }.joined(separator: " ") + "  " + top)
                }
            }
        }

        private func number(_ value: Double) -> String {
            guard value.isFinite else { return "–" }
            if value != 0 && (abs(value) >= 1e7 || abs(value) < 1e-3) { return String(format: "%.4g", value) }
            return String(format: "%.4f", value).replacingOccurrences(
                of: #"\.?0+$"#, with: "", options: .regularExpression)
        }
    }
}

extension MLOps.DataCommand {
    struct SchemaCommand: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema",
            abstract: "Infer a TFMD schema (schema.pbtxt) from a CSV file, as TFDV's infer_schema does.",
            discussion: """
                Types from the data; presence; one value per cell; a string domain for text features with \
                at most 100 distinct values; with --label, TRAINING and SERVING environments and the label \
                left out of SERVING. Writes to -o atomically, or prints the schema.
                """)
        static let jsonSchema = "mlops.schema/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A CSV file.")
        var file: String

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Write the schema here (default: print it).", valueName: "path"))
        var output: String?

        @Option(help: "The label column: left out of the SERVING environment.")
        var label: String?

        struct Output: Encodable {
            let file: String
            let output: String?
            let features: Int
            let domains: Int
            let text: String
        }

        func run(context: CommandContext) async throws {
            let table = try CSVReader.read(path: file)
            if let label, table.column(label) == nil {
                throw ValidationError("--label '\(label)' is not a column of \(file)")
            }
            let statistics = StatisticsGenerator.statistics(of: table, name: file)
            let proto = SchemaInference.infer(from: table, statistics: statistics, label: label)
            let text =
                "# Inferred by mlops \(MLOpsVersion.current) from \(URL(fileURLWithPath: file).lastPathComponent)\n"
                + proto.text()
            if let output {
                try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: output))
            }
            let console = context.console
            let domains = proto.all("string_domain").count
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            file: file, output: output, features: statistics.features.count, domains: domains,
                            text: text)))
            } else if let output {
                console.line(
                    "Wrote \(output): \(statistics.features.count) features, \(domains) string domain\(domains == 1 ? "" : "s")."
                )
            } else {
                console.line(text.trimmingCharacters(in: .newlines))
            }
        }
    }
}

extension MLOps.DataCommand {
    struct Validate: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a CSV file against a TFMD schema and list the anomalies, with TFDV's reason names.",
            discussion: """
                Missing and new columns, unexpected types, values outside string, int and float domains, \
                low presence, NaN or infinity where the schema forbids them, too few examples. \
                Exits 1 when an anomaly of ERROR severity is found, 0 otherwise.
                """)
        static let jsonSchema = "mlops.anomalies/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A CSV file.")
        var file: String

        @Option(help: ArgumentHelp("The schema (schema.pbtxt).", valueName: "path"))
        var schema: String

        @Option(help: "The environment the data is for (e.g. TRAINING or SERVING).")
        var environment: String?

        @Option(
            help: ArgumentHelp(
                "A previous span of the data: drift, with the schema's drift_comparator thresholds.", valueName: "csv"))
        var previous: String?

        @Option(
            help: ArgumentHelp(
                "Serving data: training/serving skew, with the schema's skew_comparator thresholds.", valueName: "csv"))
        var serving: String?

        struct Output: Encodable {
            let file: String
            let schema: String
            let environment: String?
            let anomalies: Anomalies
        }

        func run(context: CommandContext) async throws {
            let loaded = try Schema.load(path: schema)
            for field in loaded.unknownFields {
                context.console.warning("\(schema): '\(field)' is not a TFMD schema field; kept, not used")
            }
            var options = CSVOptions()
            // Text features are read as text, so "007" is checked against the domain as written.
            for feature in loaded.features where feature.type == .bytes { options.types[feature.name] = .bytes }
            let table = try CSVReader.read(path: file, options: options)
            let statistics = StatisticsGenerator.statistics(of: table, name: file)
            func comparison(_ path: String?) throws -> ExampleValidator.Comparison? {
                guard let path else { return nil }
                let other = try CSVReader.read(path: path, options: options)
                return ExampleValidator.Comparison(
                    table: other, statistics: StatisticsGenerator.statistics(of: other, name: path))
            }
            let anomalies = ExampleValidator.validate(
                table: table, statistics: statistics, schema: loaded, environment: environment,
                previous: try comparison(previous), serving: try comparison(serving))
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, ok: !anomalies.hasErrors,
                        result: Output(file: file, schema: schema, environment: environment, anomalies: anomalies)))
            } else if anomalies.isEmpty {
                console.line(console.style("✓", .green, bold: true) + " \(file): no anomalies against \(schema)")
            } else {
                let count = anomalies.features.count + (anomalies.dataset == nil ? 0 : 1)
                console.line(
                    console.style("✗", .red, bold: true)
                        + " \(file): \(count) anomal\(count == 1 ? "y" : "ies") against \(schema)")
                let width = max(12, anomalies.features.keys.map(\.count).max() ?? 0)
                for name in anomalies.features.keys.sorted() {
                    guard let info = anomalies.features[name] else { continue }
                    for reason in info.reasons {
                        console.line(
                            "  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                                + info.severity.rawValue + "  " + reason.type + ": " + reason.description)
                    }
                }
                for measurement in anomalies.measurements {
                    console.line(
                        "  \(measurement.comparison) \(measurement.feature): \(measurement.type.rawValue) \(String(format: "%.4f", measurement.value)) (threshold \(measurement.threshold))"
                    )
                }
                if let dataset = anomalies.dataset {
                    for reason in dataset.reasons {
                        console.line(
                            "  (dataset)  " + dataset.severity.rawValue + "  " + reason.type + ": " + reason.description
                        )
                    }
                }
            }
            if anomalies.hasErrors { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }
    }
}
