import Foundation
import MLOpsCore

/// One value of a metric: its key, the step it belongs to (a training round, a Tuner trial;
/// 0 for a single figure), the value and when it was made (seconds since 1970). NaN is kept
/// (the store holds it as NULL); ±infinity is kept as it is.
public struct TrackedMetric: Sendable, Codable, Equatable {
    public let key: String
    public let step: Int64
    public let value: Double
    public let timestamp: Double

    public init(key: String, step: Int64 = 0, value: Double, timestamp: Double = Date().timeIntervalSince1970) {
        self.key = TrackingKey.clean(key)
        self.step = step
        self.value = value
        self.timestamp = timestamp
    }

    public static func == (a: TrackedMetric, b: TrackedMetric) -> Bool {
        a.key == b.key && a.step == b.step && a.timestamp == b.timestamp
            && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
    }

    enum CodingKeys: String, CodingKey { case key, step, value, timestamp }

    // JSON has no NaN or infinity: they are written as MLflow writes them ("NaN", "Infinity").
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(String.self, forKey: .key)
        step = try container.decode(Int64.self, forKey: .step)
        timestamp = try container.decode(Double.self, forKey: .timestamp)
        if let number = try? container.decode(Double.self, forKey: .value) {
            value = number
        } else {
            let text = try container.decode(String.self, forKey: .value)
            guard let number = TrackedMetric.special(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .value, in: container, debugDescription: "'\(text)' is not a number")
            }
            value = number
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encode(step, forKey: .step)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(MetricNumber(value), forKey: .value)
    }

    /// `NaN`, `Infinity`, `-Infinity` for the values JSON has no number for.
    public static func text(_ value: Double) -> String {
        value.isNaN ? "NaN" : value > 0 ? "Infinity" : "-Infinity"
    }

    /// A number written as text, MLflow's `NaN` and `Infinity` strings included.
    public static func special(_ text: String) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(text)
        }
    }
}

/// A metric value in JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` as MLflow writes
/// them (JSON has no number for those).
public struct MetricNumber: Encodable, Sendable {
    public let value: Double
    public init(_ value: Double) { self.value = value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isFinite { try container.encode(value) } else { try container.encode(TrackedMetric.text(value)) }
    }
}

/// What an execution reports for tracking, beside its artifacts: parameters it decided (the
/// Tuner's best hyperparameters) and its metrics. A cached execution has its source's.
public struct ExecutionRecord: Sendable, Codable, Equatable {
    public var params: [String: String]
    public var metrics: [TrackedMetric]

    public init(params: [String: String] = [:], metrics: [TrackedMetric] = []) {
        self.params = Dictionary(
            params.map { (TrackingKey.clean($0.key), TrackingKey.clip($0.value, TrackingKey.paramValueLimit)) },
            uniquingKeysWith: { first, _ in first })
        self.metrics = metrics
    }

    public static let empty = ExecutionRecord()
    public var isEmpty: Bool { params.isEmpty && metrics.isEmpty }
}

/// A file a run made outside the store's artifacts (a report), kept with the run so that
/// `mlops runs show` lists it and the MLflow mirror uploads it: its path in the run's
/// artifacts (`reports/gate.md`) and where it is, relative to the repository root.
public struct RunFile: Sendable, Codable, Equatable {
    public let path: String
    public let location: String

    public init(path: String, location: String) {
        self.path = path
        self.location = location
    }
}

/// Everything recorded for one run: parameters (the run's settings and what its executions
/// decided), tags, every metric value by step (a cached execution's are its source's) and
/// its files.
public struct RunTracking: Sendable, Codable, Equatable {
    public let run: RunSummary
    public let params: [String: String]
    public let tags: [String: String]
    /// Every value, by key then step.
    public let metrics: [TrackedMetric]
    public let files: [RunFile]
    /// The executions of the run, with their component (for the artifacts a mirror uploads).
    public let executions: [StoredExecution]

    public init(
        run: RunSummary, params: [String: String], tags: [String: String], metrics: [TrackedMetric],
        files: [RunFile], executions: [StoredExecution]
    ) {
        self.run = run
        self.params = params
        self.tags = tags
        self.metrics = metrics
        self.files = files
        self.executions = executions
    }

    /// Each metric's last value: the one with the highest step (latest made on a tie), as
    /// MLflow shows a run's metric.
    public var latestMetrics: [String: Double] {
        var latest: [String: TrackedMetric] = [:]
        for metric in metrics {
            if let current = latest[metric.key],
                (current.step, current.timestamp) > (metric.step, metric.timestamp)
            {
                continue
            }
            latest[metric.key] = metric
        }
        return latest.mapValues(\.value)
    }

    /// The values of one metric, by step.
    public func history(_ key: String) -> [TrackedMetric] {
        metrics.filter { $0.key == key }.sorted { ($0.step, $0.timestamp) < ($1.step, $1.timestamp) }
    }

    enum CodingKeys: String, CodingKey { case run, params, tags, metrics, files }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(run, forKey: .run)
        try container.encode(params, forKey: .params)
        try container.encode(tags, forKey: .tags)
        try container.encode(metrics, forKey: .metrics)
        try container.encode(files, forKey: .files)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        run = try container.decode(RunSummary.self, forKey: .run)
        params = try container.decode([String: String].self, forKey: .params)
        tags = try container.decode([String: String].self, forKey: .tags)
        metrics = try container.decode([TrackedMetric].self, forKey: .metrics)
        files = try container.decode([RunFile].self, forKey: .files)
        executions = []
    }
}

/// The names of parameters, metrics and tags, and the limits on their values, the same in the
/// store and in the MLflow mirror: what MLflow's server accepts (docs/tracking.md).
public enum TrackingKey {
    /// MLflow refuses longer keys.
    public static let keyLimit = 250
    /// MLflow keeps the first 6000 characters of a parameter's value.
    public static let paramValueLimit = 6000
    /// MLflow keeps the first 8000 characters of a tag's value.
    public static let tagValueLimit = 8000

    /// A key MLflow accepts: letters, digits, `_`, `-`, `.`, space, `:` and `/`. `=` (in a slice,
    /// `payment_type=Cash`) becomes `:`, brackets are dropped and a comma becomes `-` (a
    /// bucket `[12, 18)` reads `12-18`); any other character becomes `_`. Empty path parts, `..` and a
    /// leading or trailing `/` are removed; a key over 250 characters is cut, its end replaced
    /// by a short hash of the whole so two long keys stay apart.
    public static func clean(_ key: String) -> String {
        // A bucket's slice, `trip_start_hour=[12, 18)`, reads `trip_start_hour:12-18`.
        var plain = ""
        var afterComma = false
        for character in key where !"[]()".contains(character) {
            if character == "," {
                while plain.last?.isWhitespace == true { plain.removeLast() }
                plain.append("-")
                afterComma = true
            } else if !(afterComma && character.isWhitespace) {
                plain.append(character)
                afterComma = false
            }
        }
        var text = String(
            plain.map { character -> Character in
                if character == "=" { return ":" }
                if character.isLetter || character.isNumber || "_-. :/".contains(character) { return character }
                return "_"
            })
        let parts = text.split(separator: "/", omittingEmptySubsequences: true).map { part in
            part == ".." || part == "." ? "_" : String(part)
        }
        text = parts.joined(separator: "/")
        if text.isEmpty { text = "_" }
        guard text.count > keyLimit else { return text }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(text.prefix(keyLimit - 9)) + "~" + String(String(hash, radix: 16).prefix(8))
    }

    /// `value` cut to `limit` characters, as MLflow's server would cut it.
    public static func clip(_ value: String, _ limit: Int) -> String {
        value.count > limit ? String(value.prefix(limit)) : value
    }

    /// An encodable value flattened with dots (`{trainer: {rounds: 50}}` → `trainer.rounds`):
    /// arrays of scalars are joined with commas, other arrays numbered; nulls are left out.
    public static func flatten(_ value: some Encodable, prefix: String) throws -> [String: String] {
        let data = try JSONEncoder().encode(value)
        var result: [String: String] = [:]
        try JSONDecoder().decode(Tree.self, from: data).flatten(prefix: prefix, into: &result)
        return result
    }

    /// A JSON value, as far as flattening needs it.
    enum Tree: Decodable {
        case null
        case scalar(String)
        case array([Tree])
        case object([String: Tree])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            // Strings first: most settings are, and JSONDecoder never reads a number or a flag
            // as a string (nor a string as either), so the order changes nothing else; each
            // type that does not match costs a thrown error.
            if container.decodeNil() {
                self = .null
            } else if let text = try? container.decode(String.self) {
                self = .scalar(text)
            } else if let flag = try? container.decode(Bool.self) {
                self = .scalar(flag ? "true" : "false")
            } else if let whole = try? container.decode(Int64.self) {
                self = .scalar(String(whole))
            } else if let number = try? container.decode(Double.self) {
                self = .scalar("\(number)")
            } else if let array = try? container.decode([Tree].self) {
                self = .array(array)
            } else {
                self = .object(try container.decode([String: Tree].self))
            }
        }

        func flatten(prefix: String, into result: inout [String: String]) {
            func join(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }
            switch self {
            case .null: break
            case .scalar(let text): result[prefix] = text
            case .object(let object):
                for (key, inner) in object { inner.flatten(prefix: join(key), into: &result) }
            case .array(let array):
                let scalars = array.compactMap { element -> String? in
                    if case .scalar(let text) = element { return text }
                    return nil
                }
                if scalars.count == array.count {
                    result[prefix] = scalars.joined(separator: ",")
                } else {
                    for (index, inner) in array.enumerated() {
                        inner.flatten(prefix: join(String(index)), into: &result)
                    }
                }
            }
        }
    }
}

/// A delivery to a tracking server waiting in the store's outbox, or sent: a run, or a
/// registry change (a release registered, a channel moved). Kept until sent, so that a server
/// that is down loses nothing; `subject` makes each delivery once.
public struct TrackingDelivery: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Codable { case run, registry }
    public enum State: String, Sendable, Codable { case pending, sent }

    public let id: Int64
    public let kind: Kind
    /// What it delivers, unique per kind: the run's id, or `release:NAME@VERSION`, `alias:…`.
    public let subject: String
    /// What the delivery needs besides the store (JSON): a registry change's details.
    public let payload: String
    public let state: State
    /// What the server calls it once sent (an MLflow run id, a model version).
    public let remoteID: String?
    public let attempts: Int
    public let lastError: String?
    public let createdAt: Date
    /// Who is sending it now (`HOST:PID`), and until when that hold lasts; nil when nobody is.
    public let claimedBy: String?
    public let claimedUntil: Date?

    enum CodingKeys: String, CodingKey {
        case id, kind, subject, payload, state, remoteID = "remote_id", attempts, lastError = "last_error"
        case createdAt = "created_at", claimedBy = "claimed_by"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(subject, forKey: .subject)
        try container.encode(payload, forKey: .payload)
        try container.encode(state, forKey: .state)
        try container.encode(remoteID, forKey: .remoteID)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(ISO8601DateFormatter().string(from: createdAt), forKey: .createdAt)
        try container.encode(claimedBy, forKey: .claimedBy)
    }

    public init(
        id: Int64, kind: Kind, subject: String, payload: String, state: State, remoteID: String?, attempts: Int,
        lastError: String?, createdAt: Date, claimedBy: String? = nil, claimedUntil: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.subject = subject
        self.payload = payload
        self.state = state
        self.remoteID = remoteID
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
        self.claimedBy = claimedBy
        self.claimedUntil = claimedUntil
    }
}
