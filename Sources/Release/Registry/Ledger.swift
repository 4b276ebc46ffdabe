import Foundation
import MLOpsCore

/// One event of a registry's ledger (`NAME/ledger.jsonl`, one JSON object per line): a
/// release, a promotion or a rollback, with who, when, why and the evidence relied on.
public struct LedgerEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case release, promote, rollback }

    /// What the event relied on: the gates' verdicts from the manifest, and the verification.
    public struct Evidence: Sendable, Codable, Equatable {
        public let commit: String?
        public let modelBlessed: Bool
        public let infraBlessed: Bool
        public let checksPassed: Int
        public let checksFailed: Int
        /// The id of the key whose signature verified; nil when none did.
        public let signedBy: String?
        /// Every file's hash and the provenance checked, and the signature as the policy requires.
        public let verified: Bool
        /// What was checked, each by name: `hashes`, `provenance` (`verified`), and `signature`
        /// (`verified with key …`, `absent (not required)`, `not checked (no trusted key; not
        /// required)`). Absent in events written before mlops recorded it.
        public let checked: [String: String]?

        enum CodingKeys: String, CodingKey {
            case commit, modelBlessed = "model_blessed", infraBlessed = "infra_blessed"
            case checksPassed = "checks_passed", checksFailed = "checks_failed", signedBy = "signed_by", verified
            case checked
        }

        public init(manifest: BundleManifest, signature: SignatureCheck) {
            commit = manifest.git.commit
            modelBlessed = manifest.gates.modelBlessed
            infraBlessed = manifest.gates.infraBlessed
            checksPassed = manifest.gates.checks.filter { $0.outcome == .passed }.count
            checksFailed = manifest.gates.checks.filter { $0.outcome == .failed }.count
            signedBy = signature.keyID
            verified = true
            checked = signature.checked
        }
    }

    public let event: Kind
    /// ISO 8601, UTC, with milliseconds.
    public let time: String
    public let actor: String
    public let name: String
    public let version: String
    /// `sha256:` of the bundle's manifest.json.
    public let identity: String
    /// The channel moved (promote, rollback).
    public let channel: String?
    /// The version the channel held before (promote, rollback).
    public let previous: String?
    public let reason: String?
    public let evidence: Evidence?

    public init(
        event: Kind, time: Date, actor: String, name: String, version: String, identity: String, channel: String?,
        previous: String?, reason: String?, evidence: Evidence?
    ) {
        self.event = event
        self.time = Self.format(time)
        self.actor = actor
        self.name = name
        self.version = version
        self.identity = identity
        self.channel = channel
        self.previous = previous
        self.reason = reason
        self.evidence = evidence
    }

    public var date: Date? { Self.parse(time) }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// ISO 8601 times as people write them: with or without fractional seconds, seconds, a
    /// zone (UTC when absent), or a date alone (its midnight UTC).
    public static func parse(_ text: String) -> Date? {
        // "2026-11-17T14:00" (no seconds) and "2026-11-17" (a date alone) first: the formatter
        // would read a date prefix and ignore the rest.
        if text.count == 16 { return parse(text + ":00") }
        var formats: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
            [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate],
        ]
        if text.count == 10 { formats = [[.withFullDate]] }
        for options in formats {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

/// The append-only ledger file: read past damaged lines with a warning, append whole lines.
public struct Ledger {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Every readable event in order, and a warning for each line that could not be read
    /// (a write cut short by a crash leaves one; it is skipped, never rewritten).
    public func read() throws(ReleaseError) -> (events: [LedgerEvent], warnings: [String]) {
        guard FileManager.default.fileExists(atPath: url.path) else { return ([], []) }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReleaseError.io(path: url.path, detail: "cannot be read")
        }
        var events: [LedgerEvent] = []
        var warnings: [String] = []
        let decoder = JSONDecoder()
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            if let event = try? decoder.decode(LedgerEvent.self, from: Data(line)) {
                events.append(event)
            } else {
                warnings.append(
                    "\(url.path):\(index + 1): an unreadable ledger line (\(line.count) bytes, perhaps a write cut short by a crash) was skipped"
                )
            }
        }
        return (events, warnings)
    }

    /// Appends one event as one line with one `write(2)`, then `fsync`. A last line left
    /// without its newline by a crash is ended first, so the new event stays whole.
    public func append(_ event: LedgerEvent) throws(ReleaseError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(event) else {
            throw ReleaseError.io(path: url.path, detail: "the event cannot be encoded")
        }
        line.append(UInt8(ascii: "\n"))
        let created = !FileManager.default.fileExists(atPath: url.path)
        let descriptor = open(url.path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ReleaseError.io(path: url.path, detail: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let size = lseek(descriptor, 0, SEEK_END)
        if size > 0 {
            var last: UInt8 = 0
            if pread(descriptor, &last, 1, size - 1) == 1, last != UInt8(ascii: "\n") {
                line.insert(UInt8(ascii: "\n"), at: 0)
            }
        }
        let written = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw ReleaseError.io(
                path: url.path, detail: "the event could not be written: \(String(cString: strerror(errno)))")
        }
        if created { DirectoryRegistry.syncFolder(url.deletingLastPathComponent()) }
    }
}
