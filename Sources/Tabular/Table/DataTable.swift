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

    package init(name: String, type: FeatureType, values: Values, present: [Bool]) {
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
