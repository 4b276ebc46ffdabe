import Foundation
import MLOpsCore

/// `mlops infer` (TFX's BulkInferrer): a CSV file's rows through a model's transform and
/// XGBoost model, written out in input order with the prediction columns appended.
///
/// The file is parsed on all cores, the transform applies its features on all cores, and
/// XGBoost predicts every row in one call with a thread per core. Rows the CSV reader
/// refuses (a wrong field count) fail the run with their line, or with `skip` are left out
/// and reported. The output is written whole or not at all (a temporary file renamed).
public enum BulkInference {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }

    public struct Summary: Sendable {
        public let rows: Int
        public let skipped: [DataTable.SkippedRow]
        public let predictionColumns: [String]
    }

    /// Reads `input` with the model's column types; `onBadRows` decides over ragged rows.
    public static func read(_ input: String, model: ServableModel, onBadRows: BadRowPolicy) throws -> DataTable {
        var options = CSVOptions()
        options.onBadRows = onBadRows
        options.types = model.readTypes
        let table = try CSVReader.read(path: input, options: options)
        let missing = model.requiredInputs.map(\.name).filter { table.column($0) == nil }
        if !missing.isEmpty {
            throw TransformError(.missingInput(missing[0], available: table.columns.map(\.name)))
        }
        return table
    }

    /// Predicts `table` and writes it with the predictions to `output` (standard output when nil).
    public static func run(
        _ table: DataTable, model: ServableModel, output: URL?, format: Format
    ) throws -> Summary {
        let predictions = try model.predict(table)
        let text = render(table, predictions, format: format)
        if let output {
            try AtomicFile.write(Data(text.utf8), to: output)
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        return Summary(rows: table.rowCount, skipped: table.skipped, predictionColumns: predictions.columns.map(\.name))
    }

    /// The rows as CSV (a header, then the input values as read and the predictions) or as
    /// JSON Lines (one object per row; a missing value is null).
    static func render(_ table: DataTable, _ predictions: Predictions, format: Format) -> String {
        let names = table.columns.map(\.name) + predictions.columns.map(\.name)
        var text = ""
        text.reserveCapacity(table.rowCount * 24 * names.count / 2)
        if format == .csv { text += names.map(csvField).joined(separator: ",") + "\n" }
        let keys = names.map { jsonString($0) + ":" }
        for row in 0..<table.rowCount {
            var cells: [String?] = table.columns.map { cell($0, row) }
            var quoted: [Bool] = table.columns.map { $0.type == .bytes }
            for column in predictions.columns {
                cells.append(column.text(row))
                quoted.append(column.texts != nil)
            }
            switch format {
            case .csv:
                text += cells.map { $0.map(csvField) ?? "" }.joined(separator: ",")
            case .jsonl:
                text += "{"
                for (index, value) in cells.enumerated() {
                    if index > 0 { text += "," }
                    text += keys[index]
                    if let value {
                        text += quoted[index] ? jsonString(value) : (Double(value)?.isFinite == true ? value : "null")
                    } else {
                        text += "null"
                    }
                }
                text += "}"
            }
            text += "\n"
        }
        return text
    }

    /// A cell as text, nil when missing: integers as written, numbers in their shortest form.
    static func cell(_ column: Column, _ row: Int) -> String? {
        guard column.present[row] else { return nil }
        switch column.values {
        case .int(let values): return String(values[row])
        case .float(let values): return "\(values[row])"
        case .bytes(let dictionary, let codes): return codes[row] < 0 ? nil : dictionary[Int(codes[row])]
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A JSON string literal (RFC 8259 escapes), for the JSON this module writes by hand.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
