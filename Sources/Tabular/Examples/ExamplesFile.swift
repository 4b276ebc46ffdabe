import Foundation
import MLOpsCore

/// The columnar examples file ExampleGen writes, one per split (docs/examples.md).
///
/// ```
/// 0   8 bytes   magic "MLOPSEXM"
/// 8   u32 LE    format version (1)
/// 12  u32 LE    header length H
/// 16  H bytes   header: UTF-8 JSON (rows, split, columns with their blocks)
///     …         blocks, each starting at a multiple of 64 bytes from the start of the file
/// ```
/// Every block is one contiguous little-endian array addressed by absolute offset and length:
/// INT values as int64 (0 where missing), FLOAT values as float64 (NaN where missing), BYTES as
/// int32 dictionary codes (-1 where missing) with the dictionary as uint64 offsets (count + 1)
/// into a block of UTF-8 bytes; each column's validity bitmap has bit `i % 8` of byte `i / 8`
/// set when row `i` is present (Arrow's order). A reader can map the file and use the arrays
/// in place.
#if _endian(big)
    #error("the examples file format is little-endian; this host is not")
#endif

public enum ExamplesFile {
    public static let magic = Array("MLOPSEXM".utf8)
    public static let version: UInt32 = 1
    static let alignment = 64

    public struct Block: Codable, Sendable, Equatable {
        public let offset: Int
        public let length: Int
    }

    public struct Dictionary: Codable, Sendable, Equatable {
        public let count: Int
        public let offsets: Block
        public let bytes: Block
    }

    public struct ColumnEntry: Codable, Sendable, Equatable {
        public let name: String
        public let type: FeatureType
        public let values: Block
        public let validity: Block
        public let dictionary: Dictionary?
    }

    public struct Header: Codable, Sendable, Equatable {
        public let rows: Int
        public let split: String
        public let columns: [ColumnEntry]
    }

    // MARK: - Writing

    /// Writes the rows `rows` (indices into `table`, in order; nil for all) of `table` as the
    /// split `split`, atomically.
    public static func write(_ table: DataTable, rows selected: [Int]?, split: String, to url: URL) throws {
        let rowCount = selected?.count ?? table.rowCount
        // Lay out the blocks first: the header holds their offsets.
        var entries: [ColumnEntry] = []
        var blocks: [Int] = []  // lengths, in file order
        func block(_ length: Int) -> Block {
            blocks.append(length)
            return Block(offset: -1, length: length)
        }
        var dictionaries: [[UInt8]] = []
        var dictionaryOffsets: [[UInt64]] = []
        for column in table.columns {
            let validity = block((rowCount + 7) / 8)
            switch column.values {
            case .int:
                entries.append(
                    .init(
                        name: column.name, type: column.type, values: block(rowCount * 8), validity: validity,
                        dictionary: nil))
            case .float:
                entries.append(
                    .init(
                        name: column.name, type: column.type, values: block(rowCount * 8), validity: validity,
                        dictionary: nil))
            case .bytes(let dictionary, _):
                var bytes: [UInt8] = []
                var offsets: [UInt64] = [0]
                offsets.reserveCapacity(dictionary.count + 1)
                for text in dictionary {
                    bytes.append(contentsOf: text.utf8)
                    offsets.append(UInt64(bytes.count))
                }
                dictionaries.append(bytes)
                dictionaryOffsets.append(offsets)
                let values = block(rowCount * 4)
                let dictionaryEntry = Dictionary(
                    count: dictionary.count, offsets: block(offsets.count * 8), bytes: block(bytes.count))
                entries.append(
                    .init(
                        name: column.name, type: column.type, values: values, validity: validity,
                        dictionary: dictionaryEntry))
            }
        }
        // Offsets: the header's length depends on the offsets' digits, so size it with the
        // largest possible offsets first, then pad the header to that size.
        func encode(_ header: Header) throws -> [UInt8] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Array(try encoder.encode(header))
        }
        let provisional = try encode(
            Header(rows: rowCount, split: split, columns: entries.map { $0.placed(at: Int(Int32.max) * 1000) }))
        let headerSpace = provisional.count + 64
        var next = roundUp(16 + headerSpace)
        var placed: [ColumnEntry] = []
        for entry in entries {
            placed.append(
                entry.placing { length in
                    defer { next = roundUp(next + length) }
                    return next
                })
        }
        var header = try encode(Header(rows: rowCount, split: split, columns: placed))
        header += [UInt8](repeating: 0x20, count: headerSpace - header.count)

        try AtomicFile.create(url) { writer in
            try writer.write(magic)
            try writer.write(withUnsafeBytes(of: version.littleEndian) { Array($0) })
            try writer.write(withUnsafeBytes(of: UInt32(header.count).littleEndian) { Array($0) })
            try writer.write(header)
            var dictionaryIndex = 0
            for column in table.columns {
                try writer.pad(to: alignment)
                try writer.write(bitmap(column.present, rows: selected))
                try writer.pad(to: alignment)
                switch column.values {
                case .int(let values): try writeGathered(values, selected, &writer)
                case .float(let values): try writeGathered(values, selected, &writer)
                case .bytes(_, let codes):
                    try writeGathered(codes, selected, &writer)
                    try writer.pad(to: alignment)
                    try writeGathered(dictionaryOffsets[dictionaryIndex], nil, &writer)
                    try writer.pad(to: alignment)
                    try writer.write(dictionaries[dictionaryIndex])
                    dictionaryIndex += 1
                }
            }
            try writer.pad(to: alignment)
        }
    }

    private static func roundUp(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    private static func bitmap(_ present: [Bool], rows selected: [Int]?) -> [UInt8] {
        let count = selected?.count ?? present.count
        var bits = [UInt8](repeating: 0, count: (count + 7) / 8)
        for row in 0..<count where present[selected?[row] ?? row] {
            bits[row >> 3] |= 1 << UInt8(row & 7)
        }
        return bits
    }

    private static func writeGathered<T: BitwiseCopyable>(_ values: [T], _ selected: [Int]?, _ writer: inout FileWriter)
        throws(FileError)
    {
        let result: Result<Void, FileError>
        if let selected {
            let gathered = selected.map { values[$0] }
            result = gathered.withUnsafeBytes { raw in Result { () throws(FileError) in try writer.write(raw) } }
        } else {
            result = values.withUnsafeBytes { raw in Result { () throws(FileError) in try writer.write(raw) } }
        }
        try result.get()
    }

    // MARK: - Reading

    /// A block's little-endian values as an array (this host is little-endian, as the file).
    package static func copied<T: BitwiseCopyable>(_ block: UnsafeRawBufferPointer, _ count: Int) -> [T] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: block)
            initialized = count
        }
    }

    /// Reads an examples file back into a table, checking every block against the file.
    public static func read(_ url: URL) throws(ExamplesFileError) -> DataTable {
        try mapped(url) { raw, path throws(ExamplesFileError) in try decode(raw, path: path) }
    }

    /// Only the header (rows, split, columns and their types).
    public static func header(of url: URL) throws(ExamplesFileError) -> Header {
        try mapped(url) { raw, path throws(ExamplesFileError) in try decodeHeader(raw, path: path) }
    }

    /// `body` over the file's bytes, memory-mapped.
    private static func mapped<T>(
        _ url: URL, _ body: (UnsafeRawBufferPointer, String) throws(ExamplesFileError) -> T
    ) throws(ExamplesFileError) -> T {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw ExamplesFileError(.missing, path: path, detail: (error as NSError).localizedDescription)
        }
        let result: Result<T, ExamplesFileError> = data.withUnsafeBytes { raw in
            Result { () throws(ExamplesFileError) -> T in try body(raw, path) }
        }
        return try result.get()
    }

    static func decodeHeader(_ raw: UnsafeRawBufferPointer, path: String) throws(ExamplesFileError) -> Header {
        func corrupt(_ detail: String) -> ExamplesFileError { ExamplesFileError(.corrupt, path: path, detail: detail) }
        guard raw.count >= 16, Array(raw[0..<8]) == magic else {
            throw corrupt("not an mlops examples file (no MLOPSEXM magic)")
        }
        let fileVersion = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard fileVersion <= version else {
            throw ExamplesFileError(
                .newerVersion, path: path, detail: "format version \(fileVersion), this mlops reads up to \(version)")
        }
        let headerLength = Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard headerLength <= raw.count - 16 else { throw corrupt("the header runs past the end of the file") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(raw[16..<(16 + headerLength)]))
        } catch {
            throw corrupt("the header is not valid: \(error)")
        }
        // Every row takes at least a bit of the file, so a count beyond that is a lie (and
        // arithmetic on it could overflow).
        guard header.rows >= 0, header.rows <= raw.count * 8 else {
            throw corrupt("a row count of \(header.rows) does not fit a file of \(raw.count) bytes")
        }
        for column in header.columns {
            if let dictionary = column.dictionary, dictionary.count < 0 || dictionary.count > raw.count / 8 {
                throw corrupt("the dictionary of '\(column.name)' claims \(dictionary.count) entries")
            }
        }
        return header
    }

    static func decode(_ raw: UnsafeRawBufferPointer, path: String) throws(ExamplesFileError) -> DataTable {
        func corrupt(_ detail: String) -> ExamplesFileError { ExamplesFileError(.corrupt, path: path, detail: detail) }
        let header = try decodeHeader(raw, path: path)
        let rows = header.rows
        func bytes(_ block: Block, _ expected: Int?, _ what: String) throws(ExamplesFileError) -> UnsafeRawBufferPointer
        {
            guard block.offset >= 16, block.length >= 0, block.offset <= raw.count,
                block.length <= raw.count - block.offset
            else { throw corrupt("\(what) lies outside the file") }
            if let expected, block.length != expected {
                throw corrupt("\(what) has \(block.length) bytes, \(expected) expected for \(rows) rows")
            }
            return UnsafeRawBufferPointer(rebasing: raw[block.offset..<(block.offset + block.length)])
        }
        var columns: [Column] = []
        var names = Set<String>()
        for entry in header.columns {
            guard names.insert(entry.name).inserted else { throw corrupt("column '\(entry.name)' appears twice") }
            let bits = try bytes(entry.validity, (rows + 7) / 8, "the validity of '\(entry.name)'")
            let present = (0..<rows).map { bits[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
            let values: Column.Values
            switch entry.type {
            case .int:
                let block = try bytes(entry.values, rows * 8, "the values of '\(entry.name)'")
                values = .int(copied(block, rows))
            case .float:
                let block = try bytes(entry.values, rows * 8, "the values of '\(entry.name)'")
                values = .float(copied(block, rows))
            case .bytes:
                guard let dictionary = entry.dictionary, dictionary.count >= 0 else {
                    throw corrupt("BYTES column '\(entry.name)' has no dictionary")
                }
                let block = try bytes(entry.values, rows * 4, "the codes of '\(entry.name)'")
                let offsetBlock = try bytes(
                    dictionary.offsets, (dictionary.count + 1) * 8, "the dictionary offsets of '\(entry.name)'")
                let text = try bytes(dictionary.bytes, nil, "the dictionary of '\(entry.name)'")
                var strings: [String] = []
                strings.reserveCapacity(dictionary.count)
                var previous = 0
                for index in 0...dictionary.count {
                    let offset = Int(
                        truncatingIfNeeded: offsetBlock.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
                            .littleEndian)
                    guard offset >= previous, offset <= text.count, index > 0 || offset == 0 else {
                        throw corrupt("the dictionary offsets of '\(entry.name)' are out of order or out of range")
                    }
                    if index > 0 {
                        guard
                            let string = String(
                                validating: UnsafeRawBufferPointer(rebasing: text[previous..<offset]), as: UTF8.self)
                        else {
                            throw corrupt("dictionary entry \(index - 1) of '\(entry.name)' is not valid UTF-8")
                        }
                        strings.append(string)
                    }
                    previous = offset
                }
                let codes: [Int32] = copied(block, rows)
                let limit = Int32(clamping: dictionary.count)
                for row in 0..<rows {
                    let code = codes[row]
                    guard code >= -1, code < limit, (code >= 0) == present[row] else {
                        throw corrupt(
                            "row \(row) of '\(entry.name)' has code \(code), which does not fit its dictionary or validity"
                        )
                    }
                }
                values = .bytes(dictionary: strings, codes: codes)
            }
            columns.append(Column(name: entry.name, type: entry.type, values: values, present: present))
        }
        return DataTable(file: path, columns: columns, rowCount: rows)
    }
}

extension ExamplesFile.ColumnEntry {
    /// The same entry with its blocks given offsets, in file order.
    func placing(_ next: (Int) -> Int) -> Self {
        let validity = ExamplesFile.Block(offset: next(self.validity.length), length: self.validity.length)
        let values = ExamplesFile.Block(offset: next(self.values.length), length: self.values.length)
        let dictionary = self.dictionary.map { dictionary in
            let offsets = ExamplesFile.Block(offset: next(dictionary.offsets.length), length: dictionary.offsets.length)
            let bytes = ExamplesFile.Block(offset: next(dictionary.bytes.length), length: dictionary.bytes.length)
            return ExamplesFile.Dictionary(count: dictionary.count, offsets: offsets, bytes: bytes)
        }
        return Self(name: name, type: type, values: values, validity: validity, dictionary: dictionary)
    }

    func placed(at offset: Int) -> Self { placing { _ in offset } }
}

/// An examples file that is missing, damaged, or from a newer mlops.
public struct ExamplesFileError: MLOpsError {
    public enum Kind: Sendable { case missing, corrupt, newerVersion }
    public let kind: Kind
    public let path: String
    public let detail: String

    public init(_ kind: Kind, path: String, detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    public var message: String {
        switch kind {
        case .missing: "examples file '\(path)' cannot be read: \(detail)"
        case .corrupt: "examples file '\(path)' is damaged: \(detail)"
        case .newerVersion: "examples file '\(path)' was written by a newer mlops: \(detail)"
        }
    }

    public var hint: String? {
        switch kind {
        case .missing: nil
        case .corrupt: "delete it and run ExampleGen again (`mlops data examples`)"
        case .newerVersion: "upgrade mlops, or run ExampleGen again with this version"
        }
    }

    public var exitStatus: ExitStatus { kind == .missing ? .noInput : .dataError }
}
