import Foundation
import MLOpsCore

/// The metadata store, modelled on ML Metadata: artifacts, executions, events (inputs and
/// outputs, with names) and contexts (the pipeline and each run). The runner records into it
/// and `mlops runs`, `lineage`, `explain` and the gate ask it questions; none of them knows
/// which backend it has. ``SQLiteMetadataStore`` is the embedded one.
///
/// A backend reports its failures as errors whose exit status fits them (docs/cli.md): the
/// store busy or locked by another writer 75 (retry), unreachable or cut off 74, refused by
/// its settings or credentials 78 (``MetadataStoreError``). A failed call leaves nothing
/// half-recorded: each call is one transaction.
public protocol MetadataStore: AnyObject, Sendable {
    /// Where the store is, for messages (a path, or a URL without credentials).
    var location: String { get }
    /// Whether other checkouts record into this store too (a server): an artifact it lists
    /// may then have its files in another checkout, which does not make it gone.
    var isShared: Bool { get }

    /// Releases the connection; later calls fail.
    func close() throws

    // MARK: Runs

    /// The pipeline's context (created once) and a new run context; returns the run's id.
    /// `params` and `tags` are recorded with it (``recordRunTracking(_:params:tags:files:)``).
    func beginRun(pipeline: String, properties: [String: String], params: [String: String], tags: [String: String])
        throws -> Int64
    /// Adds to a run's properties (its status, when it finished).
    func updateRun(_ run: Int64, _ properties: [String: String]) throws
    /// Every run, newest first (at most `limit`).
    func runs(limit: Int) throws -> [RunSummary]
    /// One run by id.
    func run(_ id: Int64) throws -> RunSummary?

    // MARK: Executions

    /// Records an execution about to run (RUNNING, with this process's host and pid, and its
    /// staging folder, so an abandoned one can be found and cleaned up).
    func startExecution(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        staging: String, reason: String, inputs: [(name: String, artifact: Int64)]
    ) throws -> Int64
    /// Marks an execution COMPLETE and records its outputs, in one transaction.
    /// `record` holds the parameters and metrics it reported; a CACHED execution that reuses it
    /// has them too.
    func completeExecution(_ id: Int64, outputs: [NewArtifact], record: ExecutionRecord) throws
        -> [String: StoredArtifact]
    /// Marks an execution FAILED with the error; it records no outputs and is never a cache hit.
    func failExecution(_ id: Int64, error: String) throws
    /// Records a CACHED execution that reuses `from`'s outputs.
    func recordCached(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        from: Int64, inputs: [(name: String, artifact: Int64)], outputs: [String: StoredArtifact]
    ) throws -> Int64
    /// The outputs of the latest COMPLETE executions with `cacheKey` whose outputs are all
    /// still LIVE, newest first (at most 20).
    func cacheHits(for cacheKey: String) throws -> [(execution: Int64, outputs: [String: StoredArtifact])]
    /// Marks an artifact DELETED (its files are gone), so it is never a cache hit again.
    func markDeleted(_ artifact: Int64) throws
    /// RUNNING executions left by a process that is gone, marked ABANDONED and returned with
    /// their staging folders. On another host a process cannot be checked: its execution is
    /// abandoned only once older than `foreignAge` seconds.
    func abandonStale(isAlive: (Int32) -> Bool, foreignAge: TimeInterval) throws
        -> [(execution: StoredExecution, staging: String?)]

    // MARK: Questions

    /// The latest COMPLETE or CACHED execution of `component`.
    func lastSuccessful(component: String) throws -> StoredExecution?
    /// The latest execution of `component` in any state.
    func lastExecution(component: String) throws -> StoredExecution?
    /// One execution by id, with its run.
    func execution(_ id: Int64) throws -> StoredExecution?
    /// The executions of a run, in the order they were recorded.
    func executions(run: Int64) throws -> [StoredExecution]
    /// Every execution, oldest first.
    func allExecutions() throws -> [StoredExecution]
    /// The input (`INPUT`) or output (`OUTPUT`) artifacts of an execution, by event name.
    func artifacts(of execution: Int64, _ type: String) throws -> [String: StoredArtifact]
    /// An artifact by id, or by a prefix of its fingerprint's digest (`sha256:` optional).
    func findArtifact(_ reference: String) throws -> StoredArtifact?
    /// The executions that made the artifact (its OUTPUT events), oldest first.
    func producers(of artifact: Int64) throws -> [StoredExecution]
    /// The executions that read the artifact (its INPUT events), oldest first.
    func consumers(of artifact: Int64) throws -> [StoredExecution]

    // MARK: Tracking (parameters, metrics, tags, files; the outbox of a tracking server)

    /// Adds parameters, tags and files to a run (a key's value is replaced).
    func recordRunTracking(_ run: Int64, params: [String: String], tags: [String: String], files: [RunFile]) throws
    /// Everything tracked for a run; nil when there is no such run.
    func tracking(run: Int64) throws -> RunTracking?
    /// ``tracking(run:)`` of the newest runs, newest first (at most `limit`).
    func trackings(limit: Int) throws -> [RunTracking]

    /// A random id made when the store was created: what tells this store's run 3 from
    /// another checkout's run 3 on a tracking server.
    func identity() throws -> String
    /// The newest run with tag `key` = `value`.
    func run(taggedWith key: String, value: String) throws -> Int64?
    /// A run made elsewhere (an MLflow run imported): its start, properties, parameters, tags
    /// and metric values recorded as they were. Returns its id.
    func importRun(
        pipeline: String, started: Date, properties: [String: String], params: [String: String],
        tags: [String: String], metrics: [TrackedMetric]
    ) throws -> Int64

    /// Queues a delivery to the tracking server; one already queued for `subject` is kept
    /// (its payload replaced while it is pending). Returns it.
    @discardableResult
    func enqueueDelivery(kind: TrackingDelivery.Kind, subject: String, payload: String) throws -> TrackingDelivery
    /// The deliveries in the outbox, oldest first: the pending ones, or all.
    func deliveries(pendingOnly: Bool, limit: Int) throws -> [TrackingDelivery]
    /// One delivery by its subject.
    func delivery(kind: TrackingDelivery.Kind, subject: String) throws -> TrackingDelivery?
    /// Notes an attempt: sent (with the server's name for it), or still pending with the error.
    /// `remoteID` is kept even when not sent yet (a run created but not finished).
    /// A delivery sent is never made pending again. With `holder`, the hold is let go of only
    /// when it is still that sender's (another may have taken over a hold that ran out).
    func noteDelivery(_ id: Int64, sent: Bool, remoteID: String?, error: String?, holder: String?) throws
    /// Takes delivery `id` for `holder` until `until` when it is still pending and nobody holds
    /// it, the hold ran out, or the holder is `stale` (a process known to be gone). Returns the
    /// delivery as it is after the attempt (nil when it is gone); `claimedBy == holder` when
    /// taken. ``noteDelivery(_:sent:remoteID:error:)`` lets go of it.
    /// Keeps the server's name for a delivery still being sent (an MLflow run created, not yet
    /// filled), without counting an attempt or letting go of it.
    func noteRemoteID(_ id: Int64, remoteID: String) throws
    func claimDelivery(_ id: Int64, holder: String, until: Date, stale: String?) throws -> TrackingDelivery?

    // MARK: Content hashes of modified files

    /// The remembered SHA-256 of `path` when its stamp is unchanged.
    func fileDigest(for path: String, stamp: FileStamp) throws -> String?
    func recordFileDigest(path: String, stamp: FileStamp, digest: String) throws
}

extension MetadataStore {
    public func runs() throws -> [RunSummary] { try runs(limit: 50) }

    public func beginRun(pipeline: String, properties: [String: String]) throws -> Int64 {
        try beginRun(pipeline: pipeline, properties: properties, params: [:], tags: [:])
    }

    public func noteDelivery(_ id: Int64, sent: Bool, remoteID: String?, error: String?) throws {
        try noteDelivery(id, sent: sent, remoteID: remoteID, error: error, holder: nil)
    }

    public func completeExecution(_ id: Int64, outputs: [NewArtifact]) throws -> [String: StoredArtifact] {
        try completeExecution(id, outputs: outputs, record: .empty)
    }

    /// The newest of ``cacheHits(for:)``.
    public func cacheHit(for cacheKey: String) throws -> (execution: Int64, outputs: [String: StoredArtifact])? {
        try cacheHits(for: cacheKey).first
    }

    public func abandonStale(isAlive: (Int32) -> Bool) throws -> [(execution: StoredExecution, staging: String?)] {
        try abandonStale(isAlive: isAlive, foreignAge: 24 * 3600)
    }
}

/// What identifies a file's content without reading it: size, inode, and modification and
/// status-change times in nanoseconds. Any write changes at least one of them.
public struct FileStamp: Sendable, Hashable {
    public let size: Int64
    public let inode: UInt64
    public let modifiedNanoseconds: Int64
    public let changedNanoseconds: Int64

    public init(size: Int64, inode: UInt64, modifiedNanoseconds: Int64, changedNanoseconds: Int64) {
        self.size = size
        self.inode = inode
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedNanoseconds = changedNanoseconds
    }

    /// The stamp of a regular file's `stat` data; nil for anything else.
    public init?(_ info: stat) {
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        size = Int64(info.st_size)
        inode = UInt64(info.st_ino)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changedNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}

/// The state of an execution, as in ML Metadata.
public enum ExecutionState: String, Sendable, Codable {
    case new = "NEW"
    case running = "RUNNING"
    case complete = "COMPLETE"
    case failed = "FAILED"
    case cached = "CACHED"
    case abandoned = "ABANDONED"
}

/// An artifact recorded in the store: what a component made, where, and its fingerprint.
public struct StoredArtifact: Sendable, Codable, Equatable {
    public let id: Int64
    /// The artifact type, e.g. `Examples`, `Statistics`, `Schema`, `Anomalies`.
    public let type: String
    /// Where it is, relative to the `.mlops` folder.
    public let uri: String
    public let fingerprint: String
    public let properties: [String: String]

    public init(id: Int64, type: String, uri: String, fingerprint: String, properties: [String: String]) {
        self.id = id
        self.type = type
        self.uri = uri
        self.fingerprint = fingerprint
        self.properties = properties
    }
}

/// An execution recorded in the store.
public struct StoredExecution: Sendable, Codable, Equatable {
    public let id: Int64
    public let run: Int64?
    public let component: String
    public let componentVersion: String
    public let state: ExecutionState
    public let cacheKey: String
    /// What went into the cache key (``KeyManifest``), to explain the next decision.
    public let manifest: KeyManifest?
    public let gitCommit: String?
    /// Why it ran ("no earlier execution", "input examples changed: … → …") or was cached.
    public let reason: String?
    public let error: String?
    public let startedAt: Date
    public let finishedAt: Date?
    /// For a CACHED execution: the execution whose outputs it reused.
    public let cachedFrom: Int64?

    public init(
        id: Int64, run: Int64?, component: String, componentVersion: String, state: ExecutionState, cacheKey: String,
        manifest: KeyManifest?, gitCommit: String?, reason: String?, error: String?, startedAt: Date,
        finishedAt: Date?, cachedFrom: Int64?
    ) {
        self.id = id
        self.run = run
        self.component = component
        self.componentVersion = componentVersion
        self.state = state
        self.cacheKey = cacheKey
        self.manifest = manifest
        self.gitCommit = gitCommit
        self.reason = reason
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.cachedFrom = cachedFrom
    }
}

/// An output to record: its name, type, location under `.mlops` and fingerprint.
public struct NewArtifact: Sendable {
    public let name: String
    public let type: String
    public let uri: String
    public let fingerprint: String
    public let properties: [String: String]

    public init(name: String, type: String, uri: String, fingerprint: String, properties: [String: String]) {
        self.name = name
        self.type = type
        self.uri = uri
        self.fingerprint = fingerprint
        self.properties = properties
    }
}

/// A run as `mlops runs` lists it.
public struct RunSummary: Sendable, Codable, Equatable {
    public let id: Int64
    public let name: String
    public let started: Date
    public let properties: [String: String]
    /// Executions of the run by state.
    public let states: [String: Int]

    public init(id: Int64, name: String, started: Date, properties: [String: String], states: [String: Int]) {
        self.id = id
        self.name = name
        self.started = started
        self.properties = properties
        self.states = states
    }
}

/// A store mlops must not use.
public struct MetadataStoreError: MLOpsError {
    public enum Kind: Sendable {
        case newerStore(migrations: [String])
        /// A server that cannot be reached, or that cut the connection (exit 74).
        case unreachable(String)
        /// Another writer holds the store, or the server throttles (exit 75: retry).
        case busy(String)
        /// Refused by its settings or credentials (exit 78).
        case refused(String)
        /// A server store nothing has been recorded in yet (exit 66, as a missing store file).
        case empty
        /// The server answered with an error mlops does not expect (exit 70).
        case failed(String)
        /// The setting naming the store (`path`) cannot be used (exit 78).
        case invalid(String)
    }

    public let kind: Kind
    public let path: String
    /// A suggestion fitting this failure better than the kind's own.
    public let specificHint: String?
    /// Busy because another job's transaction won (serialization failure, deadlock): the
    /// whole call may be tried again.
    var retryable = false

    public init(_ kind: Kind, path: String, hint: String? = nil) {
        self.kind = kind
        self.path = path
        self.specificHint = hint
    }

    public var message: String {
        switch kind {
        case .newerStore(let migrations):
            "store '\(path)' was made by a newer mlops (it has migrations this version does not know: \(migrations.joined(separator: ", ")))"
        case .unreachable(let detail): "store '\(path)' cannot be reached: \(detail)"
        case .busy(let detail): "store '\(path)' is busy: \(detail)"
        case .refused(let detail): "store '\(path)' refused the connection: \(detail)"
        case .empty: "store '\(path)' has no metadata yet"
        case .failed(let detail): "store '\(path)' failed: \(detail)"
        case .invalid(let detail): "\(path): \(detail)"
        }
    }

    public var hint: String? {
        if let specificHint { return specificHint }
        return switch kind {
        case .newerStore:
            "upgrade mlops; this version never migrates a store backwards (or move the store aside to start afresh)"
        case .unreachable: "check that the server runs and the network reaches it, then retry"
        case .busy: "retry; MLOPS_BUSY_TIMEOUT sets how many seconds to wait"
        case .refused: "check the store's address, user and password"
        case .empty: "run `mlops train` first"
        case .failed: "this is a bug in mlops or an unexpected server; please report it with the message"
        case .invalid: "fix MLOPS_STORE or `store` in mlops.yaml"
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .newerStore, .unreachable: .ioError
        case .busy: .temporaryFailure
        case .refused, .invalid: .configError
        case .empty: .noInput
        case .failed: .internalError
        }
    }
}
