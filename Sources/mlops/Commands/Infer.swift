import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import Serving
import Tabular

extension BulkInference.Format: ExpressibleByArgument {}

extension MLOps {
    struct Infer: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "infer",
            abstract: "Bulk inference (TFX's BulkInferrer): a CSV file's rows through a model, predictions appended.",
            discussion: """
                MODEL is a model folder (the Trainer's `model` artifact: model.json, transform.json, \
                schema.pbtxt, history.json) or `latest`, the newest model `mlops train` made in this \
                project. Rows go through the fitted transform as in training and one XGBoost predict \
                call; the output keeps the input order: the input columns as read, then `probability` \
                and `predicted_class` (binary), `probability_<class>` per class and `predicted_class` \
                (multiclass) or `prediction` (regression). Without --output it goes to standard output. \
                Columns only training has (the label) may be absent (docs/serving.md).
                """)
        static let jsonSchema = "mlops.infer/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A model folder, or `latest` for the newest model of this project.")
        var model: String

        @Option(help: ArgumentHelp("The CSV file of rows to predict.", valueName: "file.csv"))
        var input: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the rows with predictions.", valueName: "file"))
        var output: String?

        @Option(help: "csv, or jsonl (one JSON object per row).")
        var format: BulkInference.Format = .csv

        @Option(
            name: .customLong("on-bad-rows"),
            help: """
                fail (exit 65) or skip bad rows: a wrong field count, a value of the wrong type, a value \
                outside the schema's domain (under --out-of-domain reject).
                """)
        var onBadRows: BadRowPolicy = .fail

        @Option(
            name: .customLong("out-of-domain"),
            help: """
                A value outside the schema's domain: reject (a bad row), missing (read as missing) or keep (default: serving.out_of_domain \
                of mlops.yaml, which InfraValidator tests, else reject).
                """)
        var outOfDomain: OutOfDomain?

        @Option(
            name: .customLong("log-predictions"),
            help: ArgumentHelp(
                "Log each batch's rows and predictions as JSON lines in this folder, as `mlops serve` does (default: serving.log.path of mlops.yaml when serving.log is set; `none`: off).",
                valueName: "folder"))
        var logPredictions: String?

        struct Output: Encodable {
            let model: String
            let input: String
            let output: String?
            let rows: Int
            let skippedRows: [DataTable.SkippedRow]
            let predictionColumns: [String]
            let seconds: Double

            enum CodingKeys: String, CodingKey {
                case model, input, output, rows, skippedRows = "skipped_rows", predictionColumns = "prediction_columns"
                case seconds
            }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            guard output != nil || console.mode != .json else {
                throw ValidationError("--json needs --output: the predictions and the JSON summary would share stdout")
            }
            let (folder, released) = try context.model(model)
            let start = ContinuousClock.now
            let servable = try ServableModel(folder: folder)
            var options = BulkInference.Options()
            (options.format, options.onBadRows) = (format, onBadRows)
            options.outOfDomain = try outOfDomain ?? context.servingPolicy()
            // Each batch is one request of the log, named by the input file and its first line;
            // a batch job waits for the writer rather than dropping rows.
            let logOutput = try context.predictionLog(flag: logPredictions).map { settings in
                try PredictionLogOutput(
                    settings: settings,
                    model: try LoggedModel.of(
                        folder: folder, name: released.flatMap { Serve.isServable($0) ? $0 : nil } ?? "model"),
                    warn: { console.warning($0) })
            }
            let log = logOutput?.log
            if let log {
                // FILE:LINE@RUN: the same file scored twice gives two sets of ids.
                let name = URL(fileURLWithPath: input).lastPathComponent
                let run = UUID().uuidString.lowercased().prefix(8)
                options.log = { rows, predictions, line in
                    log.record(
                        requestID: "\(name):\(line)@\(run)", table: rows, predictions: predictions, waitForRoom: true)
                }
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
            let bar = size >= ProgressBar.threshold ? ProgressBar(console: console, label: "infer", total: size) : nil
            if let bar { options.progress = { bar.advance(by: $0) } }
            let summary: BulkInference.Summary
            do {
                summary = try BulkInference.run(
                    input: input, model: servable, output: output.map { URL(fileURLWithPath: $0) }, options: options)
            } catch {
                // No output was written: neither is the rest of the log.
                logOutput?.discard()
                throw error
            }
            bar?.finish()
            if let logOutput {
                for problem in logOutput.close() { console.warning(problem) }
                console.detail("logged \(summary.rows) rows to \(logOutput.log.settings.destination)")
            }
            let seconds = start.duration(to: .now).inSeconds
            if !summary.skipped.isEmpty {
                let first = summary.skipped.prefix(3).map { "line \($0.line) (\($0.reason))" }.joined(separator: ", ")
                console.warning(
                    "\(input): skipped \(summary.skipped.count) bad row\(summary.skipped.count == 1 ? "" : "s"): \(first)"
                )
            }
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            model: folder.path, input: input, output: output, rows: summary.rows,
                            skippedRows: summary.skipped, predictionColumns: summary.predictionColumns,
                            seconds: seconds)))
                return
            }
            let rate = seconds > 0 ? Double(summary.rows) / seconds : 0
            let text =
                "\(summary.rows) rows predicted (\(servable.task): \(summary.predictionColumns.joined(separator: ", "))) in "
                + String(format: "%.2f s, %.0f rows/s", seconds, rate) + (output.map { " → \($0)" } ?? "")
            // With the predictions on stdout, the summary goes to stderr.
            if output == nil { console.note(text) } else { console.line(text) }
        }
    }
}
