import Foundation
import MLOpsCore
import Metadata

/// Where an input comes from: an output of an upstream component.
public struct InputBinding: Sendable, Hashable {
    public let component: Component
    public let output: String

    public init(_ component: Component, _ output: String) {
        self.component = component
        self.output = output
    }
}

/// An input artifact as an executor sees it: the stored record and where its files are.
public struct ResolvedArtifact: Sendable {
    public let artifact: StoredArtifact
    public let url: URL
}

/// What an executor is given: resolved inputs and a staging folder. It writes each output
/// into `output(name)` (a folder) and nothing anywhere else.
public struct ExecutionContext: Sendable {
    /// The repository root (data paths are relative to it).
    public let root: URL
    public let inputs: [String: ResolvedArtifact]
    /// The execution's staging folder; published only when the executor returns.
    public let staging: URL
    /// A progress reporter for work of the given total size (bytes or rows), drawn as a
    /// bar on a terminal: call the returned function with each amount done.
    public let progress: @Sendable (Int) -> (@Sendable (Int) -> Void)
    /// A line of output from the work (an external program's), for the log.
    public let log: @Sendable (String) -> Void
    /// Whether the run was asked to stop: long work (training rounds, tuning trials) checks
    /// it and throws `CancellationError`.
    public var isCancelled: @Sendable () -> Bool = { false }
    /// The execution's cache key.
    public var cacheKey = ""
    /// Tuner trials other tasks computed for this cache key (``TrialResults``), if any.
    public var trials: (any TrialResults)?

    /// Throws `CancellationError` when the run was asked to stop.
    public func checkCancellation() throws(CancellationError) {
        if isCancelled() { throw CancellationError() }
    }

    public func output(_ name: String) -> URL { staging.appendingPathComponent(name, isDirectory: true) }

    public func input(_ name: String) throws -> ResolvedArtifact {
        guard let artifact = inputs[name] else {
            throw InternalError("input '\(name)' was not resolved; the DAG should have bound it")
        }
        return artifact
    }
}

/// What an executor reports back.
public struct ExecutorOutput: Sendable {
    /// Properties per output name, recorded with the artifact (rows, counts, a verdict).
    public var properties: [String: [String: String]]
    /// One short phrase for the stage line, e.g. `15002 rows: train 10019, eval 4983`.
    public var summary: String
    /// Parameters it decided and metrics it measured, for tracking (`mlops runs`, MLflow).
    public var record: ExecutionRecord

    public init(properties: [String: [String: String]] = [:], summary: String, record: ExecutionRecord = .empty) {
        self.properties = properties
        self.summary = summary
        self.record = record
    }
}

/// A pipeline component: a typed spec (inputs, outputs, parameters) and an executor, which
/// is a function of resolved input artifacts to output folders with no global state.
///
/// The runner treats every component alike. An output property `verdict` of `fail` (a data
/// validation that found a blocking anomaly, say) stops the components downstream and makes
/// the run's verdict a failure; its `findings` property (one finding per line) says why.
public protocol PipelineComponent: Sendable {
    /// Encoded into the cache key, each top-level field as compact JSON (``KeyManifest``).
    associatedtype Parameters: Encodable & Sendable

    var id: Component { get }
    /// Bumped when the executor's output for the same inputs changes, so old cache entries
    /// stop matching.
    var version: String { get }
    var parameters: Parameters { get }
    /// Input name → the upstream output that feeds it.
    var inputs: [String: InputBinding] { get }
    /// Output name → artifact type.
    var outputs: [String: String] { get }
    /// Components that must finish first although no artifact flows from them (Transform
    /// waits for ExampleValidator's verdict); ignored when not part of the run.
    var runsAfter: [Component] { get }
    /// The repository paths (relative to `root`) read directly, such as data files or a
    /// curated schema: their fingerprints are part of the cache key.
    func readPaths(root: URL) throws -> [String]
    func execute(_ context: ExecutionContext) throws -> ExecutorOutput
}

extension PipelineComponent {
    public var runsAfter: [Component] { id.runsAfter }

    /// Everything this component waits for: its inputs' producers and `runsAfter`.
    func dependencies(among present: Set<Component>) -> Set<Component> {
        Set(inputs.values.map(\.component)).union(runsAfter.filter(present.contains))
    }

    func flattenedParameters() throws -> [String: String] { try KeyManifest.flatten(parameters) }
}
