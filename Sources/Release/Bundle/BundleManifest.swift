import Foundation
import Gates

/// `manifest.json`, the bundle's table of contents and evidence (schema `mlops.manifest/v1`,
/// docs/release.md). Its SHA-256 is the bundle's identity. Everything in it comes from the
/// commit, the configuration and content-addressed artifacts, so building the same model
/// again gives the same bytes.
public struct BundleManifest: Sendable, Codable, Equatable {
    public static let schemaName = "mlops.manifest/v1"
    public static let fileName = "manifest.json"

    public struct File: Sendable, Codable, Equatable {
        public let path: String
        public let sha256: String
        public let size: Int64

        public init(path: String, sha256: String, size: Int64) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    public struct Git: Sendable, Codable, Equatable {
        public let commit: String?
        public let branch: String?
        /// `origin`'s URL, credentials removed.
        public let remote: String?
        public let dirty: Bool

        public init(commit: String?, branch: String?, remote: String?, dirty: Bool) {
            self.commit = commit
            self.branch = branch
            self.remote = remote
            self.dirty = dirty
        }
    }

    public struct DataSource: Sendable, Codable, Equatable {
        public let path: String
        /// `git:<blob id>`, `lfs:<oid>` or `sha256:<digest>`.
        public let fingerprint: String
        public let span: Int?

        public init(path: String, fingerprint: String, span: Int?) {
            self.path = path
            self.fingerprint = fingerprint
            self.span = span
        }
    }

    public struct DataSection: Sendable, Codable, Equatable {
        public let spans: [Int]
        public let sources: [DataSource]
        /// The examples artifact's fingerprint.
        public let examples: String?

        public init(spans: [Int], sources: [DataSource], examples: String?) {
            self.spans = spans
            self.sources = sources
            self.examples = examples
        }
    }

    /// One execution that made an artifact in the bundle's lineage.
    public struct Execution: Sendable, Codable, Equatable {
        public let component: String
        /// The execution that produced the outputs (the original, not a cached copy).
        public let execution: Int64
        public let cacheKey: String
        /// Output name → the artifact's fingerprint.
        public let outputs: [String: String]

        enum CodingKeys: String, CodingKey { case component, execution, cacheKey = "cache_key", outputs }

        public init(component: String, execution: Int64, cacheKey: String, outputs: [String: String]) {
            self.component = component
            self.execution = execution
            self.cacheKey = cacheKey
            self.outputs = outputs
        }
    }

    /// The verdicts of both gates with every check, and the overall metrics.
    public struct GateVerdicts: Sendable, Codable, Equatable {
        public let modelBlessed: Bool
        public let infraBlessed: Bool
        /// Overall metrics of the candidate, and of the baseline when there was one.
        public let metrics: [String: Double]
        public let baselineMetrics: [String: Double]?
        public let baseline: String?
        public let checks: [CheckResult]

        enum CodingKeys: String, CodingKey {
            case modelBlessed = "model_blessed", infraBlessed = "infra_blessed", metrics
            case baselineMetrics = "baseline_metrics", baseline, checks
        }

        public init(
            modelBlessed: Bool, infraBlessed: Bool, metrics: [String: Double], baselineMetrics: [String: Double]?,
            baseline: String?, checks: [CheckResult]
        ) {
            self.modelBlessed = modelBlessed
            self.infraBlessed = infraBlessed
            self.metrics = metrics
            self.baselineMetrics = baselineMetrics
            self.baseline = baseline
            self.checks = checks
        }

        public var passed: Bool { modelBlessed && infraBlessed && !checks.contains { $0.outcome == .failed } }
    }

    public let schema: String
    public let name: String
    public let version: String
    /// The commit's time (ISO 8601, UTC), not the wall clock, so a rebuild gives the same bytes.
    public let created: String
    public let tool: String
    public let files: [File]
    public let git: Git
    public let data: DataSection
    /// SHA-256 of `mlops.yaml` as committed or in the work tree.
    public let configSHA256: String
    public let executions: [Execution]
    public let gates: GateVerdicts

    enum CodingKeys: String, CodingKey {
        case schema, name, version, created, tool, files, git, data, configSHA256 = "config_sha256", executions, gates
    }

    public init(
        name: String, version: String, created: String, tool: String, files: [File], git: Git, data: DataSection,
        configSHA256: String, executions: [Execution], gates: GateVerdicts
    ) {
        schema = Self.schemaName
        self.name = name
        self.version = version
        self.created = created
        self.tool = tool
        self.files = files
        self.git = git
        self.data = data
        self.configSHA256 = configSHA256
        self.executions = executions
        self.gates = gates
    }

    /// The manifest as written into the bundle: key-sorted, indented JSON.
    public func encoded() throws -> Data {
        try BundleJSON.encode(self)
    }
}

/// How bundle files are written: key-sorted, indented, slashes unescaped, NaN as a string.
enum BundleJSON {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var data = try encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(type, from: data)
    }
}
