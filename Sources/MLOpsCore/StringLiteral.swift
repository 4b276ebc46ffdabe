import Foundation

/// Double-quoted string literals with backslash escapes (`\"`, `\\`, `\n`, `\r`, `\t`), for
/// the text formats mlops writes by hand; they differ only in how other control characters
/// are written.
public enum StringLiteral {
    /// A JSON string (RFC 8259): other control characters as `\u00XX`.
    public static func json(_ text: String) -> String {
        var bytes: [UInt8] = []
        appendJSON(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// ``json(_:)``'s bytes appended to `out` without building a String: UTF-8 as is, the
    /// quote, the backslash and control characters escaped (the prediction log writes a few
    /// of these for every request).
    public static func appendJSON(_ text: String, to out: inout [UInt8]) {
        out.append(0x22)
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])
                case 0x09: out.append(contentsOf: [0x5C, 0x74])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(0x22)
    }

    /// A Python string: other control characters and DEL as `\xNN`; non-ASCII text as is
    /// (Python 3 source is UTF-8).
    public static func python(_ text: String) -> String {
        quoted(text, escapesDelete: true) { String(format: "\\x%02x", $0) }
    }

    private static func quoted(_ text: String, escapesDelete: Bool, control: (UInt32) -> String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || (escapesDelete && scalar.value == 0x7F) {
                    out += control(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
