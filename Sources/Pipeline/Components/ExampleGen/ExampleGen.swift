import Foundation
import GitKit
import MLOpsCore
import Tabular

/// ExampleGen's executor: reads the spans' CSV files, splits the rows by hash bucket and
/// writes one columnar examples file per split (``ExamplesFile``) plus `examples.json`.
public enum ExampleGen {
    public struct Options: Sendable {
        public var csv = CSVOptions()
        /// Named splits with weights, in order.
        public var splits: [(name: String, weight: Int)] = [("train", 2), ("eval", 1)]
        public var partitionColumn: String?

        public init() {}
    }

    /// What `examples.json` records.
    public struct Result: Sendable, Codable, Equatable {
        public struct Split: Sendable, Codable, Equatable {
            public let name: String
            public let weight: Int
            public let rows: Int
            /// File name inside the output folder.
            public let file: String
        }

        public struct SkippedRows: Sendable, Codable, Equatable {
            public let file: String
            public let count: Int
            public let first: [DataTable.SkippedRow]
        }

        public let spans: [SpanFiles]
        public let rows: Int
        /// `row` or the partition column's name.
        public let splitBy: String
        public let hash: String
        public let splits: [Split]
        public let skipped: [SkippedRows]
        public let inputBytes: Int

        enum CodingKeys: String, CodingKey {
            case spans, rows, splitBy = "split_by", hash, splits, skipped, inputBytes = "input_bytes"
        }
    }

    public static let hashName = "fnv1a64+splitmix64"
    public static let metadataFile = "examples.json"

    /// Reads the files of `spans` (paths relative to `root`) into one table, with the rows
    /// each file skipped under `on_bad_rows: skip`.
    public static func read(spans: [SpanFiles], root: URL, options: Options) throws
        -> (table: DataTable, skipped: [Result.SkippedRows])
    {
        let paths = spans.flatMap { span in span.files.map { (relative: $0, full: resolve($0, root)) } }
        return try read(files: paths.map(\.relative), options: options) { index, csv in
            try readRelative(paths[index].full, relative: paths[index].relative, options: csv)
        }
    }

    /// The data sources as they were at the merge-base, read from their git blobs (no
    /// checkout), as the sources are read.
    public static func read(base: MergeBaseData, options: Options) throws -> DataTable {
        let repository = try Repository.open(at: base.gitDirectory)
        var contents: [Data] = []
        for file in base.files {
            guard let data = try repository.blobContents(file.blob, limit: Int.max) else {
                throw FileError(
                    .missing, path: file.path,
                    detail:
                        "its blob \(file.blob.short) at \(base.commit?.short ?? "the merge-base") is not in the repository"
                )
            }
            contents.append(data)
        }
        let names = base.files.map { "\($0.path)@\(base.commit?.short ?? "base")" }
        return try read(files: names, options: options) { index, csv in
            try contents[index].withUnsafeBytes { bytes in
                try CSVReader.parse(bytes, file: names[index], options: csv)
            }
        }.table
    }

    /// Reads files `files` (names for messages) with `readOne(index, options)` into one table.
    private static func read(
        files: [String], options: Options, _ readOne: (Int, CSVOptions) throws -> DataTable
    ) throws -> (table: DataTable, skipped: [Result.SkippedRows]) {
        var csv = options.csv
        csv.rowHash = options.partitionColumn.map { .column($0) } ?? .wholeRow
        var tables: [DataTable] = []
        for index in files.indices {
            tables.append(try readOne(index, csv))
        }
        // Text in one file and numbers in another: those columns are read again as text, so
        // numbers keep their spelling.
        let unified = try unifiedTypes(tables, files: files)
        for (index, table) in tables.enumerated() {
            let mismatched = table.columns.filter {
                unified[$0.name] == .bytes && $0.type != .bytes && $0.presentCount > 0
            }
            guard !mismatched.isEmpty else { continue }
            var forced = csv
            for column in mismatched { forced.types[column.name] = .bytes }
            tables[index] = try readOne(index, forced)
        }
        let skipped = zip(files, tables).compactMap { file, table in
            table.skipped.isEmpty
                ? nil
                : Result.SkippedRows(file: file, count: table.skipped.count, first: Array(table.skipped.prefix(10)))
        }
        return (concatenate(tables, types: unified), skipped)
    }

    /// A source path: absolute as given, else below `root`.
    static func resolve(_ file: String, _ root: URL) -> String {
        file.hasPrefix("/") ? file : root.appendingPathComponent(file).path
    }

    private static func readRelative(_ path: String, relative: String, options: CSVOptions) throws(CSVError)
        -> DataTable
    {
        do {
            return try CSVReader.read(path: path, options: options)
        } catch {
            // Name the file as the user wrote it in mlops.yaml.
            throw CSVError(error.kind, file: relative, line: error.line, field: error.field)
        }
    }

    /// One type per column over all files: the widest, ignoring files where it has no value.
    static func unifiedTypes(_ tables: [DataTable], files: [String]) throws(ExampleGenError) -> [String: FeatureType] {
        guard let first = tables.first else { return [:] }
        let names = first.columns.map(\.name)
        var types: [String: FeatureType] = [:]
        for (index, table) in tables.enumerated() {
            let these = table.columns.map(\.name)
            guard Set(these) == Set(names), these.count == names.count else {
                throw ExampleGenError(
                    .headerMismatch(
                        file: files[index], firstFile: files[0], missing: names.filter { !these.contains($0) },
                        extra: these.filter { !names.contains($0) }))
            }
            for column in table.columns where column.presentCount > 0 {
                let previous = types[column.name]
                types[column.name] =
                    switch (previous, column.type) {
                    case (nil, let type): type
                    case (.bytes?, _), (_, .bytes): .bytes
                    case (.float?, _), (_, .float): .float
                    default: .int
                    }
            }
        }
        for name in names where types[name] == nil {
            types[name] = first.column(name)?.type ?? .float
        }
        return types
    }

    /// The tables one after another, in the first table's column order, with `types`.
    static func concatenate(_ tables: [DataTable], types: [String: FeatureType]) -> DataTable {
        guard let first = tables.first else { return DataTable(file: "", columns: [], rowCount: 0) }
        if tables.count == 1, first.columns.allSatisfy({ types[$0.name] == $0.type }) { return first }
        let rows = tables.reduce(0) { $0 + $1.rowCount }
        var columns: [Column] = []
        for name in first.columns.map(\.name) {
            let type = types[name] ?? .float
            let parts = tables.compactMap { $0.column(name) }
            let present = parts.flatMap(\.present)
            switch type {
            case .int:
                let values = parts.flatMap { part -> [Int64] in
                    if case .int(let values) = part.values { return values }
                    return [Int64](repeating: 0, count: part.present.count)
                }
                columns.append(Column(name: name, type: .int, values: .int(values), present: present))
            case .float:
                let values = parts.flatMap { part -> [Double] in
                    switch part.values {
                    case .float(let values): return values
                    case .int(let values): return zip(values, part.present).map { $1 ? Double($0) : .nan }
                    case .bytes: return [Double](repeating: .nan, count: part.present.count)
                    }
                }
                columns.append(Column(name: name, type: .float, values: .float(values), present: present))
            case .bytes:
                var dictionary = ByteDictionary()
                var codes: [Int32] = []
                codes.reserveCapacity(rows)
                for part in parts {
                    guard case .bytes(let partDictionary, let partCodes) = part.values else {
                        codes.append(contentsOf: repeatElement(-1, count: part.present.count))  // no value here
                        continue
                    }
                    let remap = partDictionary.map { dictionary.code(for: $0) }
                    codes.append(contentsOf: partCodes.lazy.map { $0 < 0 ? -1 : remap[Int($0)] })
                }
                columns.append(
                    Column(
                        name: name, type: .bytes, values: .bytes(dictionary: dictionary.strings, codes: codes),
                        present: present
                    ))
            }
        }
        return DataTable(
            file: first.file, columns: columns, rowCount: rows, skipped: tables.flatMap(\.skipped),
            rowHashes: tables.flatMap(\.rowHashes))
    }

    /// Row indices per split, in file order, from the row hashes.
    public static func assign(_ table: DataTable, splits: [(name: String, weight: Int)]) -> [[Int]] {
        let total = splits.reduce(0) { $0 + $1.weight }
        // Bucket -> split.
        var owner: [Int] = []
        for (index, split) in splits.enumerated() { owner += repeatElement(index, count: split.weight) }
        var rows = [[Int]](repeating: [], count: splits.count)
        for (index, split) in splits.enumerated() {
            rows[index].reserveCapacity(table.rowCount * split.weight / max(total, 1) + 16)
        }
        for (row, hash) in table.rowHashes.enumerated() {
            rows[owner[SplitHash.bucket(hash, of: total)]].append(row)
        }
        return rows
    }

    /// Runs ExampleGen: reads, splits and writes `output` (a folder) as a whole: the files
    /// are written into a staging folder beside it, which replaces `output` only when all
    /// are written.
    public static func run(spans: [SpanFiles], root: URL, output: URL, options: Options) throws -> Result {
        let (table, skipped) = try read(spans: spans, root: root, options: options)
        let assignment = assign(table, splits: options.splits)
        let inputBytes = spans.flatMap(\.files).reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: resolve(file, root)))?[.size]
            return total + ((size as? NSNumber)?.intValue ?? 0)
        }
        let result = Result(
            spans: spans, rows: table.rowCount, splitBy: options.partitionColumn ?? "row", hash: hashName,
            splits: zip(options.splits, assignment).map { split, rows in
                Result.Split(name: split.name, weight: split.weight, rows: rows.count, file: "\(split.name).examples")
            },
            skipped: skipped, inputBytes: inputBytes)
        try StagedFolder.publish(output) { staging in
            // The splits are written at once, one per core; the first error (in split order) wins.
            let written = concurrentMap(result.splits.count) { index in
                Swift.Result {
                    try ExamplesFile.write(
                        table, rows: assignment[index], split: result.splits[index].name,
                        to: staging.appendingPathComponent(result.splits[index].file))
                }
            }
            for outcome in written { try outcome.get() }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(result), to: staging.appendingPathComponent(metadataFile))
        }
        return result
    }
}

/// ExampleGen's errors: the sources matched nothing, the span asked for is not there, files
/// of one span disagree on their columns.
public struct ExampleGenError: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case noFiles(patterns: [String])
        case spanNotFound(selection: String, available: [Int])
        case spanWithoutPlaceholder(selection: String)
        case headerMismatch(file: String, firstFile: String, missing: [String], extra: [String])
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .noFiles(let patterns):
            "no file matches the data sources \(patterns.map { "'\($0)'" }.joined(separator: ", "))"
        case .spanNotFound(let selection, let available):
            "no span \(selection) among the data files (spans found: \(available.map(String.init).joined(separator: ", ")))"
        case .spanWithoutPlaceholder(let selection):
            "span \(selection) was asked for, but no data source has a {SPAN} placeholder"
        case .headerMismatch(let file, let first, let missing, let extra):
            "'\(file)' has other columns than '\(first)'"
                + (missing.isEmpty ? "" : "; missing: " + missing.joined(separator: ", "))
                + (extra.isEmpty ? "" : "; extra: " + extra.joined(separator: ", "))
        }
    }

    public var hint: String? {
        switch kind {
        case .noFiles: "check `data.sources` in mlops.yaml (patterns are relative to the repository root)"
        case .spanNotFound: "set `data.span` (or --span) to one of the spans found, `latest` or `all`"
        case .spanWithoutPlaceholder: "write the span into the pattern, e.g. data/span-{SPAN}/*.csv"
        case .headerMismatch: "every file of a span must have the same columns"
        }
    }

    public var location: SourceLocation? {
        if case .headerMismatch(let file, _, _, _) = kind { return SourceLocation(file: file, line: 1) }
        return nil
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .noFiles, .spanNotFound: .noInput
        case .spanWithoutPlaceholder: .configError
        case .headerMismatch: .dataError
        }
    }
}
