import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import Tabular

extension BadRowPolicy: ExpressibleByArgument {}

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
                Quantiles are exact. --json gives TFMD DatasetFeatureStatistics field names (docs/statistics.md); \
                --format tfmd-binary or tfmd-json gives TFMD's DatasetFeatureStatisticsList itself, which TFDV's \
                load_stats_binary, visualize_statistics and Facets read. \
                Exits 65 on malformed CSV, naming the file, line and field.
                """)
        static let jsonSchema = "mlops.statistics/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "CSV files, ExampleGen output folders (statistics per split) or .examples files.")
        var files: [String]

        @Option(help: "The field delimiter (one character).")
        var delimiter = ","

        @Option(
            name: .customLong("on-bad-rows"), help: "What to do with rows whose field count differs from the header.")
        var onBadRows: BadRowPolicy = .fail

        @OptionGroup var tfmd: TFMDOutputOptions

        func validate() throws {
            guard delimiter.utf8.count == 1, delimiter != "\"", delimiter != "\n" else {
                throw ValidationError("--delimiter must be one character other than a quote or newline")
            }
            try tfmd.validate(json: global.json)
        }

        struct Output: Encodable {
            let datasets: [DatasetStatistics]
            let skippedRows: [String: Int]
            enum CodingKeys: String, CodingKey { case datasets, skippedRows = "skipped_rows" }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            var options = CSVOptions()
            options.delimiter = delimiter.utf8.first ?? UInt8(ascii: ",")
            options.onBadRows = onBadRows
            let (datasets, skipped) = try DataTools.statistics(of: files, options: options, console: console)
            if try tfmd.write(StatisticsList(datasets: datasets).tfmd, console: console) { return }
            if console.mode == .json || tfmd.wantsJSON {
                try console.json(
                    JSONOutput(schema: Self.jsonSchema, result: Output(datasets: datasets, skippedRows: skipped)))
                return
            }
            for (index, dataset) in datasets.enumerated() {
                if index > 0 { console.line() }
                StatisticsText.print(dataset, on: console)
            }
        }
    }

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
            let schema = try DataTools.inferSchema(
                of: file, label: label, output: output.map { URL(fileURLWithPath: $0) })
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            file: file, output: output, features: schema.features, domains: schema.domains,
                            text: schema.text)))
            } else if let output {
                console.line(
                    "Wrote \(output): \(schema.features) features, \(schema.domains) string domain\(schema.domains == 1 ? "" : "s")."
                )
            } else {
                console.line(schema.text.trimmingCharacters(in: .newlines))
            }
        }
    }

    struct Validate: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Check a CSV file against a TFMD schema and list the anomalies, with TFDV's reason names.",
            discussion: """
                Missing and new columns, unexpected types, values outside string, int and float domains, \
                low presence, NaN or infinity where the schema forbids them, too few examples. \
                --format tfmd-binary or tfmd-json gives TFMD's Anomalies, as TFDV's validate_statistics does. \
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

        @OptionGroup var tfmd: TFMDOutputOptions

        func validate() throws { try tfmd.validate(json: global.json) }

        struct Output: Encodable {
            let file: String
            let schema: String
            let environment: String?
            let anomalies: Anomalies
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let (anomalies, message) = try DataTools.validate(
                file, schema: schema, environment: environment, previous: previous, serving: serving)
            if try tfmd.write(message, console: console) {
                if anomalies.hasErrors { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
                return
            }
            if console.mode == .json || tfmd.wantsJSON {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, ok: !anomalies.hasErrors,
                        result: Output(file: file, schema: schema, environment: environment, anomalies: anomalies)))
            } else {
                DataTools.print(anomalies, file: file, schema: schema, on: console)
            }
            if anomalies.hasErrors { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }
    }
}
