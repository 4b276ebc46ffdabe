import Foundation
import Glibc
import MLOpsCore
import S3Kit

/// Ships the prediction log's published files from a local spool folder to an S3 prefix
/// (`serving.log.path: s3://BUCKET/PREFIX`, docs/monitoring.md): each whole file is uploaded
/// under its own name, then deleted from the spool. A thread of its own does it, so neither a
/// request nor the log's writer waits for S3. A file that cannot be uploaded stays in the spool
/// and is tried again (every 5 s, and by the next start): nothing is lost while S3 is away.
public final class PredictionLogShipper: @unchecked Sendable {
    public let spool: URL
    public let client: S3Client
    public let location: S3Location
    /// Told once when uploads start failing, and once when they work again.
    let warn: @Sendable (String) -> Void

    private let condition = NSCondition()
    private var stopping = false
    private var done = false
    private var failure: String?
    private var shipped = 0

    public init(spool: URL, client: S3Client, location: S3Location, warn: @escaping @Sendable (String) -> Void) {
        self.spool = spool
        self.client = client
        self.location = location
        self.warn = warn
        let thread = Thread { [self] in run() }
        thread.name = "mlops prediction log shipper"
        thread.start()
    }

    /// Files uploaded so far.
    public var uploaded: Int {
        condition.lock()
        defer { condition.unlock() }
        return shipped
    }

    /// Wakes the shipper (a file was just published).
    public func nudge() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// Uploads what is left and stops. Returns why files stay in the spool, if any do.
    @discardableResult
    public func finish() -> String? {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !done { condition.wait() }
        defer { condition.unlock() }
        return failure
    }

    private func run() {
        while true {
            // A pass that starts after `finish()` is the last one: it sees every file the log
            // published before its close.
            condition.lock()
            let last = stopping
            condition.unlock()
            let problem = shipOnce()
            condition.lock()
            if problem != failure {
                if let problem {
                    warn("the prediction log cannot reach \(location): \(problem); its files wait in \(spool.path)")
                } else if failure != nil {
                    warn("the prediction log reaches \(location) again")
                }
                failure = problem
            }
            if last {
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if !stopping { _ = condition.wait(until: Date().addingTimeInterval(problem == nil ? 1 : 5)) }
            condition.unlock()
        }
    }

    /// Uploads every published file in the spool, oldest first, each deleted once stored;
    /// returns the first failure (the rest wait for the next pass).
    func shipOnce() -> String? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? [])
            .filter { $0.hasPrefix("predictions-") && $0.hasSuffix(".jsonl") }.sorted()
        for name in names {
            let file = spool.appendingPathComponent(name)
            do {
                // A name is this process's alone; one already there is a retry that landed.
                _ = try client.upload(file: file, bucket: location.bucket, key: location.key(name), ifAbsent: true)
            } catch {
                return error.message
            }
            unlink(file.path)
            condition.lock()
            shipped += 1
            condition.unlock()
        }
        return nil
    }
}

/// The prediction log with, for an S3 destination, the shipper of its files: what `mlops serve`
/// and `mlops infer` open, and close (or throw away) when they end.
public final class PredictionLogOutput: Sendable {
    public let log: PredictionLog
    let shipper: PredictionLogShipper?

    /// Opens the log (publishing what a killed process left) and, for S3, starts its shipper;
    /// `warn` hears the shipper's news while it runs.
    public init(
        settings: PredictionLogSettings, model: LoggedModel, counters: (any PredictionLogCounters)? = nil,
        warn: @escaping @Sendable (String) -> Void
    ) throws {
        let shipper = settings.remote.map { remote in
            PredictionLogShipper(spool: settings.folder, client: remote.client, location: remote.location, warn: warn)
        }
        var nudge: (@Sendable () -> Void)?
        if let shipper { nudge = { shipper.nudge() } }
        do {
            log = try PredictionLog(settings: settings, model: model, counters: counters, onPublish: nudge)
        } catch {
            shipper?.finish()
            throw error
        }
        self.shipper = shipper
    }

    /// Writes what is queued, publishes the open file and ships what waits; returns what went
    /// wrong, as warnings.
    public func close() -> [String] {
        var problems: [String] = []
        if let problem = log.close() { problems.append("the prediction log stopped writing: \(problem)") }
        if let shipper, let problem = shipper.finish() {
            problems.append("prediction log files wait in \(shipper.spool.path) for the next start: \(problem)")
        }
        return problems
    }

    /// Throws away what is queued and the open file (a batch job that failed), and stops.
    public func discard() {
        log.discard()
        shipper?.finish()
    }
}
