import Foundation

/// What a reader does with a malformed row: fail naming it, or skip it and count it.
public enum BadRowPolicy: String, Sendable, Codable, CaseIterable { case fail, skip }

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
        var scanner = CSVScanner(bytes: bytes, file: file, options: options)
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
        var scanner = CSVScanner(bytes: bytes, file: file, options: options)
        var header: [FieldSpan] = []
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
        var scanner = CSVScanner(bytes: bytes, file: file, options: options, skipBOM: false)
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
            var second = CSVScanner(bytes: bytes, file: file, options: options, skipBOM: dataStart == 0)
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
        _ scanner: inout CSVScanner, names: [String], hashColumn: Int?, options: CSVOptions
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
                var scanner = CSVScanner(
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
        _ scanner: inout CSVScanner, width: Int, policy: BadRowPolicy, skipped: inout [DataTable.SkippedRow],
        _ body: ([FieldSpan], Int, Int, CSVScanner) throws(CSVError) -> Void
    ) throws(CSVError) {
        var record: [FieldSpan] = []
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
}
