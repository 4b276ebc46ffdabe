import Foundation
import MLOpsCore
import Pipeline
import S3Kit
import Serving
import Tabular

/// A span of time, `[from, to)`, as `mlops monitor` reads the prediction logs.
public struct TimeWindow: Sendable, Codable, Equatable {
    public let from: Date
    public let to: Date

    public init(from: Date, to: Date) {
        self.from = from
        self.to = to
    }

    /// The window of the same length just before this one: what drift is measured against.
    public var previous: TimeWindow { TimeWindow(from: from - to.timeIntervalSince(from), to: from) }

    /// `2026-12-07T02:00:00Z`, or `2026-12-07T02:00:00.250Z` off the whole second.
    public static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.up))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let fraction = milliseconds % 1000 == 0 ? "" : String(format: ".%03d", Int(milliseconds % 1000))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec) + fraction + "Z"
    }

    public var description: String { "\(Self.format(from)) to \(Self.format(to))" }
}

/// The rows one model's logs hold in a window, as columns: the raw features (typed as the
/// training statistics type them), the predictions (as ``Predictions/distributionTable``
/// lays them out) and, per row, its request id and its index in the request.
public struct LoggedRows: Sendable {
    public let features: DataTable
    public let predictions: DataTable
    public let requestIDs: [String]
    public let indexInRequest: [Int]
    public let requests: Int
    public var rowCount: Int { features.rowCount }
}

/// What reading the logs found besides the rows: the files and lines read, the lines that are
/// not log lines (counted, the first few named), and the rows of other models or outside the
/// windows, which are left out.
public struct LogReadSummary: Sendable, Codable, Equatable {
    public var folder: String
    public var files = 0
    public var lines = 0
    public var malformed = 0
    /// `FILE:LINE: what is wrong`, the first ten.
    public var malformedExamples: [String] = []
    /// Rows of other models or versions, by their identity (`sha256:…`) and version.
    public var otherModels: [String: Int] = [:]
    /// Rows of this model outside the windows read.
    public var outside = 0
    /// Values of the wrong type for their feature (a text where a number was trained), read
    /// as missing, by feature.
    public var typeMismatches: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case folder, files, lines, malformed, malformedExamples = "malformed_examples"
        case otherModels = "other_models", outside, typeMismatches = "type_mismatches"
    }
}

/// Where the prediction log's files are: a folder, or an S3 prefix a job copied them to (the
/// credentials and endpoint as for an S3 registry: docs/release.md).
public enum LogLocation: Sendable, CustomStringConvertible {
    case folder(URL)
    case s3(S3Client, S3Location)

    /// `s3://BUCKET/PREFIX`, else a folder (relative to `root`).
    public static func parse(_ text: String, root: URL, environment: [String: String]) throws -> LogLocation {
        guard text.lowercased().hasPrefix("s3://") else {
            return .folder(URL(fileURLWithPath: text, relativeTo: root).standardizedFileURL)
        }
        return .s3(try S3Settings.client(environment: environment), try S3Location(parsing: text))
    }

    public var description: String {
        switch self {
        case .folder(let url): url.path
        case .s3(_, let location): location.description
        }
    }

    /// The names of the files directly in it.
    func names() throws -> [String] {
        switch self {
        case .folder(let url):
            do {
                return try FileManager.default.contentsOfDirectory(atPath: url.path)
            } catch {
                throw FileError(
                    .missing, path: url.path, detail: "there is no prediction log folder here",
                    hint: "serve with serving.log set (or --log-predictions DIR), or name the folder with --logs")
            }
        case .s3(let client, let location):
            let prefix = location.prefix.isEmpty ? "" : location.prefix + "/"
            return try client.list(bucket: location.bucket, prefix: prefix, delimiter: "/").objects.map {
                String($0.key.dropFirst(prefix.count))
            }
        }
    }

    /// A file's bytes, and its path or URL for messages.
    func contents(_ name: String) throws -> (data: Data, path: String) {
        switch self {
        case .folder(let url):
            let path = url.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw FileError(.io, path: path, detail: "cannot be read")
            }
            return (data, path)
        case .s3(let client, let location):
            let path = "s3://\(location.bucket)/\(location.key(name))"
            guard let data = try client.get(bucket: location.bucket, key: location.key(name)) else {
                throw FileError(.missing, path: path, detail: "was listed, then gone")
            }
            return (data, path)
        }
    }
}

/// Reads the files `mlops serve` publishes (docs/monitoring.md): whole `predictions-….jsonl`
/// files only (a hidden `.partial` file is being written), one JSON line per request with its
/// columns as arrays.
public enum PredictionLogReader {
    /// The rows of the model `identity` in each of `windows` (in that order), features typed
    /// by `types` (features the training data did not have are left out).
    public static func read(
        _ location: LogLocation, identity: String, windows: [TimeWindow], types: [(name: String, type: FeatureType)],
        pieceBytes: Int = PredictionLogReader.pieceBytes
    ) throws -> (rows: [LoggedRows], summary: LogReadSummary) {
        var summary = LogReadSummary(folder: location.description)
        let names = try location.names()
        // A file holds the rows of at most a day after its name's time (serving.log.rotate_seconds
        // is at most 86400): older files cannot reach the windows, later ones start after them.
        let earliest = (windows.map(\.from).min() ?? .distantPast) - 2 * 86_400
        let latest = windows.map(\.to).max() ?? .distantFuture
        let all = names.filter { $0.hasPrefix("predictions-") && $0.hasSuffix(".jsonl") }.sorted()
        // No log at all is a wrong place (a mistyped prefix, an unset variable), not a quiet hour.
        guard !all.isEmpty else {
            throw FileError(
                .missing, path: location.description, detail: "holds no prediction log file (predictions-*.jsonl)",
                hint: "check --logs or serving.log.path: mlops serve publishes its files there")
        }
        let files =
            all
            .filter { name in
                guard let start = fileStart(name) else { return true }
                // A row's time is its request's, a little before the file it lands in opens.
                return start >= earliest && start < latest + 60
            }
        var accumulators = windows.map { _ in Accumulator(types: types) }
        let windowBounds = windows.map { window in
            (
                Int64((window.from.timeIntervalSince1970 * 1000).rounded(.up)),
                Int64((window.to.timeIntervalSince1970 * 1000).rounded(.up))
            )
        }
        // Every file read, then cut at line ends into pieces parsed on all cores, each into its
        // own columns, joined in file and line order.
        var contents: [(data: Data, path: String)] = []
        for name in files { contents.append(try location.contents(name)) }
        summary.files = contents.count
        var pieces: [Piece] = []
        for (file, content) in contents.enumerated() {
            content.data.withUnsafeBytes { bytes in
                var start = 0
                var line = 1
                while start < bytes.count {
                    var end = min(bytes.count, start + max(1, pieceBytes))
                    if end < bytes.count,
                        let newline = memchr(bytes.baseAddress! + end, 0x0A, bytes.count - end)
                    {
                        end = UnsafeRawPointer(newline) - UnsafeRawPointer(bytes.baseAddress!) + 1
                    } else {
                        end = bytes.count
                    }
                    pieces.append(Piece(file: file, range: start..<end, firstLine: line))
                    line += Self.newlines(in: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    start = end
                }
            }
        }
        let parsed = concurrentMap(pieces.count) { index in
            let piece = pieces[index]
            let content = contents[piece.file]
            return content.data.withUnsafeBytes { bytes in
                parse(
                    UnsafeRawBufferPointer(rebasing: bytes[piece.range]), path: content.path,
                    firstLine: piece.firstLine,
                    identity: identity, windows: windowBounds, types: types)
            }
        }
        for (partial, found) in parsed {
            for index in accumulators.indices { accumulators[index].append(partial[index]) }
            summary.lines += found.lines
            summary.malformed += found.malformed
            summary.malformedExamples += found.malformedExamples.prefix(10 - summary.malformedExamples.count)
            summary.outside += found.outside
            summary.otherModels.merge(found.otherModels, uniquingKeysWith: +)
            summary.typeMismatches.merge(found.typeMismatches, uniquingKeysWith: +)
        }
        return (accumulators.map { $0.rows() }, summary)
    }

    /// A piece of a file: whole lines, the first at `firstLine`.
    struct Piece {
        let file: Int
        let range: Range<Int>
        let firstLine: Int
    }

    /// Bytes of log parsed as one piece (about 40,000 one-row lines).
    public static let pieceBytes = 16 << 20

    static func newlines(in bytes: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var start = 0
        while start < bytes.count, let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) {
            count += 1
            start = UnsafeRawPointer(found) - UnsafeRawPointer(bytes.baseAddress!) + 1
        }
        return count
    }

    /// The lines of one piece, each window's rows into its own accumulator.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, path: String, firstLine: Int, identity: String, windows: [(Int64, Int64)],
        types: [(name: String, type: FeatureType)]
    ) -> (accumulators: [Accumulator], summary: LogReadSummary) {
        var accumulators = windows.map { _ in Accumulator(types: types) }
        var summary = LogReadSummary(folder: "")
        var start = 0
        var lineNumber = firstLine - 1
        while start < bytes.count {
            let end =
                memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start).map {
                    UnsafeRawPointer($0) - UnsafeRawPointer(bytes.baseAddress!)
                } ?? bytes.count
            lineNumber += 1
            defer { start = end + 1 }
            guard end > start else { continue }
            summary.lines += 1
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            do throws(LineError) {
                let entry = try parse(line)
                guard entry.identity == identity else {
                    summary.otherModels[entry.identity + (entry.version.map { " (\($0))" } ?? ""), default: 0] +=
                        entry.rows
                    continue
                }
                guard let index = windows.firstIndex(where: { entry.milliseconds >= $0.0 && entry.milliseconds < $0.1 })
                else {
                    summary.outside += entry.rows
                    continue
                }
                try accumulators[index].add(entry, mismatches: &summary.typeMismatches)
            } catch {
                summary.malformed += 1
                if summary.malformedExamples.count < 10 {
                    summary.malformedExamples.append("\(path):\(lineNumber): \(error.message)")
                }
            }
        }
        return (accumulators, summary)
    }

    /// The start time in a file name `predictions-20261207T021110Z-…`.
    static func fileStart(_ name: String) -> Date? {
        let parts = name.split(separator: "-")
        guard parts.count >= 2 else { return nil }
        return parseTime(Array(parts[1].utf8)).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    struct LineError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// One log line's fields.
    struct Entry {
        let milliseconds: Int64
        let requestID: String
        let identity: String
        let version: String?
        let rows: Int
        let features: JSONObject
        let predictions: JSONObject
    }

    static func parse(_ line: UnsafeRawBufferPointer) throws(LineError) -> Entry {
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch { throw LineError("not JSON: \(error.message)") }
        guard let object = value.object else { throw LineError("not a JSON object") }
        guard let time = object["time"]?.string, let milliseconds = parseTime(Array(time.utf8)) else {
            throw LineError("no 'time' (ISO 8601 UTC, as 2026-12-07T02:11:10.123Z)")
        }
        guard let identity = object["identity"]?.string else { throw LineError("no 'identity'") }
        guard case .number(let count) = object["rows"], count >= 0, count == count.rounded(), count < 1e9 else {
            throw LineError("no 'rows' count")
        }
        guard let features = object["features"]?.object else { throw LineError("no 'features' object") }
        guard let predictions = object["predictions"]?.object else { throw LineError("no 'predictions' object") }
        let rows = Int(count)
        for (group, members) in [("features", features), ("predictions", predictions)] {
            for (key, column) in members.entries {
                guard let values = column.array, values.count == rows else {
                    throw LineError("'\(group).\(key)' is not a list of \(rows) values")
                }
            }
        }
        return Entry(
            milliseconds: milliseconds, requestID: object["request_id"]?.string ?? "", identity: identity,
            version: object["version"]?.string, rows: rows, features: features, predictions: predictions)
    }

    /// The time in a log line's `2026-12-07T02:11:10.123Z` (UTC, milliseconds optional).
    static func time(_ text: String) -> Date? {
        parseTime(Array(text.utf8)).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// Milliseconds since 1970 of `YYYY-MM-DDTHH:MM:SS[.fff]Z` or `YYYYMMDDTHHMMSSZ`, UTC.
    static func parseTime(_ text: [UInt8]) -> Int64? {
        var digits: [Int64] = []
        var fraction: Int64 = 0
        var fractionDigits = 0
        var inFraction = false
        for byte in text {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if inFraction {
                    if fractionDigits < 3 {
                        fraction = fraction * 10 + Int64(byte - 48)
                        fractionDigits += 1
                    }
                } else {
                    digits.append(Int64(byte - 48))
                }
            case UInt8(ascii: "."): inFraction = true
            case UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "T"): inFraction = false
            case UInt8(ascii: "Z"): break
            default: return nil
            }
        }
        guard digits.count == 14, text.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64 { digits[range].reduce(0) { $0 * 10 + $1 } }
        let (year, month, day) = (number(0..<4), number(4..<6), number(6..<8))
        let (hour, minute, second) = (number(8..<10), number(10..<12), number(12..<14))
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        while fractionDigits < 3 {
            fraction *= 10
            fractionDigits += 1
        }
        // Days from the civil date (proleptic Gregorian), Howard Hinnant's method.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + fraction
    }

    /// One window's columns as they are read.
    struct Accumulator {
        let types: [(name: String, type: FeatureType)]
        var numbers: [String: [Double]] = [:]
        var texts: [String: [String?]] = [:]
        var predictionNumbers: [String: [Double]] = [:]
        var predictionTexts: [String: [String?]] = [:]
        var requestIDs: [String] = []
        var indexInRequest: [Int] = []
        var requests = 0
        var count = 0

        init(types: [(name: String, type: FeatureType)]) {
            self.types = types
            for (name, type) in types {
                if type == .bytes { texts[name] = [] } else { numbers[name] = [] }
            }
        }

        mutating func add(_ entry: Entry, mismatches: inout [String: Int]) throws(LineError) {
            let rows = entry.rows
            for (name, type) in types {
                let values = entry.features[name]?.array
                if type == .bytes {
                    texts[name]!.append(
                        contentsOf: (0..<rows).map { row -> String? in
                            switch values?[row] {
                            case .string(let text): return text
                            case .null, nil: return nil
                            case .number:
                                mismatches[name, default: 0] += 1
                                return values?[row].numberText
                            default:
                                mismatches[name, default: 0] += 1
                                return nil
                            }
                        })
                } else {
                    numbers[name]!.append(
                        contentsOf: (0..<rows).map { row -> Double in
                            switch values?[row] {
                            case .number(let number):
                                if type == .int, number != number.rounded() {
                                    mismatches[name, default: 0] += 1
                                    return .nan
                                }
                                return number
                            case .null, nil: return .nan
                            default:
                                mismatches[name, default: 0] += 1
                                return .nan
                            }
                        })
                }
            }
            for (name, column) in entry.predictions.entries {
                let values = column.array ?? []
                let isText = name == "predicted_class" || values.contains { $0.string != nil }
                // Appended in place: a copy of the column per line would make reading quadratic.
                if isText {
                    if predictionTexts[name] == nil { predictionTexts[name] = [String?](repeating: nil, count: count) }
                    predictionTexts[name]!.append(
                        contentsOf: values.map { value -> String? in
                            switch value {
                            case .string(let text): text
                            case .number(let number):
                                abs(number) < 1e15 ? String(Int64(number.rounded())) : String(number)
                            default: nil
                            }
                        })
                } else {
                    if predictionNumbers[name] == nil {
                        predictionNumbers[name] = [Double](repeating: .nan, count: count)
                    }
                    predictionNumbers[name]!.append(
                        contentsOf: values.map { value -> Double in
                            if case .number(let number) = value { return number }
                            return .nan
                        })
                }
            }
            count += rows
            // A column one request lacks is missing in its rows.
            for name in predictionTexts.keys where predictionTexts[name]!.count < count {
                predictionTexts[name]!.append(
                    contentsOf: [String?](repeating: nil, count: count - predictionTexts[name]!.count))
            }
            for name in predictionNumbers.keys where predictionNumbers[name]!.count < count {
                predictionNumbers[name]!.append(
                    contentsOf: [Double](repeating: .nan, count: count - predictionNumbers[name]!.count))
            }
            requestIDs.append(contentsOf: repeatElement(entry.requestID, count: rows))
            indexInRequest.append(contentsOf: 0..<rows)
            requests += 1
        }

        /// `other`'s rows after these (a later piece of the log).
        mutating func append(_ other: Accumulator) {
            for (name, type) in types {
                if type == .bytes {
                    texts[name]!.append(contentsOf: other.texts[name] ?? [])
                } else {
                    numbers[name]!.append(contentsOf: other.numbers[name] ?? [])
                }
            }
            for name in Set(predictionTexts.keys).union(other.predictionTexts.keys) {
                if predictionTexts[name] == nil { predictionTexts[name] = [String?](repeating: nil, count: count) }
                predictionTexts[name]!.append(
                    contentsOf: other.predictionTexts[name] ?? [String?](repeating: nil, count: other.count))
            }
            for name in Set(predictionNumbers.keys).union(other.predictionNumbers.keys) {
                if predictionNumbers[name] == nil { predictionNumbers[name] = [Double](repeating: .nan, count: count) }
                predictionNumbers[name]!.append(
                    contentsOf: other.predictionNumbers[name] ?? [Double](repeating: .nan, count: other.count))
            }
            requestIDs.append(contentsOf: other.requestIDs)
            indexInRequest.append(contentsOf: other.indexInRequest)
            requests += other.requests
            count += other.count
        }

        func rows() -> LoggedRows {
            let columns = types.map { name, type -> Column in
                switch type {
                case .bytes: return Column(name: name, texts: texts[name] ?? [])
                case .int:
                    return Column(
                        name: name, integers: (numbers[name] ?? []).map { $0.isNaN ? nil : Int64(exactly: $0) })
                case .float: return Column(name: name, numbers: numbers[name] ?? [])
                }
            }
            var predictionColumns: [Column] = []
            for name in Set(predictionNumbers.keys).union(predictionTexts.keys).sorted() {
                if let texts = predictionTexts[name] {
                    predictionColumns.append(Column(name: name, texts: texts))
                } else if let numbers = predictionNumbers[name] {
                    predictionColumns.append(Column(name: name, numbers: numbers))
                }
            }
            return LoggedRows(
                features: DataTable(file: "prediction logs", columns: columns, rowCount: count),
                predictions: DataTable(file: "prediction logs", columns: predictionColumns, rowCount: count),
                requestIDs: requestIDs, indexInRequest: indexInRequest, requests: requests)
        }
    }
}
