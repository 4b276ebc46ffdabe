import Foundation
import MLOpsCore
import Pipeline
import Serving
import Tabular

/// What reading and joining a labels file found (`mlops monitor --labels`): problems are
/// counted and reported, never fatal, so one bad line does not hide a month of labels.
public struct LabelSummary: Sendable, Codable, Equatable {
    public var file: String
    /// Label records read (lines of JSON Lines, rows of CSV).
    public var records = 0
    /// Records joined to a logged row of the window.
    public var joined = 0
    /// Records whose request id and row match no logged row of the window.
    public var unmatched = 0
    /// Records for a request id and row already labelled (the first one counts).
    public var duplicates = 0
    /// Lines that are not records: not JSON, no `request_id`, a CSV row with the wrong number
    /// of fields.
    public var malformed = 0
    /// `FILE:LINE: what is wrong`, the first ten.
    public var malformedExamples: [String] = []
    /// Joined rows whose label is missing (an empty cell, or what derives it is missing).
    public var unlabeled = 0
    /// Records whose request id and row name more than one logged row of the window (a client
    /// that reuses its ids): which one is meant cannot be told, so none is joined.
    public var ambiguous = 0

    enum CodingKeys: String, CodingKey {
        case file, records, joined, unmatched, duplicates, malformed, malformedExamples = "malformed_examples"
        case unlabeled, ambiguous
    }
}

/// A labels file joined to logged rows by request id (and the row's index in its request,
/// `row`, 0 when the file has none).
public struct LabelJoin: Sendable {
    /// The logged rows that got a label, in the window's row order…
    public let rows: [Int]
    /// …and the labels file's columns for them (the label, or what the transform derives it
    /// from), in the same order.
    public let columns: [Column]
    public let summary: LabelSummary

    /// A labels file that cannot be read at all (missing, or without a `request_id` column).
    public struct ReadError: MLOpsError {
        public let message: String
        public let hint: String?
        public var exitStatus: ExitStatus { .dataError }
    }

    /// Reads `file` (JSON Lines when it ends in `.jsonl`, `.ndjson` or `.json`, else CSV with a
    /// header) and joins it to `logged`.
    public static func join(file: URL, logged: LoggedRows) throws -> LabelJoin {
        var summary = LabelSummary(file: file.path)
        let records: [Record]
        switch file.pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": records = try jsonLines(file, summary: &summary)
        default: records = try csv(file, summary: &summary)
        }
        summary.records = records.count
        // A key logged twice maps to -1: ambiguous.
        var index: [String: Int] = [:]
        index.reserveCapacity(logged.rowCount)
        for row in 0..<logged.rowCount {
            let key = logged.requestIDs[row] + "\u{0}" + String(logged.indexInRequest[row])
            index[key] = index[key] == nil ? row : -1
        }
        var rows: [Int] = []
        var chosen: [Int] = []
        var taken = Set<Int>()
        for (position, record) in records.enumerated() {
            guard let row = index[record.requestID + "\u{0}" + String(record.row)] else {
                summary.unmatched += 1
                continue
            }
            guard row >= 0 else {
                summary.ambiguous += 1
                continue
            }
            guard taken.insert(row).inserted else {
                summary.duplicates += 1
                continue
            }
            rows.append(row)
            chosen.append(position)
        }
        summary.joined = rows.count
        // The label columns of the joined records, in the joined rows' order.
        let names = records.first.map { $0.values.map(\.name) } ?? []
        let columns = names.enumerated().map { position, name -> Column in
            let values = chosen.map { records[$0].values[position].value }
            if values.allSatisfy({ $0 == nil || Double($0!) != nil }) {
                return Column(name: name, numbers: values.map { $0.flatMap(Double.init) ?? .nan })
            }
            return Column(name: name, texts: values)
        }
        return LabelJoin(rows: rows, columns: columns, summary: summary)
    }

    struct Record {
        let requestID: String
        let row: Int
        let values: [(name: String, value: String?)]
    }

    static func note(_ summary: inout LabelSummary, _ file: URL, _ line: Int, _ problem: String) {
        summary.malformed += 1
        if summary.malformedExamples.count < 10 { summary.malformedExamples.append("\(file.path):\(line): \(problem)") }
    }

    static func contents(_ file: URL) throws -> Data {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw FileError(.missing, path: file.path, detail: "the labels file cannot be read")
        }
        return data
    }

    /// `{"request_id": "…", "row": 0, "big_tipper": 1}` a line; every other key a label column.
    static func jsonLines(_ file: URL, summary: inout LabelSummary) throws -> [Record] {
        let data = try contents(file)
        var records: [Record] = []
        var names: [String] = []
        var seen = Set<String>()
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var start = 0
            var line = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                line += 1
                defer { start = end + 1 }
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                guard text.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
                let object: JSONObject
                do throws(JSONSyntaxError) {
                    guard let parsed = try JSONValue.parse(text).object else {
                        note(&summary, file, line, "not a JSON object")
                        continue
                    }
                    object = parsed
                } catch {
                    note(&summary, file, line, "not JSON: \(error.message)")
                    continue
                }
                guard let id = object["request_id"]?.string ?? object["request_id"]?.numberText else {
                    note(&summary, file, line, "no 'request_id'")
                    continue
                }
                var row = 0
                if let value = object["row"] {
                    guard case .number(let number) = value, number >= 0, number == number.rounded() else {
                        note(&summary, file, line, "'row' is not a whole number")
                        continue
                    }
                    row = Int(number)
                }
                for key in object.keys where key != "request_id" && key != "row" && seen.insert(key).inserted {
                    names.append(key)
                }
                records.append(
                    Record(
                        requestID: id, row: row,
                        values: names.map { name in
                            switch object[name] {
                            case .string(let text): (name, text)
                            case .number: (name, object[name]?.numberText)
                            case .bool(let flag): (name, flag ? "1" : "0")
                            default: (name, nil)
                            }
                        }))
            }
        }
        // Not one record: the file is not a labels file (as a CSV without the column is).
        if records.isEmpty, summary.malformed > 0 {
            throw ReadError(
                message:
                    "'\(file.path)' holds no labels record: \(summary.malformedExamples.first ?? "every line is malformed")",
                hint: #"write one JSON object a line: {"request_id": "…", "row": 0, "LABEL": …}"#)
        }
        // Keys first seen on a later line are missing on the earlier ones.
        return records.map { record in
            guard record.values.count < names.count else { return record }
            let known = Dictionary(record.values.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            return Record(
                requestID: record.requestID, row: record.row,
                values: names.map { ($0, known[$0] ?? nil) })
        }
    }

    /// A CSV file with a header naming `request_id`, optionally `row`, and the label columns.
    static func csv(_ file: URL, summary: inout LabelSummary) throws -> [Record] {
        var options = CSVOptions()
        options.onBadRows = .skip
        options.types = ["request_id": .bytes, "row": .int]
        let table: DataTable
        do {
            table = try CSVReader.read(path: file.path, options: options)
        } catch {
            throw ReadError(message: error.description, hint: "give a CSV file with a header, or JSON Lines (.jsonl)")
        }
        for skipped in table.skipped { note(&summary, file, skipped.line, skipped.reason) }
        guard let ids = table.column("request_id") else {
            throw ReadError(
                message:
                    "'\(file.path)' has no 'request_id' column (it has \(table.columns.map(\.name).joined(separator: ", ")))",
                hint: "name the column that holds the served request's id 'request_id'")
        }
        let rowColumn = table.column("row")
        let labels = table.columns.filter { $0.name != "request_id" && $0.name != "row" }
        var records: [Record] = []
        records.reserveCapacity(table.rowCount)
        for row in 0..<table.rowCount {
            // Line numbers of CSV rows: the header is line 1 (a quoted newline shifts them; the
            // count of malformed rows is what matters).
            guard let id = text(ids, row) else {
                note(&summary, file, row + 2, "no request_id")
                continue
            }
            var index = 0
            if let rowColumn {
                guard case .int(let values) = rowColumn.values, rowColumn.present[row], values[row] >= 0 else {
                    note(&summary, file, row + 2, "'row' is not a whole number")
                    continue
                }
                index = Int(values[row])
            }
            records.append(Record(requestID: id, row: index, values: labels.map { ($0.name, text($0, row)) }))
        }
        return records
    }

    /// A cell as text (nil when missing).
    static func text(_ column: Column, _ row: Int) -> String? {
        guard column.present[row] else { return nil }
        switch column.values {
        case .int(let values): return String(values[row])
        case .float(let values): return String(values[row])
        case .bytes(let dictionary, let codes): return codes[row] >= 0 ? dictionary[Int(codes[row])] : nil
        }
    }
}
