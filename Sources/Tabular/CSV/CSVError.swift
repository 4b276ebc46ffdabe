import MLOpsCore

/// A CSV file that cannot be read as a table, with the file, line and column of the problem.
public struct CSVError: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case empty
        case duplicateHeader(name: String, firstColumn: Int)
        case emptyHeader(column: Int)
        case raggedRow(expected: Int, found: Int)
        /// A value that is not of its column's type, where the type is required (serving).
        case wrongType(column: String, expected: FeatureType, value: String)
        /// A value the schema's domain does not allow, where that refuses the row.
        case outOfDomain(column: String, detail: String)
        case unterminatedQuote
        case textAfterClosingQuote
        case nulByte
        case fieldTooLarge(limit: Int)
        case invalidUTF8(column: String)
        case missingColumn(name: String, columns: [String])
        case unreadable(detail: String)
    }

    public let kind: Kind
    public let file: String
    /// 1-based physical line where the problem is (for an unterminated quote: where it opened).
    public let line: Int?
    /// 1-based field number within the row, where one applies.
    public let field: Int?

    public init(_ kind: Kind, file: String, line: Int? = nil, field: Int? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
    }

    public var location: SourceLocation? { SourceLocation(file: file, line: line, column: field) }

    public var message: String {
        switch kind {
        case .empty: "the file is empty: a header row is required"
        case .duplicateHeader(let name, let first):
            "column name '\(name)' appears twice in the header (first as column \(first))"
        case .emptyHeader(let column): "header column \(column) has no name"
        case .raggedRow(let expected, let found):
            "row has \(found) field\(found == 1 ? "" : "s"), the header has \(expected)"
        case .wrongType(let column, let expected, let value):
            "column '\(column)' must be \(expected == .int ? "an integer" : "a number"), not '\(value)'"
        case .outOfDomain(let column, let detail): "column '\(column)': \(detail)"
        case .unterminatedQuote: "a quoted field opened here is never closed before the end of the file"
        case .textAfterClosingQuote: "text follows the closing quote of a field"
        case .nulByte: "the file contains a NUL byte (is it binary, or UTF-16?)"
        case .fieldTooLarge(let limit): "a field is larger than \(limit) bytes"
        case .invalidUTF8(let column): "column '\(column)' holds text that is not valid UTF-8"
        case .unreadable(let detail): "cannot be read: \(detail)"
        case .missingColumn(let name, _): "the header has no column '\(name)'"
        }
    }

    public var hint: String? {
        switch kind {
        case .raggedRow, .wrongType:
            "fix the row, or skip and count such rows (`data.on_bad_rows: skip`; `--on-bad-rows skip` for mlops infer)"
        case .outOfDomain:
            "fix the row, skip such rows (`--on-bad-rows skip`), or read the value as missing (`--out-of-domain missing`)"
        case .unterminatedQuote, .textAfterClosingQuote:
            "inside a quoted field write a quote as two quotes (\"\"), as RFC 4180 says"
        case .duplicateHeader: "rename one of the columns"
        case .invalidUTF8: "convert the file to UTF-8"
        case .missingColumn(let name, let columns):
            Suggestions.nearest(to: name, in: columns).map { "did you mean '\($0)'?" }
                ?? "the columns are: " + columns.joined(separator: ", ")
        default: nil
        }
    }

    public var exitStatus: ExitStatus {
        if case .unreadable = kind { return .noInput }
        return .dataError
    }
}
