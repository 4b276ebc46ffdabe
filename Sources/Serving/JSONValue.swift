import Foundation

/// A JSON document (RFC 8259) parsed from a request body: typed values, no Foundation objects,
/// so reading a served row takes no dynamic casts. Nesting deeper than ``maxDepth`` is
/// refused, so no body can exhaust the stack.
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    static let maxDepth = 64

    /// Parses one JSON value filling all of `bytes` (whitespace around it allowed).
    package static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == bytes.count else { throw parser.error("text after the JSON value") }
        return value
    }

    package static func parse(_ data: Data) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = data.withUnsafeBytes { bytes in
            Result { () throws(JSONSyntaxError) in try parse(bytes) }
        }
        return try result.get()
    }

    /// What the value is, for messages: "a string", "a number", "a list"…
    package var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    package var object: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    package var array: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// A number as text: a whole number under 10^15 as an integer (`3`, not `3.0`), any other
    /// in Swift's shortest form; nil for anything but a number.
    package var numberText: String? {
        guard case .number(let number) = self else { return nil }
        return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    package var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        func error(_ what: String) -> JSONSyntaxError { JSONSyntaxError(message: "\(what) at byte \(position + 1)") }

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard depth < JSONValue.maxDepth else { throw error("nesting deeper than \(JSONValue.maxDepth) levels") }
            guard position < bytes.count else { throw error("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var object = JSONObject()
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(object)
                }
                while true {
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                        throw error("expected a quoted key")
                    }
                    let key = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                    object.members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if try endOf(UInt8(ascii: "}")) { return .object(object) }
                }
            case UInt8(ascii: "["):
                position += 1
                var array: [JSONValue] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(array)
                }
                while true {
                    skipSpace()
                    array.append(try value(depth: depth + 1))
                    skipSpace()
                    if try endOf(UInt8(ascii: "]")) { return .array(array) }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                return .number(try number())
            }
        }

        /// After a member: `,` (false, more follow) or `close` (true).
        mutating func endOf(_ close: UInt8) throws(JSONSyntaxError) -> Bool {
            guard position < bytes.count else { throw error("unexpected end") }
            let byte = bytes[position]
            position += 1
            if byte == close { return true }
            if byte == UInt8(ascii: ",") { return false }
            position -= 1
            throw error("expected ',' or '\(Character(UnicodeScalar(close)))'")
        }

        mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
            guard position < bytes.count, bytes[position] == byte else {
                throw error("expected '\(Character(UnicodeScalar(byte)))'")
            }
            position += 1
        }

        mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count, let base = bytes.baseAddress,
                memcmp(base + position, word.utf8Start, count) == 0
            else { throw error("unexpected character") }
            position += count
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as a Double.
        mutating func number() throws(JSONSyntaxError) -> Double {
            let start = position
            func digits() -> Int {
                let first = position
                while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                return position - first
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { throw error("unexpected end") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else if digits() == 0 {
                throw error("unexpected character")
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw error("a digit must follow the decimal point") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")
                {
                    position += 1
                }
                guard digits() > 0 else { throw error("a digit must follow the exponent") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw error("a number out of range") }
            return value
        }

        /// A quoted string; `position` is at the opening quote.
        mutating func string() throws(JSONSyntaxError) -> String {
            position += 1
            let start = position
            // The common case: no escapes.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = String(
                        decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw error("a control character inside a string") }
                position += 1
            }
            var text = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw error("unexpected end") }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A surrogate pair: the low half must follow.
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                bytes[position + 1] == UInt8(ascii: "u")
                            else { throw error("a lone surrogate in \\u escape") }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in \\u escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else {
                            throw error("a lone surrogate in \\u escape")
                        }
                        text.append(contentsOf: String(Character(unicode)).utf8)
                    default:
                        throw error("an unknown escape")
                    }
                default:
                    if byte < 0x20 { throw error("a control character inside a string") }
                    text.append(byte)
                }
            }
            throw error("an unterminated string")
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw error("unexpected end") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw error("a bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }
    }
}

/// A JSON object's members in the order written: a request's objects are small, so a scan finds
/// a key sooner than a hash table is built. A key written twice means its last value.
package struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    package var members: [(key: String, value: JSONValue)] = []

    package init() {}

    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        members = elements.map { (key: $0.0, value: $0.1) }
    }

    package subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }

    /// Each key once, with its last value, in the order first written.
    package var entries: [(key: String, value: JSONValue)] {
        var seen: Set<String> = []
        return members.indices.compactMap { index in
            let key = members[index].key
            guard seen.insert(key).inserted else { return nil }
            return (key, self[key] ?? .null)
        }
    }

    package var keys: [String] { entries.map(\.key) }

    package static func == (left: JSONObject, right: JSONObject) -> Bool {
        let a = left.entries, b = right.entries
        guard a.count == b.count else { return false }
        return a.allSatisfy { entry in right[entry.key] == entry.value }
    }
}

/// A body that is not JSON, with where it went wrong.
package struct JSONSyntaxError: Error, Sendable {
    package let message: String
}
