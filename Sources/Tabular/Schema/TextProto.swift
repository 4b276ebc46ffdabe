import Foundation
import MLOpsCore

/// A protocol-buffer text-format message as written: ordered fields, numbers kept as their
/// text, so reading and writing it again changes nothing a reader would notice. Used for
/// TensorFlow Metadata's `schema.pbtxt`; fields mlops does not model are kept as they are.
public struct TextProto: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case string(String)
        /// A number as written (`1`, `0.95`, `-inf`, `1e-5`).
        case number(String)
        /// An enum value or `true`/`false`.
        case identifier(String)
        case message(TextProto)
    }

    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: Value
        /// 1-based line and column of the field name in the file it came from (0 when made in code).
        public var line: Int
        public var column: Int

        public init(name: String, value: Value, line: Int = 0, column: Int = 0) {
            self.name = name
            self.value = value
            self.line = line
            self.column = column
        }

        /// Fields compare by content, not by where they were read.
        public static func == (a: Field, b: Field) -> Bool { a.name == b.name && a.value == b.value }
    }

    public var fields: [Field]

    public init(fields: [Field] = []) { self.fields = fields }

    public func all(_ name: String) -> [Field] { fields.filter { $0.name == name } }
    public func first(_ name: String) -> Field? { fields.first { $0.name == name } }

    public func string(_ name: String) -> String? {
        if case .string(let text)? = first(name)?.value { return text }
        return nil
    }

    public func strings(_ name: String) -> [String] {
        all(name).compactMap { if case .string(let text) = $0.value { return text } else { return nil } }
    }

    public func identifier(_ name: String) -> String? {
        if case .identifier(let text)? = first(name)?.value { return text }
        return nil
    }

    /// An integer field exactly: as written, or a whole Double that fits; nil otherwise.
    public func integer(_ name: String) -> Int64? {
        guard case .number(let text)? = first(name)?.value else { return nil }
        if let value = Int64(text) { return value }
        return Double(text).flatMap { Int64(exactly: $0) }
    }

    public func number(_ name: String) -> Double? {
        guard case .number(let text)? = first(name)?.value else { return nil }
        switch text.lowercased() {
        case "inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: return Double(text) ?? Int64(text).map(Double.init)
        }
    }

    public func message(_ name: String) -> TextProto? {
        if case .message(let message)? = first(name)?.value { return message }
        return nil
    }

    public func messages(_ name: String) -> [TextProto] {
        all(name).compactMap { if case .message(let message) = $0.value { return message } else { return nil } }
    }

    // MARK: - Writing

    /// The canonical text: two-space indentation, one field per line, strings double-quoted.
    public func text(indent: Int = 0) -> String {
        var out = ""
        let pad = String(repeating: "  ", count: indent)
        for field in fields {
            switch field.value {
            case .message(let message):
                out += pad + field.name + " {\n" + message.text(indent: indent + 1) + pad + "}\n"
            case .string(let text):
                out += pad + field.name + ": " + StringLiteral.textProto(text) + "\n"
            case .number(let text), .identifier(let text):
                out += pad + field.name + ": " + text + "\n"
            }
        }
        return out
    }
}

/// A text-format file that does not parse, or does not make a valid schema (exit 65).
public struct TextProtoError: MLOpsError, Equatable {
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

/// Parses protocol-buffer text format: `name: value`, `name { … }` (or `name: { … }`,
/// `< … >`), `name: [a, b]` lists, `#` comments, optional `,`/`;` separators, strings in
/// single or double quotes with C escapes (adjacent strings concatenate).
public struct TextProtoParser {
    private let bytes: [UInt8]
    private let file: String
    private var position = 0
    private var line = 1
    private var lineStart = 0

    public static func parse(_ text: String, file: String) throws(TextProtoError) -> TextProto {
        var parser = TextProtoParser(bytes: Array(text.utf8), file: file)
        let message = try parser.fields(until: nil)
        return message
    }

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    private var column: Int { position - lineStart + 1 }

    private func error(_ message: String, hint: String? = nil) -> TextProtoError {
        TextProtoError(file: file, line: line, column: column, message: message, hint: hint)
    }

    private mutating func skipSpace() {
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "#") {
                while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
            } else if byte == UInt8(ascii: "\n") {
                position += 1
                line += 1
                lineStart = position
            } else if byte == 32 || byte == 9 || byte == 13 {
                position += 1
            } else {
                return
            }
        }
    }

    private mutating func fields(until close: UInt8?) throws(TextProtoError) -> TextProto {
        var message = TextProto()
        while true {
            skipSpace()
            guard position < bytes.count else {
                if let close {
                    throw error("expected '\(Character(Unicode.Scalar(close)))' before the end of the file")
                }
                return message
            }
            if let close, bytes[position] == close {
                position += 1
                return message
            }
            let fieldLine = line
            let fieldColumn = column
            let name = try identifier(what: "a field name")
            skipSpace()
            var hasColon = false
            if position < bytes.count, bytes[position] == UInt8(ascii: ":") {
                hasColon = true
                position += 1
                skipSpace()
            }
            guard position < bytes.count else { throw error("expected a value for '\(name)'") }
            let opener = bytes[position]
            if opener == UInt8(ascii: "{") || opener == UInt8(ascii: "<") {
                position += 1
                let nested = try fields(until: opener == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: ">"))
                message.fields.append(.init(name: name, value: .message(nested), line: fieldLine, column: fieldColumn))
            } else if opener == UInt8(ascii: "[") {
                guard hasColon else { throw error("expected ':' before '[' for '\(name)'") }
                position += 1
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                } else {
                    while true {
                        skipSpace()
                        if position < bytes.count,
                            bytes[position] == UInt8(ascii: "{") || bytes[position] == UInt8(ascii: "<")
                        {
                            let close = bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: ">")
                            position += 1
                            message.fields.append(
                                .init(
                                    name: name, value: .message(try fields(until: close)), line: fieldLine,
                                    column: fieldColumn))
                        } else {
                            message.fields.append(
                                .init(name: name, value: try scalar(for: name), line: fieldLine, column: fieldColumn))
                        }
                        skipSpace()
                        guard position < bytes.count else { throw error("expected ']' to close the list of '\(name)'") }
                        if bytes[position] == UInt8(ascii: ",") {
                            position += 1
                            continue
                        }
                        guard bytes[position] == UInt8(ascii: "]") else {
                            throw error("expected ',' or ']' in the list of '\(name)'")
                        }
                        position += 1
                        break
                    }
                }
            } else {
                guard hasColon else { throw error("expected ':' or '{' after '\(name)'") }
                message.fields.append(
                    .init(name: name, value: try scalar(for: name), line: fieldLine, column: fieldColumn))
            }
            skipSpace()
            if position < bytes.count, bytes[position] == UInt8(ascii: ",") || bytes[position] == UInt8(ascii: ";") {
                position += 1
            }
        }
    }

    private mutating func identifier(what: String) throws(TextProtoError) -> String {
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            let ok =
                (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
                || (position > start && (byte >= 48 && byte <= 57 || byte == 46))
            guard ok else { break }
            position += 1
        }
        if position < bytes.count, position == start, bytes[position] == UInt8(ascii: "[") {
            // Extension names `[pkg.ext]`.
            while position < bytes.count, bytes[position] != UInt8(ascii: "]") { position += 1 }
            position = min(bytes.count, position + 1)
        }
        guard position > start else {
            let found =
                position < bytes.count ? "'\(Character(Unicode.Scalar(bytes[position])))'" : "the end of the file"
            throw error("expected \(what), found \(found)")
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func scalar(for name: String) throws(TextProtoError) -> TextProto.Value {
        guard position < bytes.count else { throw error("expected a value for '\(name)', found the end of the file") }
        let byte = bytes[position]
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
            var text: [UInt8] = []
            // Adjacent string literals concatenate.
            while position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'")
            {
                text += try stringLiteral()
                skipSpace()
            }
            guard let string = String(validating: text, as: UTF8.self) else {
                throw error("the string value of '\(name)' is not valid UTF-8")
            }
            return .string(string)
        }
        let start = position
        while position < bytes.count {
            let c = bytes[position]
            let ok =
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 || c == 43
                || c == 46
            guard ok else { break }
            position += 1
        }
        guard position > start else {
            throw error("expected a value for '\(name)', found '\(Character(Unicode.Scalar(byte)))'")
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        let numeric = ["inf", "-inf", "infinity", "-infinity", "nan", "-nan"].contains(text.lowercased())
        if let first = text.unicodeScalars.first, first == "-" || first == "." || ("0"..."9").contains(first) || numeric
        {
            let body = text.hasSuffix("f") || text.hasSuffix("F") ? String(text.dropLast()) : text
            guard numeric || Double(body) != nil || Int64(body) != nil || UInt64(body) != nil || body.hasPrefix("0x")
            else {
                throw TextProtoError(
                    file: file, line: line, column: column - text.count,
                    message: "'\(text)' is not a number (field '\(name)')")
            }
            return .number(text)
        }
        return .identifier(text)
    }

    private mutating func stringLiteral() throws(TextProtoError) -> [UInt8] {
        let quote = bytes[position]
        let openLine = line
        let openColumn = column
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < bytes.count, bytes[position] != UInt8(ascii: "\n") else {
                throw TextProtoError(
                    file: file, line: openLine, column: openColumn,
                    message: "a string opened here is not closed on its line", hint: "close the quote")
            }
            let byte = bytes[position]
            position += 1
            if byte == quote { return out }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "a"): out.append(7)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "v"): out.append(11)
            case UInt8(ascii: "x"):
                var value = 0
                var count = 0
                while count < 2, position < bytes.count, let digit = Self.hexDigit(bytes[position]) {
                    value = value * 16 + digit
                    position += 1
                    count += 1
                }
                out.append(UInt8(value & 0xFF))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(escape - 48)
                var count = 1
                while count < 3, position < bytes.count, bytes[position] >= 48, bytes[position] <= 55 {
                    value = value * 8 + Int(bytes[position] - 48)
                    position += 1
                    count += 1
                }
                out.append(UInt8(value & 0xFF))
            default: out.append(escape)  // \" \' \\ \?
            }
        }
        throw TextProtoError(
            file: file, line: openLine, column: openColumn, message: "a string opened here is not closed")
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte - 48)
        case 65...70: Int(byte - 55)
        case 97...102: Int(byte - 87)
        default: nil
        }
    }
}
