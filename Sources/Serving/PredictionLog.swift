import Foundation
import Glibc
import MLOpsCore
import Pipeline
import S3Kit
import Tabular

/// Where and how the served predictions are logged (`serving.log` in mlops.yaml,
/// docs/monitoring.md).
public struct PredictionLogSettings: Sendable {
    /// The folder the files go to (made when missing).
    public var folder: URL
    /// The share of requests logged, 0…1: a request is logged whole or not at all.
    public var sampling: Double = 1
    /// Feature columns left out of the log (personal data, free text).
    public var exclude: Set<String> = []
    /// A file is closed and published once it holds this many bytes…
    public var maxFileBytes = 64 << 20
    /// …or has been open this long.
    public var maxFileSeconds: Double = 3600
    /// Requests waiting to be written; a request that finds the queue full is dropped and
    /// counted, never waited for.
    public var queueCapacity = 4096
    /// With `serving.log.path: s3://…`: where the published files go; `folder` is then the
    /// local spool they wait in (``PredictionLogShipper``).
    public var remote: (client: S3Client, location: S3Location)?

    public init(folder: URL) { self.folder = folder }

    /// Where the log's files end up: the S3 prefix, else the folder.
    public var destination: String { remote.map { $0.location.description } ?? folder.path }
}

/// The served model, as each logged row names it: the logs of another version or bundle are
/// told apart by `identity`.
public struct LoggedModel: Sendable {
    public let name: String
    public let version: String?
    /// `sha256:` of the release bundle's manifest, or of the model folder's files.
    public let identity: String

    public init(name: String, version: String?, identity: String) {
        self.name = name
        self.version = version
        self.identity = identity
    }

    /// The model served from `folder` as `name`: a released model (the folder `model` of an
    /// unpacked bundle) is named by its bundle's identity (`sha256:` of `manifest.json`, as its
    /// release is) and version; a plain folder by the fingerprint of its files.
    public static func of(folder: URL, name: String) throws -> LoggedModel {
        let bundle = folder.deletingLastPathComponent()
        let manifest = bundle.appendingPathComponent("manifest.json")
        if folder.lastPathComponent == "model", let data = FileManager.default.contents(atPath: manifest.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let digest = try PipelineRunner.fileDigests(folder: bundle).first(where: { $0.path == "manifest.json" })
        {
            return LoggedModel(
                name: name, version: object["version"] as? String, identity: "sha256:" + Hex.string(digest.sha256))
        }
        let files = try PipelineRunner.fileDigests(folder: folder).map { ($0.path, $0.sha256) }
        return LoggedModel(name: name, version: nil, identity: PipelineRunner.fingerprint(files: files))
    }
}

/// What the log did, for `/metrics`.
public protocol PredictionLogCounters: Sendable {
    func rowsLogged(_ rows: Int)
    func rowsDropped(_ rows: Int)
    func filePublished()
}

/// Logs each served request's raw feature rows with the predictions as JSON lines, one line a
/// request (its columns as arrays), written by a thread of its own behind a bounded queue so a
/// request never waits for the disk. A file is written under a hidden `.….partial` name and renamed to
/// `predictions-….jsonl` once complete (size or age reached, or the server stopping): a reader
/// of the folder sees whole files only. A partial file left by a server that was killed is
/// published by the next one that starts on the folder, cut after its last whole line.
public final class PredictionLog: @unchecked Sendable {
    struct Entry {
        let time: Date
        let requestID: String
        let table: DataTable
        let predictions: Predictions
    }

    public let settings: PredictionLogSettings
    public let model: LoggedModel
    let counters: (any PredictionLogCounters)?
    /// Called once a file is published (the shipper uploads it).
    let onPublish: (@Sendable () -> Void)?
    /// This process's files: `HOST-PID`, so servers sharing a folder never write the same one.
    let writer: String

    private let condition = NSCondition()
    private var queue: [Entry] = []
    private var closing = false
    private var discarding = false
    private var done = false
    private var droppedRows = 0

    // The writer thread's own state.
    private var descriptor: Int32 = -1
    private var partial = ""
    private var published = ""
    private var bytes = 0
    private var openedAt = Date()
    private var sequence = 0
    private var failure: String?

    /// Opens the folder, publishes what a killed server left half written, and starts the
    /// writer. A folder that cannot be made or written is an error naming it (exit 74).
    public init(
        settings: PredictionLogSettings, model: LoggedModel, counters: (any PredictionLogCounters)? = nil,
        onPublish: (@Sendable () -> Void)? = nil
    ) throws {
        self.settings = settings
        self.model = model
        self.counters = counters
        self.onPublish = onPublish
        let host = hostName().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        writer = "\(String(host))-\(getpid())"
        do {
            try FileManager.default.createDirectory(at: settings.folder, withIntermediateDirectories: true)
        } catch {
            throw FileError(
                .io, path: settings.folder.path,
                detail: "cannot make the prediction log folder: \(error.localizedDescription)",
                hint: "check serving.log.path and its permissions")
        }
        guard access(settings.folder.path, W_OK) == 0 else {
            throw FileError(
                .io, path: settings.folder.path, detail: "the prediction log folder is not writable",
                hint: "check serving.log.path and its permissions")
        }
        try Self.publishLeftovers(in: settings.folder, host: String(host))
        let thread = Thread { [self] in write() }
        thread.name = "mlops prediction log"
        thread.start()
    }

    /// Queues one request's rows and predictions. A request not sampled is left out. Serving
    /// never waits: a request that finds the queue full (or the log closing) is dropped and
    /// counted. A batch job (`mlops infer`) passes `waitForRoom` and waits for the writer instead.
    public func record(
        requestID: String, table: DataTable, predictions: Predictions, at time: Date = Date(), waitForRoom: Bool = false
    ) {
        if settings.sampling < 1, Double.random(in: 0..<1) >= settings.sampling { return }
        condition.lock()
        while waitForRoom, !closing, queue.count >= settings.queueCapacity {
            condition.broadcast()
            condition.wait()
        }
        guard !closing, queue.count < settings.queueCapacity else {
            droppedRows += table.rowCount
            condition.unlock()
            counters?.rowsDropped(table.rowCount)
            return
        }
        queue.append(Entry(time: time, requestID: requestID, table: table, predictions: predictions))
        // The writer wakes on its own every 20 ms and takes everything queued, one
        // write for all of it; a request only wakes it early when the queue is half full.
        if queue.count == settings.queueCapacity / 2 { condition.signal() }
        condition.unlock()
    }

    /// Rows dropped because the queue was full.
    public var dropped: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedRows
    }

    /// Writes what is queued, publishes the open file and stops the writer. Returns the first
    /// write failure, if any (the log then stopped writing and dropped the rest).
    @discardableResult
    public func close() -> String? {
        condition.lock()
        closing = true
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
        return failure
    }

    /// Stops the writer without publishing: what is queued and the open file are thrown away
    /// (a batch job that failed writes no output, so it logs nothing more either). Files
    /// already published stay.
    public func discard() {
        condition.lock()
        discarding = true
        closing = true
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }

    // MARK: - The writer thread

    /// How long the writer sleeps between batches: short, so each batch is small and the
    /// writer never holds a core for long.
    static let pause: TimeInterval = 0.02

    private func write() {
        // Below the server's threads: under overload the log falls behind and drops (counted)
        // rather than taking the CPU the requests need. On Linux a nice value is a thread's, and
        // `who` 0 is the calling thread.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        while true {
            condition.lock()
            if !closing { _ = condition.wait(until: Date().addingTimeInterval(Self.pause)) }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            // A batch job waiting for room goes on.
            if !batch.isEmpty { condition.broadcast() }
            let stop = closing && batch.isEmpty
            let discard = discarding
            condition.unlock()
            if discard {
                if descriptor >= 0 {
                    Glibc.close(descriptor)
                    unlink(partial)
                    descriptor = -1
                }
                break
            }
            if failure == nil {
                do {
                    if !batch.isEmpty { try append(batch) }
                    if descriptor >= 0,
                        stop || bytes >= settings.maxFileBytes
                            || Date().timeIntervalSince(openedAt) >= settings.maxFileSeconds
                    {
                        try publish()
                    }
                    // Counted once the batch is written and its file published or kept open:
                    // whoever reads the count sees the folder as the batch left it.
                    if !batch.isEmpty { counters?.rowsLogged(batch.reduce(0) { $0 + $1.table.rowCount }) }
                } catch {
                    failure = "\(error)"
                    counters?.rowsDropped(batch.reduce(0) { $0 + $1.table.rowCount })
                }
            } else {
                counters?.rowsDropped(batch.reduce(0) { $0 + $1.table.rowCount })
            }
            if stop { break }
        }
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }

    private func append(_ batch: [Entry]) throws {
        // In slices of about 64 KiB, the CPU given back between them: the event loops that
        // share the cores wait for the writer a fraction of a millisecond at most.
        var start = 0
        while start < batch.count {
            var data: [UInt8] = []
            data.reserveCapacity(1 << 16)
            var end = start
            while end < batch.count, data.count < 1 << 16 {
                lines(batch[end], into: &data)
                end += 1
            }
            try writeOut(data)
            start = end
            if start < batch.count { sched_yield() }
        }
    }

    private func writeOut(_ data: [UInt8]) throws {
        if descriptor < 0 { try open() }
        var written = 0
        while written < data.count {
            let count = data[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(.io, path: partial, detail: String(cString: strerror(errno)))
            }
            written += count
        }
        bytes += data.count
    }

    private func open() throws {
        let stamp = Self.fileStamp(Date())
        sequence += 1
        let name = "predictions-\(stamp)-\(writer)-\(sequence).jsonl"
        published = settings.folder.appendingPathComponent(name).path
        partial = settings.folder.appendingPathComponent(".\(name).partial").path
        descriptor = Glibc.open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError(.io, path: partial, detail: String(cString: strerror(errno)))
        }
        bytes = 0
        openedAt = Date()
    }

    /// Flushes the open file to the disk and gives it its public name.
    private func publish() throws {
        defer { descriptor = -1 }
        fsync(descriptor)
        Glibc.close(descriptor)
        guard rename(partial, published) == 0 else {
            throw FileError(.io, path: published, detail: String(cString: strerror(errno)))
        }
        counters?.filePublished()
        onPublish?()
    }

    /// One JSON line for `entry`, appended to `out` as UTF-8: the request's columns as arrays
    /// (as the Open Inference Protocol and TF Serving's `inputs` carry them), each feature's
    /// values and each prediction's, a row per index. Column names are written once per request,
    /// not once per row.
    func lines(_ entry: Entry, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"time":""#.utf8)
        clock.append(entry.time, to: &out)
        out.append(contentsOf: #"","request_id":"#.utf8)
        StringLiteral.appendJSON(entry.requestID, to: &out)
        out.append(contentsOf: modelFields)
        Self.append(Int64(entry.table.rowCount), to: &out)
        out.append(contentsOf: #","features":{"#.utf8)
        let rows = entry.table.rowCount
        let null = Self.null
        var first = true
        for column in entry.table.columns where !settings.exclude.contains(column.name) {
            if !first { out.append(0x2C) }
            out.append(contentsOf: prefix(column.name))
            first = false
            switch column.values {
            case .int(let values):
                for row in 0..<rows {
                    if row > 0 { out.append(0x2C) }
                    if column.present[row] { Self.append(values[row], to: &out) } else { out.append(contentsOf: null) }
                }
            case .float(let values):
                for row in 0..<rows {
                    if row > 0 { out.append(0x2C) }
                    if column.present[row], values[row].isFinite {
                        let value = values[row]
                        // Whole numbers (counts, hours, codes) and short decimals (fares,
                        // coordinates) without a String; the others in Swift's shortest form.
                        if value == value.rounded(), abs(value) < 1e15 {
                            Self.append(Int64(value), to: &out)
                            out.append(contentsOf: [0x2E, 0x30])
                        } else if !Self.appendDecimal(value, to: &out) {
                            out.append(contentsOf: value.description.utf8)
                        }
                    } else {
                        out.append(contentsOf: null)
                    }
                }
            case .bytes(let dictionary, let codes):
                for row in 0..<rows {
                    if row > 0 { out.append(0x2C) }
                    let code = Int(codes[row])
                    if column.present[row], code >= 0, code < dictionary.count {
                        StringLiteral.appendJSON(dictionary[code], to: &out)
                    } else {
                        out.append(contentsOf: null)
                    }
                }
            }
            out.append(0x5D)
        }
        out.append(contentsOf: #"},"predictions":{"#.utf8)
        for (index, column) in entry.predictions.columns.enumerated() {
            if index > 0 { out.append(0x2C) }
            out.append(contentsOf: prefix(column.name))
            for row in 0..<entry.predictions.rows {
                if row > 0 { out.append(0x2C) }
                if let texts = column.texts {
                    StringLiteral.appendJSON(texts[row], to: &out)
                } else if let value = column.numbers?[row], value.isFinite, Float(value).isFinite {
                    // As Predictions.Column.text writes them: a class as an integer, the rest as Float.
                    if column.name == "predicted_class" {
                        Self.append(Int64(value), to: &out)
                    } else {
                        out.append(contentsOf: Float(value).description.utf8)
                    }
                } else {
                    out.append(contentsOf: null)
                }
            }
            out.append(0x5D)
        }
        out.append(contentsOf: "}}\n".utf8)
    }

    static let null = Array("null".utf8)

    /// `"NAME":[` of each column name seen, made once (the writer's own state).
    private var prefixes: [String: [UInt8]] = [:]

    private func prefix(_ name: String) -> [UInt8] {
        if let known = prefixes[name] { return known }
        var bytes: [UInt8] = []
        StringLiteral.appendJSON(name, to: &bytes)
        bytes += [0x3A, 0x5B]
        prefixes[name] = bytes
        return bytes
    }

    /// `,"model":…,"version":…,"identity":…,"rows":` as UTF-8: the same on every line.
    private lazy var modelFields = Array(
        #","model":\#(StringLiteral.json(model.name)),"version":\#(model.version.map(StringLiteral.json) ?? "null"),"identity":\#(StringLiteral.json(model.identity)),"rows":"#
            .utf8)
    /// The writer's clock: the formatted second, made again only when the second changes.
    private var clock = LogClock()

    /// `value` with at most six decimals, straight into `out`, when those digits read back as
    /// exactly `value` (12.45, 41.899: most measured data); false, writing nothing, otherwise.
    /// The digits are the nearest six-decimal number's, trailing zeros dropped; `value` is the
    /// double nearest that number (the division below is correctly rounded), which is what a
    /// JSON reader makes of them.
    static func appendDecimal(_ value: Double, to out: inout [UInt8]) -> Bool {
        guard abs(value) < 1e9 else { return false }
        let scaled = (value * 1_000_000).rounded()
        guard scaled / 1_000_000 == value else { return false }
        var micros = Int64(scaled)
        if micros < 0 {
            out.append(0x2D)
            micros = -micros
        }
        append(micros / 1_000_000, to: &out)
        var fraction = micros % 1_000_000
        out.append(0x2E)
        var digits = 6
        while fraction % 10 == 0, digits > 1 {
            fraction /= 10
            digits -= 1
        }
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            out.append(0x30 + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
        return true
    }

    /// `value`'s decimal digits, straight into `out`.
    static func append(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(0x2D) }
        var magnitude = value.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// `2026-12-07T02:11:10.123Z`.
    static func timeStamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, Int(milliseconds % 1000))
    }

    /// `20261207T021110Z`: file names sort by their start.
    static func fileStamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
            parts.tm_min, parts.tm_sec)
    }

    /// Publishes the partial files of servers on this host that are gone: cut after their last
    /// whole line (a row half written when the server was killed is left out), renamed to their
    /// public name; an empty one is removed. Another live server's are left alone.
    static func publishLeftovers(in folder: URL, host: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name.hasPrefix(".predictions-") && name.hasSuffix(".jsonl.partial") {
            let publicName = String(name.dropFirst().dropLast(".partial".count))
            // predictions-STAMP-HOST-PID-SEQ.jsonl
            let parts = publicName.dropLast(".jsonl".count).split(separator: "-")
            guard parts.count >= 5, let pid = pid_t(parts[parts.count - 2]) else { continue }
            let writerHost = parts[2..<(parts.count - 2)].joined(separator: "-")
            // This process's own PID is a server that ran before it (a container restarted
            // with the same host name and PID 1): gone too.
            guard writerHost == host, pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) else { continue }
            let path = folder.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            guard let end = data.lastIndex(of: 0x0A) else {
                unlink(path)
                continue
            }
            truncate(path, off_t(end + 1))
            guard rename(path, folder.appendingPathComponent(publicName).path) == 0 else {
                throw FileError(.io, path: path, detail: String(cString: strerror(errno)))
            }
        }
    }
}

/// Formats times as `2026-12-07T02:11:10.123Z` for the log: the text up to the seconds is made
/// once a second, the milliseconds are three digits.
struct LogClock {
    private var second: Int64 = -1
    private var prefix: [UInt8] = []

    mutating func append(_ date: Date, to out: inout [UInt8]) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let now = milliseconds / 1000
        if now != second {
            second = now
            let text = PredictionLog.timeStamp(Date(timeIntervalSince1970: Double(now)))
            prefix = Array(text.utf8.prefix(20))
        }
        out.append(contentsOf: prefix)
        let rest = Int(milliseconds % 1000)
        out.append(contentsOf: [0x30 + UInt8(rest / 100), 0x30 + UInt8(rest / 10 % 10), 0x30 + UInt8(rest % 10), 0x5A])
    }
}
