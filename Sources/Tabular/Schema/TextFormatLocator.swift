import Foundation
import MLOpsCore
import SwiftProtobuf

/// A text-format file that does not parse, or does not make a valid schema (exit 65).
public struct TextFormatError: MLOpsError, Equatable {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String
    public let hint: String?

    public init(file: String, line: Int, column: Int, message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    public var location: SourceLocation? { SourceLocation(file: file, line: line, column: column) }
    public var exitStatus: ExitStatus { .dataError }
}

/// Where a protocol-buffer text-format document went wrong.
///
/// The document is decoded by SwiftProtobuf's generated types, whose errors say what is wrong
/// but not where. This finds the place: it cuts the document into its top-level fields (only
/// brackets, strings and comments are looked at, values are left to SwiftProtobuf), decodes
/// each field alone, and does the same one level down inside the first field that fails. Text
/// that cannot even be cut (an unclosed bracket or string) is reported where it opens.
public struct TextFormatLocator {
    /// One field as written: its name, where the name starts, and its whole text.
    public struct Entry: Sendable {
        public let name: String
        public let line: Int
        public let column: Int
        /// The field's whole text, `name: value` or `name { … }`.
        public let text: Substring
        /// For a message field, the text between its brackets and where it starts.
        public let body: (text: Substring, line: Int, column: Int)?
    }

    /// A message type with a label for messages ("TFMD's Feature"), its field names and enum
    /// values for "did you mean" hints, and the types of its message fields to look inside.
    public struct MessageKind: Sendable {
        public let label: String
        public let type: any SwiftProtobuf.Message.Type
        public let fields: [String]
        public let enums: [String: [String]]
        public let children: [String: MessageKind]

        public init(
            label: String, type: any SwiftProtobuf.Message.Type, fields: [String], enums: [String: [String]] = [:],
            children: [String: MessageKind] = [:]
        ) {
            self.label = label
            self.type = type
            self.fields = fields
            self.enums = enums
            self.children = children
        }
    }

    let file: String

    public init(file: String) { self.file = file }

    /// The error to report for `text`, which SwiftProtobuf refused as `kind` with `error`.
    public func locate(_ text: String, kind: MessageKind, error: Error) -> TextFormatError {
        do {
            let entries = try outline(Substring(text), line: 1, column: 1)
            return locate(entries, kind: kind) ?? problem(nil, line: 1, column: 1, kind: kind, error: error)
        } catch {
            return error
        }
    }

    private func locate(_ entries: [Entry], kind: MessageKind) -> TextFormatError? {
        for entry in entries {
            let failure: Error
            do {
                _ = try kind.type.init(textFormatString: String(entry.text))
                continue
            } catch { failure = error }
            if let child = kind.children[entry.name], let body = entry.body,
                let inner = try? outline(body.text, line: body.line, column: body.column),
                let found = locate(inner, kind: child)
            {
                return found
            }
            return problem(entry, line: entry.line, column: entry.column, kind: kind, error: failure)
        }
        return nil
    }

    private func problem(_ entry: Entry?, line: Int, column: Int, kind: MessageKind, error: Error) -> TextFormatError {
        let name = entry?.name
        let field = name.map { "'\($0)'" } ?? "the text"
        switch error as? TextFormatDecodingError {
        case .unknownField? where name.map(kind.fields.contains) == true:
            // SwiftProtobuf says "unknown field" for a known one whose value it cannot take (1e30 for an int64).
            return TextFormatError(
                file: file, line: line, column: column,
                message: "\(field) has a value of the wrong type or out of range")
        case .unknownField?:
            let hint = name.flatMap { Suggestions.nearest(to: $0, in: kind.fields) }.map { "did you mean '\($0)'?" }
            return TextFormatError(
                file: file, line: line, column: column, message: "\(field) is not a field of \(kind.label)",
                hint: hint ?? "see tensorflow_metadata's schema.proto for the fields a schema may have")
        case .unrecognizedEnumValue?:
            let values = name.flatMap { kind.enums[$0] } ?? []
            guard let entry, let value = entry.text.split(separator: ":", maxSplits: 1).last,
                case let value = value.trimmingCharacters(in: .whitespacesAndNewlines), !values.isEmpty
            else {
                return TextFormatError(
                    file: file, line: line, column: column, message: "\(field) has a value its enum does not define")
            }
            let hint = Suggestions.nearest(to: value, in: values).map { "did you mean '\($0)'?" }
            return TextFormatError(
                file: file, line: line, column: column, message: "'\(value)' is not a value of \(field)",
                hint: hint ?? "the values are " + values.joined(separator: ", "))
        case .malformedNumber?:
            return TextFormatError(
                file: file, line: line, column: column,
                message: "\(field) has a value of the wrong type or out of range")
        case .conflictingOneOf?:
            return TextFormatError(
                file: file, line: line, column: column,
                message: "\(field) sets two fields of one oneof in \(kind.label)",
                hint: "a feature has one domain, one shape (shape, value_count or value_counts) and one presence")
        case .invalidUTF8?:
            return TextFormatError(
                file: file, line: line, column: column, message: "\(field) holds text that is not UTF-8")
        default:
            return TextFormatError(
                file: file, line: line, column: column, message: "\(field) cannot be read as part of \(kind.label)")
        }
    }

    /// The fields of a text-format message body, or an error where a bracket or string is not closed.
    func outline(_ text: Substring, line firstLine: Int, column firstColumn: Int) throws(TextFormatError) -> [Entry] {
        let bytes = Array(text.utf8)
        var index = 0
        var line = firstLine
        var lineStart = -(firstColumn - 1)
        var entries: [Entry] = []

        func at(_ offset: Int) -> String.Index { text.utf8.index(text.startIndex, offsetBy: offset) }
        func fail(_ message: String, _ errorLine: Int, _ errorColumn: Int) -> TextFormatError {
            TextFormatError(file: file, line: errorLine, column: errorColumn, message: message)
        }
        func skipBlank() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\n"):
                    index += 1
                    line += 1
                    lineStart = index
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: ","), UInt8(ascii: ";"):
                    index += 1
                case UInt8(ascii: "#"):
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                default: return
                }
            }
        }
        func skipString() throws(TextFormatError) {
            let quote = bytes[index]
            let (openLine, openColumn) = (line, index - lineStart + 1)
            index += 1
            while index < bytes.count, bytes[index] != quote {
                if bytes[index] == UInt8(ascii: "\n") { break }
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count, bytes[index] == quote else {
                throw fail("a string opened here is not closed on its line", openLine, openColumn)
            }
            index += 1
        }
        /// Skips a bracketed value from its opening bracket; returns the body's offsets and where it starts.
        func skipBracketed() throws(TextFormatError) -> (range: Range<Int>, line: Int, column: Int) {
            let (openLine, openColumn) = (line, index - lineStart + 1)
            var closers: [UInt8] = []
            let bodyStart = index + 1
            repeat {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"): closers.append(UInt8(ascii: "}"))
                case UInt8(ascii: "<"): closers.append(UInt8(ascii: ">"))
                case UInt8(ascii: "["): closers.append(UInt8(ascii: "]"))
                case UInt8(ascii: "}"), UInt8(ascii: ">"), UInt8(ascii: "]"):
                    guard byte == closers.last else {
                        throw fail(
                            "'\(Character(UnicodeScalar(byte)))' does not close the bracket opened at line \(openLine)",
                            line, index - lineStart + 1)
                    }
                    closers.removeLast()
                case UInt8(ascii: "\""), UInt8(ascii: "'"):
                    try skipString()
                    continue
                case UInt8(ascii: "#"):
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                    continue
                case UInt8(ascii: "\n"):
                    line += 1
                    lineStart = index + 1
                default: break
                }
                index += 1
            } while !closers.isEmpty && index < bytes.count
            guard closers.isEmpty else {
                throw fail(
                    "the '\(Character(UnicodeScalar(bytes[bodyStart - 1])))' opened here is not closed before the end of the file",
                    openLine, openColumn)
            }
            return (bodyStart..<(index - 1), openLine, openColumn + 1)
        }

        while true {
            skipBlank()
            guard index < bytes.count else { break }
            let start = index
            let (nameLine, nameColumn) = (line, index - lineStart + 1)
            if bytes[index] == UInt8(ascii: "[") {
                _ = try skipBracketed()  // an extension or Any type name
            } else {
                while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
            }
            guard index > start else {
                throw fail(
                    "expected a field name, found '\(Character(UnicodeScalar(bytes[index])))'", nameLine, nameColumn)
            }
            let name = String(text[at(start)..<at(index)])
            skipBlank()
            if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
                index += 1
                skipBlank()
            }
            var body: (text: Substring, line: Int, column: Int)?
            let valueStart = index
            if index < bytes.count, [UInt8(ascii: "{"), UInt8(ascii: "<"), UInt8(ascii: "[")].contains(bytes[index]) {
                let isList = bytes[index] == UInt8(ascii: "[")
                let (range, bodyLine, bodyColumn) = try skipBracketed()
                if !isList { body = (text[at(range.lowerBound)..<at(range.upperBound)], bodyLine, bodyColumn) }
            } else {
                // A scalar: adjacent strings, or one token.
                var consumed = false
                while index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") {
                    try skipString()
                    consumed = true
                    let save = (index, line, lineStart)
                    skipBlank()
                    if index >= bytes.count || (bytes[index] != UInt8(ascii: "\"") && bytes[index] != UInt8(ascii: "'"))
                    {
                        (index, line, lineStart) = save
                        break
                    }
                }
                if !consumed {
                    while index < bytes.count,
                        Self.isNameByte(bytes[index]) || bytes[index] == UInt8(ascii: "-")
                            || bytes[index] == UInt8(ascii: "+")
                    {
                        index += 1
                    }
                }
                if index == valueStart {
                    throw fail("'\(name)' has no value", nameLine, nameColumn)
                }
            }
            entries.append(
                Entry(name: name, line: nameLine, column: nameColumn, text: text[at(start)..<at(index)], body: body))
        }
        return entries
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".")
    }
}
