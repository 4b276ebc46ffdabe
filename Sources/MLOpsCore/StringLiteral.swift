import Foundation

/// Double-quoted string literals with backslash escapes (`\"`, `\\`, `\n`, `\r`, `\t`), for
/// the text formats mlops writes by hand; they differ only in how other control characters
/// are written.
public enum StringLiteral {
    /// A JSON string (RFC 8259): other control characters as `\u00XX`.
    public static func json(_ text: String) -> String {
        quoted(text, escapesDelete: false) { String(format: "\\u%04x", $0) }
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
