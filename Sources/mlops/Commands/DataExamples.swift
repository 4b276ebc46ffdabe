import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import Tabular

extension MLOps.DataCommand {
    struct Examples: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "examples",
            abstract: "ExampleGen: read the data sources' spans, split the rows by hash, write columnar examples.",
            discussion: """
                Without FILE, reads `data.sources` of mlops.yaml: the latest span of the {SPAN} patterns \
                (or `data.span`, or --span), the highest {VERSION} of each span, every file matching. \
                Rows go to the splits of `data.splits` (default train 2 : eval 1) by a documented hash of \
                the whole row or of `data.partition_column`, the same on any machine. Writes one columnar \
                file per split and examples.json into the output folder, which is replaced as a whole \
                only when everything is written (docs/examples.md).
                """)
        static let jsonSchema = "mlops.examples/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "CSV files to read as one span (default: the data sources of mlops.yaml).")
        var files: [String] = []

        @Option(help: "Spans to read: latest, all, a number or a range like 3..5 (default: data.span).")
        var span: String?

        @Option(
            help: ArgumentHelp("Splits and weights, e.g. train=2,eval=1 (default: data.splits).", valueName: "splits"))
        var splits: String?

        @Option(name: .customLong("partition-column"), help: "Split by the hash of this column, not of the whole row.")
        var partitionColumn: String?

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("The output folder (default: .mlops/examples in the project).", valueName: "dir"))
        var output: String?

        @Option(help: "The field delimiter (one character; default: data.delimiter or a comma).")
        var delimiter: String?

        @Option(
            name: .customLong("on-bad-rows"), help: "What to do with rows whose field count differs from the header.")
        var onBadRows: BadRowPolicy?

        func validate() throws {
            if let span, SpanSelection(span) == nil {
                throw ValidationError("--span must be latest, all, a span number or a range like 3..5")
            }
            if let splits, DataTools.parseSplits(splits) == nil {
                throw ValidationError(
                    "--splits must look like train=2,eval=1: names of letters, digits, _ or -, weights 1…1000, a train and an eval split"
                )
            }
            if let delimiter, delimiter.utf8.count != 1 || delimiter == "\"" || delimiter == "\n" {
                throw ValidationError("--delimiter must be one character other than a quote or newline")
            }
        }

        struct Output: Encodable {
            let output: String
            let seconds: Double
            let examples: ExampleGen.Result
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            var request = DataTools.ExamplesRequest()
            request.files = files
            request.span = span.flatMap(SpanSelection.init)
            request.splits = splits.flatMap(DataTools.parseSplits)
            request.partitionColumn = partitionColumn
            request.output = output.map { URL(fileURLWithPath: $0) }
            request.delimiter = delimiter?.utf8.first
            request.onBadRows = onBadRows
            let start = ContinuousClock.now
            let result = try DataTools.examples(request, root: try context.projectRoot(), console: console)
            let seconds = start.duration(to: .now).inSeconds
            let shown = output ?? ".mlops/examples"
            DataTools.print(result, seconds: seconds, shown: shown, on: console)
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, result: Output(output: shown, seconds: seconds, examples: result)))
            }
        }
    }
}
