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

        @Option(name: .customLong("on-bad-rows"), help: "fail or skip rows whose field count differs from the header.")
        var onBadRows: String?

        func validate() throws {
            if let span, SpanSelection(span) == nil {
                throw ValidationError("--span must be latest, all, a span number or a range like 3..5")
            }
            if let splits, Self.parseSplits(splits) == nil {
                throw ValidationError(
                    "--splits must look like train=2,eval=1: names of letters, digits, _ or -, weights 1…1000, a train and an eval split"
                )
            }
            if let delimiter, delimiter.utf8.count != 1 || delimiter == "\"" || delimiter == "\n" {
                throw ValidationError("--delimiter must be one character other than a quote or newline")
            }
            if let onBadRows, BadRowPolicy(rawValue: onBadRows) == nil {
                throw ValidationError("--on-bad-rows must be fail or skip")
            }
        }

        static func parseSplits(_ text: String) -> [(name: String, weight: Int)]? {
            var result: [(name: String, weight: Int)] = []
            for part in text.split(separator: ",") {
                let pieces = part.split(separator: "=")
                guard pieces.count == 2, let weight = Int(pieces[1]), (1...1000).contains(weight),
                    !pieces[0].isEmpty, !result.contains(where: { $0.name == pieces[0] }),
                    pieces[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                else { return nil }
                result.append((String(pieces[0]), weight))
            }
            guard result.contains(where: { $0.name == "train" }), result.contains(where: { $0.name == "eval" }) else {
                return nil
            }
            return result
        }

        struct Output: Encodable {
            let output: String
            let seconds: Double
            let examples: ExampleGen.Result
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let root = try context.projectRoot()
            var options = ExampleGen.Options()
            let spans: [SpanFiles]
            if files.isEmpty {
                let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
                let data = config.data
                guard !data.sources.isEmpty else {
                    throw ValidationError("mlops.yaml has no data.sources; name CSV files on the command line instead")
                }
                options.csv.delimiter = data.delimiter.utf8.first ?? UInt8(ascii: ",")
                options.csv.onBadRows = data.onBadRows
                options.splits = data.splits.pairs.map { ($0.name, $0.value) }
                options.partitionColumn = data.partitionColumn
                let selection = span.flatMap(SpanSelection.init) ?? data.span
                spans = try SpanResolver.resolve(patterns: data.sources, selection: selection, root: root)
            } else {
                if span != nil {
                    throw ValidationError("--span applies to the {SPAN} patterns of mlops.yaml, not to FILE")
                }
                let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                spans = [
                    SpanFiles(
                        span: 0, version: nil,
                        files: files.map {
                            $0.hasPrefix("/") ? $0 : cwd.appendingPathComponent($0).standardizedFileURL.path
                        })
                ]
            }
            if let delimiter { options.csv.delimiter = delimiter.utf8.first ?? UInt8(ascii: ",") }
            if let onBadRows { options.csv.onBadRows = BadRowPolicy(rawValue: onBadRows) ?? .fail }
            if let splits { options.splits = Self.parseSplits(splits) ?? options.splits }
            if let partitionColumn { options.partitionColumn = partitionColumn }
            let outputURL = output.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent(".mlops/examples")
            try Self.refuseForeignFolder(outputURL)

            let total = spans.flatMap(\.files).reduce(0) { sum, file in
                let path = file.hasPrefix("/") ? file : root.appendingPathComponent(file).path
                return sum
                    + (((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0)
            }
            let progress = ProgressBar(console: console, label: "ExampleGen", total: total)
            options.csv.progress = { progress.advance(by: $0) }
            let start = ContinuousClock.now
            let result: ExampleGen.Result
            do {
                result = try ExampleGen.run(spans: spans, root: root, output: outputURL, options: options)
            } catch {
                progress.finish()
                throw error
            }
            progress.finish()
            let elapsed = start.duration(to: .now)
            let seconds = elapsed.inSeconds
            for skipped in result.skipped {
                let first = skipped.first.prefix(3).map { "line \($0.line) (\($0.reason))" }.joined(separator: ", ")
                console.warning(
                    "\(skipped.file): skipped \(skipped.count) bad row\(skipped.count == 1 ? "" : "s"): \(first)")
            }
            let shown = output ?? ".mlops/examples"
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, result: Output(output: shown, seconds: seconds, examples: result)))
                return
            }
            let spanText = result.spans.map { span in
                "span \(span.span)" + (span.version.map { " v\($0)" } ?? "")
                    + " (\(span.files.count) file\(span.files.count == 1 ? "" : "s"))"
            }.joined(separator: ", ")
            let rate = seconds > 0 ? Double(result.inputBytes) / seconds / 1e6 : 0
            console.line(
                console.style("ExampleGen", .cyan, bold: true)
                    + "  \(spanText): \(result.rows) rows, \(String(format: "%.1f", Double(result.inputBytes) / 1e6)) MB in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", rate)) MB/s)"
            )
            let width = result.splits.map(\.name.count).max() ?? 5
            for split in result.splits {
                let share = result.rows == 0 ? 0 : 100 * Double(split.rows) / Double(result.rows)
                console.line(
                    "  " + split.name.padding(toLength: width, withPad: " ", startingAt: 0)
                        + "  \(split.rows) rows (\(String(format: "%.1f", share))%)  " + shown + "/" + split.file)
            }
            let weights = result.splits.map { "\($0.name) \($0.weight)" }.joined(separator: " : ")
            console.line(
                "split by " + (result.splitBy == "row" ? "whole-row hash" : "hash of column '\(result.splitBy)'")
                    + " (\(result.hash)), \(weights)")
        }

        /// An existing output folder is replaced only when it is ExampleGen's (or empty).
        static func refuseForeignFolder(_ url: URL) throws {
            let manager = FileManager.default
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
            let contents = isDirectory.boolValue ? ((try? manager.contentsOfDirectory(atPath: url.path)) ?? []) : ["?"]
            guard contents.isEmpty || contents.contains(ExampleGen.metadataFile) else {
                throw FileError(
                    .notWritable, path: url.path,
                    detail: "exists and is not an ExampleGen output; mlops will not replace it",
                    hint: "choose another folder with -o, or remove it")
            }
        }
    }
}
