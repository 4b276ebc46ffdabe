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
}

/// A CSV file read into columns.
public struct CSVTable: Sendable {
    public struct SkippedRow: Sendable, Hashable {
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
    public static func read(path: String, options: CSVOptions = CSVOptions()) throws(CSVError) -> CSVTable {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw CSVError(.unreadable(detail: (error as NSError).localizedDescription), file: path)
        }
        let result: Result<CSVTable, CSVError> = data.withUnsafeBytes { raw in
            Result { () throws(CSVError) -> CSVTable in try parse(raw, file: path, options: options) }
        }
        return try result.get()
    }

    /// Parses CSV bytes; `file` names them in errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions = CSVOptions())
        throws(CSVError) -> CSVTable
    {
        var scanner = Scanner(bytes: bytes, file: file, options: options)
        guard let header = try scanner.nextRecord(), !(header.count == 1 && header[0].isEmpty) else {
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

        let width = names.count
        var cells: [[Span]] = Array(repeating: [], count: width)
        var rowLines: [Int] = []
        var skipped: [CSVTable.SkippedRow] = []
        while true {
            let line = scanner.line
            guard let record = try scanner.nextRecord() else { break }
            if record.count == 1 && record[0].isEmpty && !record[0].quoted { continue }  // a blank line
            guard record.count == width else {
                if options.onBadRows == .skip {
                    skipped.append(.init(line: line, reason: "\(record.count) fields, the header has \(width)"))
                    continue
                }
                throw CSVError(.raggedRow(expected: width, found: record.count), file: file, line: line)
            }
            for (column, span) in record.enumerated() { cells[column].append(span) }
            rowLines.append(line)
        }

        var columns: [Column] = []
        for (index, name) in names.enumerated() {
            columns.append(
                try makeColumn(
                    name: name, spans: cells[index], type: options.types[name], scanner: scanner, rowLines: rowLines))
        }
        return CSVTable(file: file, columns: columns, rowCount: rowLines.count, skipped: skipped)
    }

    // MARK: - Columns

    private static func makeColumn(
        name: String, spans: [Span], type forced: FeatureType?, scanner: Scanner, rowLines: [Int]
    ) throws(CSVError) -> Column {
        let present = spans.map { !$0.isEmpty }
        var type = forced
        if type == nil {
            var allInts = true
            var allNumbers = true
            for span in spans where !span.isEmpty {
                let (isInt, isNumber) = try scanner.withText(span) { text in
                    if allInts, parseInt(text) != nil { return (true, true) }
                    return (false, parseDouble(text) != nil)
                }
                allInts = allInts && isInt
                if !isNumber {
                    allNumbers = false
                    break
                }
            }
            type = allInts && present.contains(true) ? .int : allNumbers ? .float : .bytes
        }
        switch type ?? .bytes {
        case .int:
            // With a forced type, a cell that does not parse is missing (the validator reports it).
            var values = [Int64](repeating: 0, count: spans.count)
            var presence = present
            for (row, span) in spans.enumerated() where !span.isEmpty {
                if let value = try scanner.withText(span, { parseInt($0) }) {
                    values[row] = value
                } else {
                    presence[row] = false
                }
            }
            return Column(name: name, type: .int, values: .int(values), present: presence)
        case .float:
            var values = [Double](repeating: .nan, count: spans.count)
            var presence = present
            for (row, span) in spans.enumerated() where !span.isEmpty {
                if let value = try scanner.withText(span, { parseDouble($0) }) {
                    values[row] = value
                } else {
                    presence[row] = false
                }
            }
            return Column(name: name, type: .float, values: .float(values), present: presence)
        case .bytes:
            var dictionary: [String] = []
            var lookup: [String: Int32] = [:]
            var codes = [Int32](repeating: -1, count: spans.count)
            for (row, span) in spans.enumerated() where !span.isEmpty {
                guard let text = try scanner.withText(span, { String(validating: $0, as: UTF8.self) }) else {
                    throw CSVError(.invalidUTF8(column: name), file: scanner.file, line: rowLines[row])
                }
                if let code = lookup[text] {
                    codes[row] = code
                } else {
                    let code = Int32(dictionary.count)
                    dictionary.append(text)
                    lookup[text] = code
                    codes[row] = code
                }
            }
            return Column(
                name: name, type: .bytes, values: .bytes(dictionary: dictionary, codes: codes), present: present)
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

    init(bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions) {
        self.bytes = bytes
        self.file = file
        delimiter = options.delimiter
        maxField = options.maxFieldBytes
        // A UTF-8 byte-order mark is not part of the first column's name.
        position = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// The next record's fields, or nil at the end of the input.
    mutating func nextRecord() throws(CSVError) -> [Span]? {
        guard position < bytes.count else { return nil }
        var fields: [Span] = []
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
                // Bytes after the closing quote up to the delimiter are kept out (lenient, like Python's csv).
                while position < bytes.count, bytes[position] != delimiter, bytes[position] != newline,
                    bytes[position] != carriage
                {
                    if bytes[position] == 0 {
                        throw CSVError(.nulByte, file: file, line: line, field: fields.count + 1)
                    }
                    position += 1
                }
            } else {
                let start = position
                while position < bytes.count {
                    let byte = bytes[position]
                    if byte == delimiter || byte == newline || byte == carriage { break }
                    if byte == 0 { throw CSVError(.nulByte, file: file, line: line, field: fields.count + 1) }
                    position += 1
                }
                span = Span(start: start, end: position, quoted: false, escaped: false)
            }
            if span.end - span.start > maxField {
                throw CSVError(.fieldTooLarge(limit: maxField), file: file, line: line, field: fields.count + 1)
            }
            fields.append(span)
            guard position < bytes.count else { return fields }
            let byte = bytes[position]
            if byte == delimiter {
                position += 1
                continue
            }
            // End of record: LF, CRLF, or a lone CR.
            position += 1
            if byte == carriage, position < bytes.count, bytes[position] == newline { position += 1 }
            line += 1
            return fields
        }
    }

    /// Calls `body` with a field's bytes: the mapped file itself, or an unescaped copy when the
    /// field had doubled quotes.
    func withText<R>(_ span: Span, _ body: (UnsafeRawBufferPointer) throws(CSVError) -> R) throws(CSVError) -> R {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end])
        guard span.escaped else { return try body(raw) }
        let copy = text(span)
        let result: Result<R, CSVError> = copy.withUnsafeBytes { buffer in
            Result { () throws(CSVError) -> R in try body(buffer) }
        }
        return try result.get()
    }

    /// A field's bytes, with doubled quotes undone when the field was quoted with escapes.
    func text(_ span: Span) -> [UInt8] {
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
