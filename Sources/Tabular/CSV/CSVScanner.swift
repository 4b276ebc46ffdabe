import Foundation

/// Where a field's bytes are in the file.
package struct FieldSpan: Sendable {
    package var start: Int
    package var end: Int
    /// Quoted: the bytes are between the quotes; `escaped` when doubled quotes need undoing.
    package var quoted: Bool
    package var escaped: Bool
    package var isEmpty: Bool { start == end }
}

/// The byte-level RFC 4180 state machine.
package struct CSVScanner {
    package let bytes: UnsafeRawBufferPointer
    package let file: String
    package let delimiter: UInt8
    package let maxField: Int
    package var position: Int
    /// The physical line (1-based) at `position`.
    package var line = 1

    package init(bytes: UnsafeRawBufferPointer, file: String, options: CSVOptions, skipBOM: Bool = true) {
        self.bytes = bytes
        self.file = file
        delimiter = options.delimiter
        maxField = options.maxFieldBytes
        // A UTF-8 byte-order mark is not part of the first column's name.
        position = skipBOM && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// Fills `fields` with the next record's fields; false at the end of the input.
    package mutating func nextRecord(into fields: inout [FieldSpan]) throws(CSVError) -> Bool {
        fields.removeAll(keepingCapacity: true)
        guard position < bytes.count else { return false }
        let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), carriage = UInt8(ascii: "\r")
        while true {
            var span: FieldSpan
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
                span = FieldSpan(start: position + 1, end: index, quoted: true, escaped: escaped)
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
                span = FieldSpan(start: start, end: position, quoted: false, escaped: false)
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
    package static func withText<R>(
        _ span: FieldSpan, in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(CSVError) -> R
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
    package func text(_ span: FieldSpan) -> [UInt8] { Self.text(span, in: bytes) }

    package static func text(_ span: FieldSpan, in bytes: UnsafeRawBufferPointer) -> [UInt8] {
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
