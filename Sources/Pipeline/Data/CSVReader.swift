import Foundation

/// Feature types as in TensorFlow Metadata: 64-bit integers, doubles, or bytes (text).
public enum FeatureType: String, Sendable, Codable, CaseIterable {
    case int = "INT"
    case float = "FLOAT"
    case bytes = "BYTES"
}

/// One column of a table, stored contiguously by type, with a presence flag per row
/// (an empty cell, quoted or not, is missing).
public struct Column: Sendable {
    public enum Values: Sendable {
        case int([Int64])
        case float([Double])
        /// Dictionary-encoded text: `codes[row]` indexes `dictionary` (-1 where missing).
        case bytes(dictionary: [String], codes: [Int32])
    }

    public let name: String
    public let type: FeatureType
    public let values: Values
    public let present: [Bool]

    public var presentCount: Int { present.lazy.filter { $0 }.count }

    /// A numeric column; NaN is missing.
    public init(name: String, numbers: [Double]) {
        self.init(name: name, type: .float, values: .float(numbers), present: numbers.map { !$0.isNaN })
    }

    /// An integer column; nil is missing.
    public init(name: String, integers: [Int64?]) {
        self.init(
            name: name, type: .int, values: .int(integers.map { $0 ?? 0 }), present: integers.map { $0 != nil })
    }

    /// A text column, dictionary-encoded; nil is missing.
    public init(name: String, texts: [String?]) {
        var dictionary = ByteDictionary()
        let codes = texts.map { $0.map { dictionary.code(for: $0) } ?? -1 }
        self.init(
            name: name, type: .bytes, values: .bytes(dictionary: dictionary.strings, codes: codes),
            present: texts.map { $0 != nil })
    }

    init(name: String, type: FeatureType, values: Values, present: [Bool]) {
        self.name = name
        self.type = type
        self.values = values
        self.present = present
    }
}

/// A CSV file read into columns.
public struct DataTable: Sendable {
    public struct SkippedRow: Sendable, Hashable, Codable {
        public let line: Int
        public let reason: String

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    public let file: String
    public let columns: [Column]
    public let rowCount: Int
    /// Rows left out under `on_bad_rows: skip`, with their line and why.
    public let skipped: [SkippedRow]
    /// Each row's ``SplitHash`` when ``CSVOptions/rowHash`` asked for it, else empty.
    public let rowHashes: [UInt64]
    /// Each row's bytes in what was read, without the line end, when
    /// ``CSVOptions/recordRanges`` asked for them, else empty.
    public let records: [Range<Int>]

    public init(
        file: String, columns: [Column], rowCount: Int, skipped: [SkippedRow] = [], rowHashes: [UInt64] = [],
        records: [Range<Int>] = []
    ) {
        self.file = file
        self.columns = columns
        self.rowCount = rowCount
        self.skipped = skipped
        self.rowHashes = rowHashes
        self.records = records
    }

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
}

/// Reading options; the defaults follow RFC 4180 with a comma.
public struct CSVOptions: Sendable {
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var onBadRows: BadRowPolicy = .fail
    /// Largest field accepted, in bytes.
    public var maxFieldBytes: Int = 1 << 20
    /// Types to use instead of inferring them (from a schema), by column name.
    public var types: [String: FeatureType] = [:]
    /// Parse a large file without quotes on all cores (the result is the same either way).
    public var parallel = true
    /// Hash each row as it is read (for ExampleGen's split), by whole row or by one column.
    public var rowHash: SplitHash.Key?
    /// Called now and then from any thread with the number of bytes read since the last call.
    public var progress: (@Sendable (Int) -> Void)?
    /// The columns to store, nil for all; the others are read for their field count only.
    public var columns: Set<String>?
    /// A value that is not of its column's type in `types` makes its row bad (`wrongType`):
    /// the read fails, or under `onBadRows: skip` the row is skipped. Otherwise such a value
    /// is missing, for the validator to count.
    public var strictTypes = false
    /// Record where each row's bytes are (``DataTable/records``), to copy rows as written.
    public var recordRanges = false

    public init() {}
}

/// An RFC 4180 reader over a memory-mapped file: quoted fields with doubled quotes, embedded
/// delimiters and newlines, LF or CRLF line ends, a UTF-8 byte-order mark, a required header.
///
/// Types are inferred per column as in TFMD: INT when every present cell is a 64-bit
/// integer, FLOAT when every present cell is a number (`nan`, `inf` and overflowing values
/// such as `1e400` are FLOAT values, for the validator to judge), BYTES otherwise. A column
/// with no present cell is FLOAT. Numbers are parsed to the same Double as `strtod`
/// (a correctly rounded fast path, `strtod` for the rest). Fields are not trimmed: ` 12` is
/// text, and so are C hex floats like `0x1A`.
public enum CSVReader {
    public static func read(path: String, options: CSVOptions = CSVOptions()) throws(CSVError) -> DataTable {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw CSVError(.unreadable(detail: (error as NSError).localizedDescription), file: path)
        }
        let result: Result<DataTable, CSVError> = data.withUnsafeBytes { raw in
            Result { () throws(CSVError) -> DataTable in try parse(raw, file: path, options: options) }
        }
        return try result.get()
    }

    /// Parses CSV bytes; `file` names them in errors.
    ///
    /// One pass parses every cell straight into its column's typed storage. A column whose
    /// type is inferred starts as INT and is promoted to FLOAT when a non-integer number
    /// appears (its integers are converted). When text appears after numbers, the numbers'
    /// original spelling matters (`007`), so that column alone is read again in a second pass.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions = CSVOptions())
        throws(CSVError) -> DataTable
    {
        let header = try readHeader(bytes, file: file, options: options)
        let names = header.names
        let dataStart = header.end
        var scanner = Scanner(bytes: bytes, file: file, options: options)
        scanner.position = header.end
        scanner.line = header.lines + 1
        var hashColumn: Int?
        switch options.rowHash {
        case nil: hashColumn = nil
        case .wholeRow?: hashColumn = -1
        case .column(let name)?:
            guard let index = names.firstIndex(of: name) else {
                throw CSVError(.missingColumn(name: name, columns: names), file: file, line: 1)
            }
            hashColumn = index
        }
        options.progress?(dataStart)
        let startLine = scanner.line
        // Without a single quote character every newline ends a record, so the rows can be
        // cut at newlines and parsed on all cores; otherwise, one pass in order.
        var parts: [RowsResult]
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if options.parallel, cores > 1, bytes.count - dataStart > (4 << 20), let base = bytes.baseAddress,
            memchr(base + dataStart, 0x22, bytes.count - dataStart) == nil
        {
            parts = try parseInParallel(
                bytes, from: dataStart, firstLine: startLine, chunks: cores, names: names, hashColumn: hashColumn,
                file: file, options: options)
        } else {
            parts = [try parseRows(&scanner, names: names, hashColumn: hashColumn, options: options)]
        }
        return try assemble(
            &parts, names: names, bytes: bytes, dataStart: dataStart, startLine: startLine, file: file,
            options: options)
    }

    /// The header: the column names, where the rows start and how many lines it took.
    public static func readHeader(_ bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions = CSVOptions())
        throws(CSVError) -> (names: [String], end: Int, lines: Int)
    {
        var scanner = Scanner(bytes: bytes, file: file, options: options)
        var header: [Span] = []
        guard try scanner.nextRecord(into: &header), !(header.count == 1 && header[0].isEmpty) else {
            throw CSVError(.empty, file: file, line: 1)
        }
        var names: [String] = []
        for (index, span) in header.enumerated() {
            let name = String(decoding: scanner.text(span), as: UTF8.self)
            guard !name.isEmpty else {
                throw CSVError(.emptyHeader(column: index + 1), file: file, line: 1, field: index + 1)
            }
            if let first = names.firstIndex(of: name) {
                throw CSVError(
                    .duplicateHeader(name: name, firstColumn: first + 1), file: file, line: 1, field: index + 1)
            }
            names.append(name)
        }
        return (names, scanner.position, scanner.line - 1)
    }

    /// Parses rows without a header, in one pass: a part of a file cut at a line end, whose
    /// columns are `names` and whose first line is `firstLine` (for messages). Also returns
    /// the number of lines read. ``DataTable/records`` are offsets into `bytes`.
    public static func parseRows(
        _ bytes: UnsafeRawBufferPointer, names: [String], file: String, firstLine: Int,
        options: CSVOptions = CSVOptions()
    ) throws(CSVError) -> (table: DataTable, lines: Int) {
        var scanner = Scanner(bytes: bytes, file: file, options: options, skipBOM: false)
        scanner.line = firstLine
        var parts = [try parseRows(&scanner, names: names, hashColumn: nil, options: options)]
        let lines = parts[0].lines
        let table = try assemble(
            &parts, names: names, bytes: bytes, dataStart: 0, startLine: firstLine, file: file, options: options)
        return (table, lines)
    }

    /// The columns to store, as indices into the header.
    static func stored(_ names: [String], _ options: CSVOptions) -> [Int] {
        guard let wanted = options.columns else { return Array(names.indices) }
        return names.indices.filter { wanted.contains(names[$0]) }
    }

    /// One table from the parts read: their columns merged, and text read again for the
    /// columns that became text after numbers.
    private static func assemble(
        _ parts: inout [RowsResult], names: [String], bytes: UnsafeRawBufferPointer, dataStart: Int, startLine: Int,
        file: String, options: CSVOptions
    ) throws(CSVError) -> DataTable {
        let stored = stored(names, options)
        let rowCount = parts.reduce(0) { $0 + $1.rows }
        let skipped = parts.flatMap(\.skipped)
        let rowHashes = parts.count == 1 ? parts[0].hashes : parts.flatMap(\.hashes)
        let records = parts.count == 1 ? parts[0].records : parts.flatMap(\.records)
        // Take every chunk's columns out and drop the chunks, so each column's arrays are
        // uniquely owned and merging appends to the first chunk's arrays in place.
        var pieces = stored.indices.map { slot in parts.map { $0.builders[slot] } }
        parts.removeAll()
        let forced = stored.map { options.types[names[$0]] }
        var builders = pieces.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let columns = buffer  // each column's pieces are merged by one thread
            return concurrentMap(stored.count) { slot in
                defer { columns[slot] = [] }
                return ColumnBuilder.merge(&columns[slot], forced: forced[slot])
            }
        }
        // Columns that became text after numbers: read their text again (skipping the rows
        // the first pass skipped).
        let rereads = builders.indices.filter { builders[$0].needsTextPass }
        if !rereads.isEmpty {
            for slot in rereads {
                builders[slot] = ColumnBuilder(forced: .bytes, name: names[stored[slot]], file: file)
            }
            let skippedLines = Set(skipped.map(\.line))
            var second = Scanner(bytes: bytes, file: file, options: options, skipBOM: dataStart == 0)
            second.position = dataStart
            second.line = startLine
            var ignored: [DataTable.SkippedRow] = []
            try readRows(&second, width: names.count, policy: options.onBadRows, skipped: &ignored) {
                (record, line, _, reader) throws(CSVError) in
                if skippedLines.contains(line) { return }
                for slot in rereads {
                    try builders[slot].append(record[stored[slot]], bytes: reader.bytes, line: line)
                }
            }
        }
        let columns = zip(stored, builders).map { index, builder in builder.finish(name: names[index]) }
        return DataTable(
            file: file, columns: columns, rowCount: rowCount, skipped: skipped, rowHashes: rowHashes, records: records)
    }

    struct RowsResult {
        /// One per stored column.
        var builders: [ColumnBuilder]
        var rows: Int
        var skipped: [DataTable.SkippedRow]
        var hashes: [UInt64]
        var records: [Range<Int>]
        /// Line ends read.
        var lines: Int
    }

    /// `hashColumn`: nil for no row hashes, -1 to hash whole rows, else the column to hash.
    private static func parseRows(
        _ scanner: inout Scanner, names: [String], hashColumn: Int?, options: CSVOptions
    ) throws(CSVError) -> RowsResult {
        let stored = stored(names, options)
        var builders = stored.map { index in
            ColumnBuilder(
                forced: options.types[names[index]], name: names[index], file: scanner.file,
                strictField: options.strictTypes ? index + 1 : nil)
        }
        var skipped: [DataTable.SkippedRow] = []
        var hashes: [UInt64] = []
        var records: [Range<Int>] = []
        var rows = 0
        let progress = options.progress
        let start = scanner.position
        let startLine = scanner.line
        var reported = start
        let width = names.count
        let skipBadValues = options.onBadRows == .skip
        var refusedRows: [DataTable.SkippedRow] = []  // skipped for a value, beside the ragged ones
        try readRows(&scanner, width: width, policy: options.onBadRows, skipped: &skipped) {
            (record, line, recordStart, reader) throws(CSVError) in
            // The column reached and the error, when a value is refused.
            let refused: (slot: Int, error: CSVError)? = builders.withUnsafeMutableBufferPointer { columns in
                for slot in 0..<stored.count {
                    do throws(CSVError) {
                        try columns[slot].append(record[stored[slot]], bytes: reader.bytes, line: line)
                    } catch {
                        return (slot, error)
                    }
                }
                return nil
            }
            if let refused {
                guard skipBadValues, case .wrongType = refused.error.kind else { throw refused.error }
                for slot in 0..<refused.slot { builders[slot].removeLast() }
                refusedRows.append(.init(line: line, reason: refused.error.message))
                return
            }
            if options.recordRanges, let last = record.last {
                records.append(recordStart..<(last.end + (last.quoted ? 1 : 0)))
            }
            if let hashColumn {
                hashes.append(SplitHash.hash(record, column: hashColumn, in: reader.bytes))
            }
            rows += 1
            if rows == 256 {
                // Room for the rows to come, from the size of the first ones: no regrowing.
                let perRow = Double(reader.position - start) / 256
                let expected = Int(Double(reader.bytes.count - start) / max(perRow, 1) * 1.05) + 256
                for index in builders.indices { builders[index].reserve(expected) }
            }
            if let progress, reader.position - reported >= (1 << 20) {
                progress(reader.position - reported)
                reported = reader.position
            }
        }
        progress?(scanner.position - reported)
        if !refusedRows.isEmpty { skipped = (skipped + refusedRows).sorted { $0.line < $1.line } }
        return RowsResult(
            builders: builders, rows: rows, skipped: skipped, hashes: hashes, records: records,
            lines: scanner.line - startLine)
    }

    /// Cuts the rows (which hold no quotes) at newlines into `chunks` parts and parses them at
    /// once. Lines in errors and skipped rows are made absolute again.
    private static func parseInParallel(
        _ bytes: UnsafeRawBufferPointer, from start: Int, firstLine: Int, chunks: Int, names: [String],
        hashColumn: Int?, file: String, options: CSVOptions
    ) throws(CSVError) -> [RowsResult] {
        var cuts = [start]
        for chunk in 1..<chunks {
            var cut = max(cuts[chunk - 1], start + (bytes.count - start) * chunk / chunks)
            while cut < bytes.count, bytes[cut - 1] != 0x0A { cut += 1 }
            cuts.append(cut)
        }
        cuts.append(bytes.count)
        // Each chunk counts lines from 1; its first line is known once the chunks before it
        // are parsed, and its errors and skipped rows are moved there afterwards.
        var results = [Result<RowsResult, CSVError>?](repeating: nil, count: chunks)
        let bounds = cuts
        nonisolated(unsafe) let input = bytes  // read-only for every chunk
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer  // each chunk writes its own slot
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let cuts = bounds
                let bytes = input
                var scanner = Scanner(
                    bytes: UnsafeRawBufferPointer(rebasing: bytes[cuts[chunk]..<cuts[chunk + 1]]), file: file,
                    options: options, skipBOM: false)
                slots[chunk] = Result { () throws(CSVError) -> RowsResult in
                    try parseRows(&scanner, names: names, hashColumn: hashColumn, options: options)
                }
            }
        }
        var parts: [RowsResult] = []
        var line = firstLine
        for result in results {
            guard let result else {
                throw CSVError(.unreadable(detail: "internal error: a chunk was not parsed"), file: file)
            }
            let shift = line - 1
            switch result {
            case .success(var part):
                part.skipped = part.skipped.map { DataTable.SkippedRow(line: $0.line + shift, reason: $0.reason) }
                let offset = cuts[parts.count]
                if offset != 0 {
                    part.records = part.records.map { ($0.lowerBound + offset)..<($0.upperBound + offset) }
                }
                line += part.lines
                parts.append(part)
            case .failure(let error):
                throw CSVError(error.kind, file: error.file, line: error.line.map { $0 + shift }, field: error.field)
            }
        }
        return parts
    }

    /// Calls `body` with each well-formed record, its line and where it starts; ragged rows
    /// fail or are skipped.
    private static func readRows(
        _ scanner: inout Scanner, width: Int, policy: BadRowPolicy, skipped: inout [DataTable.SkippedRow],
        _ body: ([Span], Int, Int, Scanner) throws(CSVError) -> Void
    ) throws(CSVError) {
        var record: [Span] = []
        record.reserveCapacity(width)
        while true {
            let line = scanner.line
            let start = scanner.position
            guard try scanner.nextRecord(into: &record) else { return }
            // A blank line is skipped, except in a one-column file, where it is a missing value.
            if width > 1 && record.count == 1 && record[0].isEmpty && !record[0].quoted { continue }
            guard record.count == width else {
                if policy == .skip {
                    skipped.append(.init(line: line, reason: "\(record.count) fields, the header has \(width)"))
                    continue
                }
                throw CSVError(.raggedRow(expected: width, found: record.count), file: scanner.file, line: line)
            }
            try body(record, line, start, scanner)
        }
    }

    /// One column's storage while reading: typed values and presence.
    struct ColumnBuilder {
        enum State { case int, float, bytes }
        let forced: FeatureType?
        var state: State
        var ints: [Int64] = []
        var floats: [Double] = []
        var dictionary = ByteDictionary()
        var codes: [Int32] = []
        var present: [Bool] = []
        var sawNumber = false
        /// Text appeared after numbers in an inferred column: its text must be read again.
        var needsTextPass = false

        /// Who the column is, for messages; a class so copying a builder copies one reference.
        final class Context: Sendable {
            let name: String
            let file: String
            /// The column's field number when a wrong type is an error (`strictTypes`).
            let strictField: Int?
            init(name: String, file: String, strictField: Int?) {
                self.name = name
                self.file = file
                self.strictField = strictField
            }
        }
        let context: Context

        init(forced: FeatureType?, name: String, file: String, strictField: Int? = nil) {
            self.context = Context(name: name, file: file, strictField: strictField)
            self.forced = forced
            switch forced {
            case .int?, nil: state = .int
            case .float?: state = .float
            case .bytes?: state = .bytes
            }
        }

        /// Appends one cell. The hot path takes only the span and the mapped bytes: the column's
        /// name and file (needed only for errors) live in `context`, so nothing is retained per cell.
        mutating func append(_ span: Span, bytes: UnsafeRawBufferPointer, line: Int) throws(CSVError) {
            if needsTextPass { return }
            guard !span.isEmpty else {
                present.append(false)
                switch state {
                case .int: ints.append(0)
                case .float: floats.append(.nan)
                case .bytes: codes.append(-1)
                }
                return
            }
            switch state {
            case .int:
                if let value = try Scanner.withText(span, in: bytes, { CSVReader.parseInt($0) }) {
                    ints.append(value)
                    present.append(true)
                    sawNumber = true
                    return
                }
                if forced == .int {  // under a schema a value of the wrong type is missing
                    try refuse(span, bytes: bytes, line: line, expected: .int)
                    ints.append(0)
                    present.append(false)
                    return
                }
                convert(to: .float)
                try append(span, bytes: bytes, line: line)
            case .float:
                if let value = try Scanner.withText(span, in: bytes, { CSVReader.parseDouble($0) }) {
                    floats.append(value)
                    present.append(true)
                    sawNumber = true
                    return
                }
                if forced == .float {
                    try refuse(span, bytes: bytes, line: line, expected: .float)
                    floats.append(.nan)
                    present.append(false)
                    return
                }
                if sawNumber {
                    needsTextPass = true
                    return
                }
                // Only missing cells so far: nothing is lost by switching to text now.
                convert(to: .bytes)
                try append(span, bytes: bytes, line: line)
            case .bytes:
                guard let code = try Scanner.withText(span, in: bytes, { dictionary.code(for: $0) }) else {
                    throw CSVError(.invalidUTF8(column: context.name), file: context.file, line: line)
                }
                codes.append(code)
                present.append(true)
            }
        }

        /// Under `strictTypes`, a value of the wrong type is an error naming it.
        func refuse(_ span: Span, bytes: UnsafeRawBufferPointer, line: Int, expected: FeatureType) throws(CSVError) {
            guard let field = context.strictField else { return }
            let value = String(decoding: Scanner.text(span, in: bytes).prefix(40), as: UTF8.self)
            throw CSVError(
                .wrongType(column: context.name, expected: expected, value: value), file: context.file, line: line,
                field: field)
        }

        /// Takes back the last value appended (a row refused after this column took its value).
        mutating func removeLast() {
            guard !needsTextPass, !present.isEmpty else { return }
            present.removeLast()
            switch state {
            case .int: ints.removeLast()
            case .float: floats.removeLast()
            case .bytes: codes.removeLast()
            }
        }

        mutating func reserve(_ rows: Int) {
            present.reserveCapacity(rows)
            switch state {
            case .int: ints.reserveCapacity(rows)
            case .float: floats.reserveCapacity(rows)
            case .bytes: codes.reserveCapacity(rows)
            }
        }

        /// One builder from the builders of consecutive chunks, consuming them: the widest type
        /// wins (INT, FLOAT, then text); text after numbers in any chunk means a second pass,
        /// as in one pass.
        static func merge(_ parts: inout [ColumnBuilder], forced: FeatureType?) -> ColumnBuilder {
            guard let first = parts.first else { return ColumnBuilder(forced: forced, name: "", file: "") }
            guard parts.count > 1 else { return first }
            let numeric = parts.contains { $0.sawNumber }
            if parts.contains(where: { $0.needsTextPass }) || (numeric && parts.contains { $0.state == .bytes }) {
                var merged = ColumnBuilder(forced: forced, name: first.context.name, file: first.context.file)
                merged.needsTextPass = true
                return merged
            }
            let target: State =
                parts.contains { $0.state == .bytes }
                ? .bytes : parts.contains { $0.state == .float } ? .float : parts[0].state
            var merged = parts[0]
            parts[0] = ColumnBuilder(forced: nil, name: "", file: "")  // `merged` now owns the arrays alone
            merged.convert(to: target)
            for index in 1..<parts.count {
                var part = parts[index]
                parts[index] = ColumnBuilder(forced: nil, name: "", file: "")
                part.convert(to: target)
                merged.present.append(contentsOf: part.present)
                merged.sawNumber = merged.sawNumber || part.sawNumber
                switch target {
                case .int: merged.ints.append(contentsOf: part.ints)
                case .float: merged.floats.append(contentsOf: part.floats)
                case .bytes:
                    let remap = part.dictionary.strings.map { merged.dictionary.code(for: $0) }
                    merged.codes.append(contentsOf: part.codes.lazy.map { $0 < 0 ? -1 : remap[Int($0)] })
                }
            }
            return merged
        }

        /// Widens this chunk's storage to `target` (only missing cells become text).
        mutating func convert(to target: State) {
            guard state != target else { return }
            switch (state, target) {
            case (.int, .float):
                floats = zip(ints, present).map { $1 ? Double($0) : .nan }
                ints = []
            case (_, .bytes):
                codes = [Int32](repeating: -1, count: present.count)  // no number was seen here
                ints = []
                floats = []
            default:
                return
            }
            state = target
        }

        func finish(name: String) -> Column {
            switch state {
            case .int where forced == .int || sawNumber:
                return Column(name: name, type: .int, values: .int(ints), present: present)
            case .int:
                // No value at all: FLOAT, as documented.
                return Column(
                    name: name, type: .float, values: .float([Double](repeating: .nan, count: present.count)),
                    present: present)
            case .float:
                return Column(name: name, type: .float, values: .float(floats), present: present)
            case .bytes:
                return Column(
                    name: name, type: .bytes, values: .bytes(dictionary: dictionary.strings, codes: codes),
                    present: present)
            }
        }
    }

    // MARK: - Numbers

    /// A 64-bit integer: optional sign, decimal digits only.
    static func parseInt(_ text: some Collection<UInt8>) -> Int64? {
        var iterator = text.makeIterator()
        guard var byte = iterator.next() else { return nil }
        var negative = false
        if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
            negative = byte == UInt8(ascii: "-")
            guard let next = iterator.next() else { return nil }
            byte = next
        }
        var value: Int64 = 0
        while true {
            guard byte >= 48, byte <= 57 else { return nil }
            let digit = Int64(byte - 48)
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
            guard let next = iterator.next() else { return value }
            byte = next
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// The Double `strtod` gives for the whole of `text`, or nil when it is not a number.
    /// Fast path (Clinger): at most 15 significant digits and a decimal exponent within ±22 are
    /// exact in one multiplication or division; everything else goes to `strtod`.
    static func parseDouble(_ text: some Collection<UInt8>) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        var negative = false
        var index = text.startIndex
        var simple = true
        if index != text.endIndex, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
            negative = text[index] == UInt8(ascii: "-")
            index = text.index(after: index)
        }
        // Integer part.
        while index != text.endIndex, text[index] >= 48, text[index] <= 57 {
            sawDigit = true
            if mantissa != 0 || text[index] != 48 { digits += 1 }
            if digits <= 19 { mantissa = mantissa &* 10 &+ UInt64(text[index] - 48) } else { exponent += 1 }
            index = text.index(after: index)
        }
        if index != text.endIndex, text[index] == UInt8(ascii: ".") {
            index = text.index(after: index)
            while index != text.endIndex, text[index] >= 48, text[index] <= 57 {
                sawDigit = true
                if mantissa != 0 || text[index] != 48 { digits += 1 }
                if digits <= 19 {
                    mantissa = mantissa &* 10 &+ UInt64(text[index] - 48)
                    exponent -= 1
                }
                index = text.index(after: index)
            }
        }
        if index != text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            simple = false  // exponents: let strtod decide the few that occur
        }
        if simple, sawDigit, index == text.endIndex, digits <= 15, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        return strtodWhole(text)
    }

    /// `strtod` on a NUL-terminated copy, accepted only if it consumes every byte.
    private static func strtodWhole(_ text: some Collection<UInt8>) -> Double? {
        let count = text.count
        guard count > 0, count < 512 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double? in
            var position = 0
            for byte in text {
                // Leading white space is skipped by strtod; refuse it so " 12" stays text. Hex floats
                // (0x1A) are C syntax, not CSV numbers: identifiers like that stay text too.
                if position == 0 && (byte == 32 || (byte >= 9 && byte <= 13)) { return nil }
                if byte == UInt8(ascii: "x") || byte == UInt8(ascii: "X") { return nil }
                buffer[position] = CChar(bitPattern: byte)
                position += 1
            }
            buffer[count] = 0
            guard let base = buffer.baseAddress else { return nil }
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &end)
            guard let end, end == base + count else { return nil }
            return value
        }
    }
}

/// Where a field's bytes are in the file.
struct Span: Sendable {
    var start: Int
    var end: Int
    /// Quoted: the bytes are between the quotes; `escaped` when doubled quotes need undoing.
    var quoted: Bool
    var escaped: Bool
    var isEmpty: Bool { start == end }
}

/// The byte-level RFC 4180 state machine.
struct Scanner {
    let bytes: UnsafeRawBufferPointer
    let file: String
    let delimiter: UInt8
    let maxField: Int
    var position: Int
    /// The physical line (1-based) at `position`.
    var line = 1

    init(bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions, skipBOM: Bool = true) {
        self.bytes = bytes
        self.file = file
        delimiter = options.delimiter
        maxField = options.maxFieldBytes
        // A UTF-8 byte-order mark is not part of the first column's name.
        position = skipBOM && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// Fills `fields` with the next record's fields; false at the end of the input.
    mutating func nextRecord(into fields: inout [Span]) throws(CSVError) -> Bool {
        fields.removeAll(keepingCapacity: true)
        guard position < bytes.count else { return false }
        let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), carriage = UInt8(ascii: "\r")
        while true {
            var span: Span
            if position < bytes.count, bytes[position] == quote {
                let openedAt = line
                var index = position + 1
                var escaped = false
                while true {
                    guard index < bytes.count else {
                        throw CSVError(.unterminatedQuote, file: file, line: openedAt, field: fields.count + 1)
                    }
                    let byte = bytes[index]
                    if byte == quote {
                        if index + 1 < bytes.count, bytes[index + 1] == quote {
                            escaped = true
                            index += 2
                            continue
                        }
                        break
                    }
                    if byte == 0 { throw CSVError(.nulByte, file: file, line: line, field: fields.count + 1) }
                    if byte == newline { line += 1 }
                    index += 1
                }
                span = Span(start: position + 1, end: index, quoted: true, escaped: escaped)
                position = index + 1
                // RFC 4180: after the closing quote comes a delimiter or the end of the record.
                if position < bytes.count, bytes[position] != delimiter, bytes[position] != newline,
                    bytes[position] != carriage
                {
                    throw CSVError(.textAfterClosingQuote, file: file, line: line, field: fields.count + 1)
                }
            } else {
                let start = position
                let end = bytes.count
                while position < end {
                    let byte = bytes[position]
                    // One test for the common byte: NUL, LF and CR are all at most 13.
                    if byte == delimiter || byte <= carriage {
                        if byte == delimiter || byte == newline || byte == carriage { break }
                        if byte == 0 { throw CSVError(.nulByte, file: file, line: line, field: fields.count + 1) }
                    }
                    position += 1
                }
                span = Span(start: start, end: position, quoted: false, escaped: false)
            }
            if span.end - span.start > maxField {
                throw CSVError(.fieldTooLarge(limit: maxField), file: file, line: line, field: fields.count + 1)
            }
            fields.append(span)
            guard position < bytes.count else { return true }
            let byte = bytes[position]
            if byte == delimiter {
                position += 1
                continue
            }
            // End of record: LF, CRLF, or a lone CR.
            position += 1
            if byte == carriage, position < bytes.count, bytes[position] == newline { position += 1 }
            line += 1
            return true
        }
    }

    /// Calls `body` with a field's bytes: the mapped file itself, or an unescaped copy when the
    /// field had doubled quotes.
    static func withText<R>(
        _ span: Span, in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(CSVError) -> R
    ) throws(CSVError) -> R {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        guard span.escaped else { return try body(raw) }
        let copy = text(span, in: bytes)
        let result: Result<R, CSVError> = copy.withUnsafeBytes { buffer in
            Result { () throws(CSVError) -> R in try body(buffer) }
        }
        return try result.get()
    }

    /// A field's bytes, with doubled quotes undone when the field was quoted with escapes.
    func text(_ span: Span) -> [UInt8] { Self.text(span, in: bytes) }

    static func text(_ span: Span, in bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        guard span.escaped else { return Array(raw) }
        var result: [UInt8] = []
        result.reserveCapacity(raw.count)
        var skipNext = false
        for byte in raw {
            if skipNext {
                skipNext = false
                continue
            }
            result.append(byte)
            if byte == UInt8(ascii: "\"") { skipNext = true }
        }
        return result
    }
}
