import Foundation
import MLOpsCore
import Tabular

/// `mlops infer` (TFX's BulkInferrer): a CSV file's rows through a model's transform and
/// XGBoost model, written out in input order with the prediction columns appended.
///
/// The file is memory-mapped and cut at line ends into batches of a few megabytes, as many
/// batches at once as there are cores: each is parsed (only the columns the transform reads,
/// with the model's types), checked against the schema's domains, transformed, predicted in
/// one XGBoost call and rendered; then the batches are written in order. CSV output copies
/// each input row's bytes as written and appends the predictions. A file with a quote
/// character anywhere is one batch (a quoted field may hold a line end).
///
/// Bad rows (a wrong field count, a value of the wrong type, a value outside the schema's
/// domain under `reject`) fail the run with their line, or with `skip` are left out and
/// reported. With an output file, it is written whole or not at all (a temporary file renamed).
public enum BulkInference {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }

    public struct Options: Sendable {
        public var format: Format = .csv
        public var onBadRows: BadRowPolicy = .fail
        public var outOfDomain: OutOfDomain = .reject
        /// The size of a batch, in bytes of input.
        public var batchBytes = 4 << 20
        /// Called after each batch is written, with the input bytes it held.
        public var progress: (@Sendable (Int) -> Void)?
        /// Called after each batch is written, in order, with its rows as read (before the
        /// domain check; the rows it refused left out), their predictions and the line the
        /// batch starts at: what the prediction log records (docs/monitoring.md).
        public var log: (@Sendable (_ rows: DataTable, _ predictions: Predictions, _ firstLine: Int) -> Void)?
        public init() {}
    }

    public struct Summary: Sendable {
        public let rows: Int
        public let skipped: [DataTable.SkippedRow]
        public let predictionColumns: [String]
    }

    /// Predicts every row of `input` and writes them with the predictions to `output`
    /// (standard output when nil).
    public static func run(input: String, model: ServableModel, output: URL?, options: Options) throws -> Summary {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: input), options: .alwaysMapped)
        } catch {
            throw CSVError(.unreadable(detail: (error as NSError).localizedDescription), file: input)
        }
        return try data.withUnsafeBytes { bytes in
            let job = try Job(bytes: bytes, file: input, model: model, options: options)
            guard let output else {
                var writer = FileWriter(descriptor: STDOUT_FILENO, path: "standard output")
                let summary = try job.run(into: &writer)
                try writer.flush()
                return summary
            }
            var summary: Summary?
            try AtomicFile.create(output) { writer in summary = try job.run(into: &writer) }
            guard let summary else { throw InternalError("bulk inference wrote no summary") }
            return summary
        }
    }

    /// How a column's values are written in JSON Lines.
    enum JSONKind {
        /// Always a string (the schema's or transform's BYTES).
        case text
        /// A number; a value JSON cannot hold as one (`nan`) is null, text stays a string.
        case number
        /// Unknown to the model: a JSON number when the text is one, else a string.
        case auto
    }

    struct Batch {
        var output: [UInt8]
        var rows: Int
        var skipped: [DataTable.SkippedRow]
        /// Physical lines the batch spans.
        var lines: Int
        /// With ``Options/log``: the rows as read and their predictions.
        var logged: (rows: DataTable, predictions: Predictions)?
    }

    struct Job {
        let bytes: UnsafeRawBufferPointer
        let file: String
        let model: ServableModel
        let options: Options
        let names: [String]
        let dataStart: Int
        let headerLines: Int
        let read: CSVOptions
        let kinds: [JSONKind]
        let keys: [[UInt8]]

        init(bytes: UnsafeRawBufferPointer, file: String, model: ServableModel, options: Options) throws {
            self.bytes = bytes
            self.file = file
            self.model = model
            self.options = options
            let header = try CSVReader.readHeader(bytes, file: file)
            let names = header.names
            self.names = names
            dataStart = header.end
            headerLines = header.lines
            let inputs = model.requiredInputs
            if let missing = inputs.first(where: { !names.contains($0.name) }) {
                throw TransformError(.missingInput(missing.name, available: names))
            }
            var read = CSVOptions()
            read.onBadRows = options.onBadRows
            read.columns = Set(inputs.map(\.name))
            read.types = Dictionary(inputs.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
            read.strictTypes = true
            read.recordRanges = true
            read.parallel = false
            self.read = read
            let types = read.types
            kinds = names.map { name in
                let type = types[name] ?? model.schema?.feature(name)?.type
                switch type {
                case .bytes?: return .text
                case .int?, .float?: return .number
                case nil: return .auto
                }
            }
            keys = (names + model.outputNames).map { Array((StringLiteral.json($0) + ":").utf8) }
        }

        /// The batches: cut at line ends every `batchBytes`, or the whole file when it quotes.
        func batches() -> [Range<Int>] {
            guard dataStart < bytes.count, let base = bytes.baseAddress else { return [] }
            if memchr(base + dataStart, 0x22, bytes.count - dataStart) != nil { return [dataStart..<bytes.count] }
            var ranges: [Range<Int>] = []
            var start = dataStart
            while start < bytes.count {
                var end = min(bytes.count, start + max(1, options.batchBytes))
                if end < bytes.count, let newline = memchr(base + end - 1, 0x0A, bytes.count - end + 1) {
                    end = base.distance(to: UnsafeRawPointer(newline)) + 1
                } else {
                    end = bytes.count
                }
                ranges.append(start..<end)
                start = end
            }
            return ranges
        }

        func run(into writer: inout FileWriter) throws -> Summary {
            let outputs = model.outputNames
            if options.format == .csv {
                try writer.write(
                    Array(((names + outputs).map(BulkInference.csvField).joined(separator: ",") + "\n").utf8))
            }
            let ranges = batches()
            let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
            var linesBefore = headerLines
            var rows = 0
            var skipped: [DataTable.SkippedRow] = []
            for window in stride(from: 0, to: ranges.count, by: width) {
                let slice = Array(ranges[window..<min(window + width, ranges.count)])
                let results = concurrentMap(slice.count) { index in Result { try batch(slice[index]) } }
                for (range, result) in zip(slice, results) {
                    let batch: Batch
                    do {
                        batch = try result.get()
                    } catch let error as CSVError {
                        throw CSVError(
                            error.kind, file: error.file, line: error.line.map { $0 + linesBefore }, field: error.field)
                    }
                    let shift = linesBefore
                    skipped += batch.skipped.map { .init(line: $0.line + shift, reason: $0.reason) }
                    rows += batch.rows
                    try writer.write(batch.output)
                    if let logged = batch.logged { options.log?(logged.rows, logged.predictions, linesBefore + 1) }
                    linesBefore += batch.lines
                    options.progress?(range.count)
                }
            }
            return Summary(rows: rows, skipped: skipped, predictionColumns: outputs)
        }

        /// One batch read, checked, predicted and rendered; lines count from 1 at its start.
        func batch(_ range: Range<Int>) throws -> Batch {
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[range])
            let parsed = try CSVReader.parseRows(chunk, names: names, file: file, firstLine: 1, options: read)
            var table = parsed.table
            var raw = options.log == nil ? nil : parsed.table
            var skipped = table.skipped
            let checked = model.domain.apply(table, policy: options.outOfDomain)
            table = checked.table
            if !checked.refusals.isEmpty {
                let lines = Self.lines(at: checked.refusals.map { table.records[$0.row].lowerBound }, in: chunk)
                if options.onBadRows == .fail, let first = checked.refusals.first {
                    throw CSVError(
                        .outOfDomain(column: first.column, detail: first.detail), file: file, line: lines[0],
                        field: names.firstIndex(of: first.column).map { $0 + 1 })
                }
                for (refusal, line) in zip(checked.refusals, lines) {
                    skipped.append(.init(line: line, reason: "column '\(refusal.column)': \(refusal.detail)"))
                }
                skipped.sort { $0.line < $1.line }
                table = table.removingRows(Set(checked.refusals.map(\.row)))
                raw = raw?.removingRows(Set(checked.refusals.map(\.row)))
            }
            let predictions = try model.predict(table)
            var output: [UInt8] = []
            output.reserveCapacity(range.count + table.rowCount * (options.format == .csv ? 16 : 8 * keys.count))
            switch options.format {
            case .csv: renderCSV(table, predictions, chunk, into: &output)
            case .jsonl: try renderJSONLines(table, predictions, chunk, into: &output)
            }
            return Batch(
                output: output, rows: table.rowCount, skipped: skipped, lines: parsed.lines,
                logged: raw.map { ($0, predictions) })
        }

        /// Each row as it was written, then its predictions.
        func renderCSV(
            _ table: DataTable, _ predictions: Predictions, _ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]
        ) {
            for row in 0..<table.rowCount {
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[table.records[row]]))
                for column in predictions.columns {
                    output.append(UInt8(ascii: ","))
                    guard let text = column.text(row) else { continue }
                    output.append(contentsOf: (column.texts == nil ? text : BulkInference.csvField(text)).utf8)
                }
                output.append(UInt8(ascii: "\n"))
            }
        }

        /// Each row as one JSON object: the fields as written (typed by ``JSONKind``), then the
        /// predictions.
        func renderJSONLines(
            _ table: DataTable, _ predictions: Predictions, _ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]
        ) throws {
            var fields: [FieldSpan] = []
            for row in 0..<table.rowCount {
                var scanner = CSVScanner(
                    bytes: UnsafeRawBufferPointer(rebasing: chunk[table.records[row]]), file: file, options: read,
                    skipBOM: false)
                _ = try scanner.nextRecord(into: &fields)
                output.append(UInt8(ascii: "{"))
                for (index, span) in fields.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    output.append(contentsOf: keys[index])
                    try CSVScanner.withText(span, in: scanner.bytes) { text in
                        BulkInference.appendJSON(text, kind: kinds[index], empty: span.isEmpty, into: &output)
                    }
                }
                for (index, column) in predictions.columns.enumerated() {
                    output.append(UInt8(ascii: ","))
                    output.append(contentsOf: keys[names.count + index])
                    output.append(contentsOf: column.json(row).utf8)
                }
                output.append(contentsOf: "}\n".utf8)
            }
        }

        /// The 1-based line of each offset (ascending) in `chunk`.
        static func lines(at offsets: [Int], in chunk: UnsafeRawBufferPointer) -> [Int] {
            var line = 1
            var position = 0
            return offsets.map { offset in
                while position < offset {
                    if chunk[position] == 0x0A { line += 1 }
                    position += 1
                }
                return line
            }
        }
    }

    /// A field as a JSON value: null when empty, else by `kind`.
    static func appendJSON(_ text: UnsafeRawBufferPointer, kind: JSONKind, empty: Bool, into output: inout [UInt8]) {
        if empty {
            output.append(contentsOf: "null".utf8)
            return
        }
        if kind != .text {
            if isJSONNumber(text) {
                output.append(contentsOf: text)
                return
            }
            if kind == .number, let value = CSVReader.parseDouble(text) {
                output.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
                return
            }
        }
        output.append(contentsOf: StringLiteral.json(String(decoding: text, as: UTF8.self)).utf8)
    }

    /// RFC 8259's number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isJSONNumber(_ text: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = text.count
        func digits() -> Int {
            let start = index
            while index < count, text[index] >= 0x30, text[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < count, text[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count else { return false }
        if text[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return false
        }
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            if digits() == 0 { return false }
        }
        if index < count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            if digits() == 0 { return false }
        }
        return index == count
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
