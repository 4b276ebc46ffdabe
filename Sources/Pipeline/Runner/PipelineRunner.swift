import Crypto
import Foundation
import MLOpsCore
import Metadata
import Tabular

/// How one component fared in a run.
public struct StageReport: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable { case ran, cached, failed, skipped }

    public let component: Component
    public let outcome: Outcome
    public let seconds: Double
    /// Why it ran (the first differences from its last execution), was cached, or was skipped.
    public let reason: String
    public let summary: String
    public let execution: Int64?
    /// Output name → fingerprint.
    public let outputs: [String: String]
    /// The output property `verdict` when an output has one (`pass` or `fail`).
    public let verdict: String?
    /// The output property `findings`, one per line, when an output has them.
    public let findings: [String]
    /// The cache key it was decided by (not in the JSON output: `mlops explain` shows it).
    public var cacheKey: String?
    /// Each output's recorded properties (`mlops component run` hands them to the orchestrator).
    public var properties: [String: [String: String]] = [:]

    enum CodingKeys: String, CodingKey {
        case component, outcome, seconds, reason, summary, execution, outputs, verdict, findings
    }
}

/// A whole run: its id in the store, each stage, and whether a verdict failed.
public struct RunReport: Sendable, Codable, Equatable {
    public let run: Int64
    public let stages: [StageReport]
    public let seconds: Double
    /// The component whose verdict failed and stopped the run, if one did.
    public let stoppedBy: Component?

    public var verdictFailed: Bool { stoppedBy != nil }

    /// The stage of `component`, when the run had one.
    public func stage(_ component: Component) -> StageReport? { stages.first { $0.component == component } }

    enum CodingKeys: String, CodingKey { case run, stages, seconds, stoppedBy = "stopped_by" }
}

/// Runs components in DAG order against the metadata store: each execution's cache key is
/// computed from its component, version, parameters, input fingerprints and the fingerprints of
/// the paths it reads; a hit reuses outputs (a CACHED execution), a miss runs the executor in a
/// staging folder whose outputs are published, content-addressed, only when it succeeds.
/// Components whose inputs are ready run at the same time, up to the core count.
public final class PipelineRunner: @unchecked Sendable {
    public struct Options: Sendable {
        /// Run everything, ignoring cache hits.
        public var noCache = false
        /// Run these even when their key matches.
        public var force: Set<Component> = []
        /// Look keys up in the remote cache and push what ran (`--no-remote-cache` clears it).
        public var remoteCache = true
        public var parallelism = ProcessInfo.processInfo.activeProcessorCount
        /// One component alone (`mlops component run`, an orchestrator's task): the run holds
        /// it and what it depends on, and only it may run. Each upstream component must be
        /// cached here or pulled from the remote cache (else ``MissingUpstreamError``, exit 66);
        /// a remote hit of the target itself is reported, not pulled.
        public var target: Component?
        /// With `target`: only what the target depends on runs (cached or pulled); the target's
        /// stage reports its cache decision (skipped when it would run) and carries its cache key.
        /// For a Tuner trial run alone (``runTrial(_:after:)``).
        public var upstreamOnly = false

        public init() {}
    }

    let root: URL
    let folder: URL
    let store: MetadataStore
    public let components: [any PipelineComponent]
    let commit: String?
    let fingerprint: @Sendable (String) throws -> String?
    let makeProgress: @Sendable (Component, Int) -> (@Sendable (Int) -> Void)
    let log: @Sendable (Component, String) -> Void
    /// The cache shared with other jobs (`cache.remote`), when one is configured.
    public let remote: (any RemoteCache)?
    /// Where Tuner trials computed by tasks of their own are kept: the remote cache, else
    /// `.mlops/trials`.
    public var trials: (any TrialResults)? {
        (remote as? any TrialResults) ?? LocalTrialResults(folder: folder.appendingPathComponent("trials"))
    }
    /// Raised when the remote cache could not be reached: not tried again in this run.
    private let remoteDown = OnceFlag()
    private let cancellation = OnceFlag()

    /// Asks a run in progress to stop: components already running finish (and are recorded),
    /// none starts after them, and ``run(pipeline:properties:options:onStage:)`` throws
    /// `CancellationError`. Safe from a signal handler's queue.
    public func cancel() {
        cancellation.raise()
        ExternalProcess.running.signalAll(SIGTERM)  // an external trainer stops too
    }

    var isCancelled: Bool { cancellation.isRaised }

    /// - Parameters:
    ///   - root: the repository root; artifacts go under `root/.mlops`.
    ///   - fingerprint: a repository path's fingerprint (`git:…` or `sha256:…`), nil when absent.
    ///   - makeProgress: a progress reporter for a component's work of a given total size.
    public init(
        root: URL, store: MetadataStore, components: [any PipelineComponent], commit: String?,
        fingerprint: @escaping @Sendable (String) throws -> String?,
        makeProgress: @escaping @Sendable (Component, Int) -> (@Sendable (Int) -> Void) = { _, _ in { _ in } },
        log: @escaping @Sendable (Component, String) -> Void = { _, _ in },
        remote: (any RemoteCache)? = nil
    ) {
        self.remote = remote
        self.root = root
        self.folder = root.appendingPathComponent(".mlops", isDirectory: true)
        self.store = store
        self.components = components
        self.commit = commit
        self.fingerprint = fingerprint
        self.makeProgress = makeProgress
        self.log = log
    }

    /// Checks the DAG: each component once, every input bound to an output of a component in
    /// the run, no cycles. Returns the components in an order where producers come first.
    public func validate() throws -> [any PipelineComponent] {
        var byID: [Component: any PipelineComponent] = [:]
        for component in components {
            guard byID[component.id] == nil else {
                throw PipelineError(.invalidGraph("\(component.id.rawValue) appears twice"))
            }
            byID[component.id] = component
        }
        for component in components {
            for (name, binding) in component.inputs {
                guard let producer = byID[binding.component], producer.outputs[binding.output] != nil else {
                    throw PipelineError(
                        .invalidGraph(
                            "\(component.id.rawValue) input '\(name)' needs \(binding.component.rawValue).\(binding.output), which no component in the run produces"
                        ))
                }
            }
        }
        var ordered: [any PipelineComponent] = []
        var placed = Set<Component>()
        let present = Set(byID.keys)
        while ordered.count < components.count {
            let ready = components.filter { component in
                !placed.contains(component.id) && component.dependencies(among: present).isSubset(of: placed)
            }
            guard !ready.isEmpty else {
                let stuck = components.filter { !placed.contains($0.id) }.map(\.id.rawValue)
                throw PipelineError(.invalidGraph("a cycle among \(stuck.joined(separator: ", "))"))
            }
            for component in ready.sorted(by: { $0.id < $1.id }) {
                ordered.append(component)
                placed.insert(component.id)
            }
        }
        return ordered
    }

    /// Runs the pipeline. `onStage` is called as each component finishes (from any thread,
    /// one call at a time). An executor's error stops the run after the components already
    /// running finish, and is rethrown; a failed verdict stops the components downstream.
    ///
    /// `params` and `tags` are recorded with the run for tracking (``RunTrackingInfo``).
    public func run(
        pipeline: String, properties: [String: String], params: [String: String] = [:], tags: [String: String] = [:],
        options: Options, onStage: @escaping @Sendable (StageReport) -> Void = { _ in }
    ) throws -> RunReport {
        let started = ContinuousClock.now
        var ordered = try validate()
        if let target = options.target {
            let kept = Self.closure(of: target, in: ordered)
            guard kept.contains(target) else {
                throw PipelineError(.invalidGraph("\(target.rawValue) is not part of this pipeline"))
            }
            ordered.removeAll { !kept.contains($0.id) }
        }
        try cleanUpAbandoned()
        let run = try store.beginRun(pipeline: pipeline, properties: properties, params: params, tags: tags)
        var outputs: [Component: [String: StoredArtifact]] = [:]
        var reports: [Component: StageReport] = [:]
        var stopped: Component?
        var failure: (any Error)?
        let lock = NSLock()
        let present = Set(ordered.map(\.id))
        var remaining = ordered
        while !remaining.isEmpty, failure == nil, !isCancelled {
            // Components whose dependencies have all finished (ran, cached, skipped or failed).
            let wave = remaining.filter { component in
                component.dependencies(among: present).allSatisfy { reports[$0] != nil }
            }
            remaining.removeAll { component in wave.contains { $0.id == component.id } }
            let batch = Array(wave.prefix(max(1, options.parallelism)))
            remaining.insert(contentsOf: wave.dropFirst(batch.count), at: 0)
            let known = outputs
            let finished = reports
            let results: [(StageReport, [String: StoredArtifact]?, (any Error)?)] = concurrentMap(batch.count) {
                index in
                let component = batch[index]
                // A dependency that was skipped, failed or whose verdict failed stops this one.
                let blocker = component.dependencies(among: present).sorted().first { dependency in
                    guard let report = finished[dependency] else { return true }
                    return report.outcome == .skipped || report.outcome == .failed || report.verdict == "fail"
                }
                let result = self.stage(
                    component, run: run, available: known,
                    blockedBy: blocker.map { ($0, finished[$0]?.verdict == "fail") }, options: options)
                lock.lock()
                onStage(result.0)
                lock.unlock()
                return result
            }
            for (component, result) in zip(batch, results) {
                reports[component.id] = result.0
                if let produced = result.1 { outputs[component.id] = produced }
                if let error = result.2, failure == nil { failure = error }
                if result.0.verdict == "fail", stopped == nil { stopped = component.id }
            }
        }
        let elapsed = started.duration(to: .now)
        let seconds = elapsed.inSeconds
        // Stopped between components, or inside one (a trainer between rounds).
        let interrupted = isCancelled && (!remaining.isEmpty || failure is CancellationError)
        if interrupted, failure is CancellationError { failure = nil }
        let status =
            failure != nil ? "failed" : interrupted ? "interrupted" : stopped != nil ? "verdict failed" : "complete"
        try store.updateRun(run, ["status": status, "seconds": String(format: "%.3f", seconds)])
        if let failure { throw failure }
        if interrupted { throw CancellationError() }
        return RunReport(
            run: run, stages: ordered.compactMap { reports[$0.id] }, seconds: seconds, stoppedBy: stopped)
    }

    /// `target` and every component it depends on, among `components`.
    static func closure(of target: Component, in components: [any PipelineComponent]) -> Set<Component> {
        let present = Set(components.map(\.id))
        var byID: [Component: any PipelineComponent] = [:]
        for component in components { byID[component.id] = component }
        var kept: Set<Component> = []
        var pending = present.contains(target) ? [target] : []
        while let next = pending.popLast() {
            guard kept.insert(next).inserted, let component = byID[next] else { continue }
            pending.append(contentsOf: component.dependencies(among: present))
        }
        return kept
    }

    /// One component: skipped, cached or run. Never throws: an error is returned with a
    /// FAILED report so the other components of the wave still finish.
    private func stage(
        _ component: any PipelineComponent, run: Int64, available: [Component: [String: StoredArtifact]],
        blockedBy: (component: Component, verdict: Bool)?, options: Options
    ) -> (StageReport, [String: StoredArtifact]?, (any Error)?) {
        let start = ContinuousClock.now
        var cacheKey: String?
        /// The stage's report from its outputs' fingerprints and recorded properties.
        func describe(
            _ outcome: StageReport.Outcome, _ reason: String, summary: String, execution: Int64?,
            fingerprints: [String: String], properties byOutput: [String: [String: String]]
        ) -> StageReport {
            let properties = Array(byOutput.values)
            var stage = StageReport(
                component: component.id, outcome: outcome,
                seconds: start.duration(to: .now).inSeconds,
                reason: reason,
                summary: summary.isEmpty ? properties.compactMap { $0["summary"] }.first ?? "" : summary,
                execution: execution, outputs: fingerprints,
                verdict: properties.compactMap { $0["verdict"] }.first,
                findings: properties.compactMap { $0["findings"] }.first.map {
                    $0.split(separator: "\n").map(String.init)
                } ?? [])
            stage.cacheKey = cacheKey
            stage.properties = byOutput
            return stage
        }
        func report(
            _ outcome: StageReport.Outcome, _ reason: String, summary: String = "", execution: Int64? = nil,
            outputs: [String: StoredArtifact] = [:]
        ) -> StageReport {
            describe(
                outcome, reason, summary: summary, execution: execution,
                fingerprints: outputs.mapValues(\.fingerprint), properties: outputs.mapValues(\.properties))
        }
        if let blockedBy {
            let why = blockedBy.verdict ? "'s verdict failed" : " did not complete"
            return (report(.skipped, "skipped: \(blockedBy.component.rawValue)\(why)"), nil, nil)
        }
        var inputs: [String: StoredArtifact] = [:]
        for (name, binding) in component.inputs.sorted(by: { $0.key < $1.key }) {
            guard let artifact = available[binding.component]?[binding.output] else {
                return (report(.skipped, "skipped: \(binding.component.rawValue) made no \(binding.output)"), nil, nil)
            }
            inputs[name] = artifact
        }
        do {
            let decision = try decide(component, inputs: inputs.mapValues(\.fingerprint), options: options)
            cacheKey = decision.manifest.cacheKey
            if options.upstreamOnly, options.target == component.id {
                if let hit = decision.hit {
                    return (report(.cached, decision.reason, execution: hit.execution, outputs: hit.outputs), nil, nil)
                }
                if decision.remote == nil {
                    return (report(.skipped, "not run here: only its inputs were wanted"), nil, nil)
                }
            }
            let inputEvents = inputs.sorted { $0.key < $1.key }.map { (name: $0.key, artifact: $0.value.id) }
            if let hit = decision.hit {
                let execution = try store.recordCached(
                    run: run, component: component.id.rawValue, version: component.version,
                    cacheKey: decision.manifest.cacheKey, manifest: decision.manifest, commit: commit,
                    from: hit.execution, inputs: inputEvents, outputs: hit.outputs)
                return (report(.cached, decision.reason, execution: execution, outputs: hit.outputs), hit.outputs, nil)
            }
            let upstreamOnly = options.target.map { $0 != component.id } ?? false
            if let record = decision.remote, options.target == component.id {
                // The target's outputs are in the remote cache already: nothing to do.
                let reason =
                    "cached: "
                    + decision.reason.replacingOccurrences(
                        of: "pulled from the remote cache", with: "its outputs are in the remote cache")
                    + "; nothing to do"
                let stage = describe(
                    .cached, reason, summary: "", execution: nil, fingerprints: record.outputs.mapValues(\.fingerprint),
                    properties: record.outputs.mapValues(\.properties))
                return (stage, nil, nil)
            }
            var reason = decision.reason
            if upstreamOnly, decision.remote == nil || remote == nil || remoteDown.isRaised {
                throw MissingUpstreamError(
                    target: options.target ?? component.id, upstream: component.id, remote: remote?.location,
                    detail: decision.reason.replacingOccurrences(of: "ran because", with: "would run because"))
            }
            if let record = decision.remote, let remote, !remoteDown.isRaised {
                do {
                    let (execution, outputs) = try pull(
                        component, record: record, from: remote, run: run, inputEvents: inputEvents,
                        manifest: decision.manifest, reason: decision.reason)
                    return (report(.cached, decision.reason, execution: execution, outputs: outputs), outputs, nil)
                } catch let error as any MLOpsError where error.exitStatus != .configError {
                    noteRemoteFailure(error)
                    if upstreamOnly {
                        throw MissingUpstreamError(
                            target: options.target ?? component.id, upstream: component.id, remote: remote.location,
                            detail: "its remote cache entry could not be pulled: \(error.message)")
                    }
                    log(component.id, "warning: \(error.message); running it here instead")
                    reason = "ran because its remote cache entry could not be pulled"
                }
            }
            return try execute(
                component, run: run, inputs: inputs, inputEvents: inputEvents, manifest: decision.manifest,
                reason: reason, options: options, report: report)
        } catch let error as MissingUpstreamError {
            return (
                report(.failed, "missing: neither cached here nor in a remote cache (the error follows)"), nil, error
            )
        } catch {
            return (report(.failed, "failed (the error follows)"), nil, error)
        }
    }

    /// Whether a component would be cached or run, and why.
    public struct Decision: Sendable {
        public let component: Component
        public let manifest: KeyManifest
        /// The execution whose outputs would be reused; nil when it runs.
        public let hit: (execution: Int64, outputs: [String: StoredArtifact])?
        /// The remote cache's entry whose outputs would be pulled, when there is no local hit.
        public let remote: RemoteCacheRecord?
        /// `cached: …` or `ran because …`.
        public let reason: String
        /// Every difference from the component's last successful execution (empty when cached).
        public let differences: [String]
        public let previous: StoredExecution?
    }

    /// The cache decision for `component` given its inputs' fingerprints. Outputs of a hit
    /// that are gone from `.mlops` are marked DELETED and the component runs.
    func decide(
        _ component: any PipelineComponent, inputs: [String: String], options: Options, lookUpRemote: Bool = true
    ) throws -> Decision {
        var paths: [String: String] = [:]
        for path in try component.readPaths(root: root) {
            paths[path] = try fingerprint(path) ?? "missing"
        }
        let manifest = KeyManifest(
            component: component.id.rawValue, version: component.version,
            parameters: try component.flattenedParameters(), inputs: inputs, paths: paths)
        let previous = try store.lastSuccessful(component: component.id.rawValue)
        let differences = previous?.manifest.map { manifest.differences(from: $0) } ?? []
        func decision(
            _ reason: String, hit: (Int64, [String: StoredArtifact])? = nil, remote: RemoteCacheRecord? = nil
        ) -> Decision {
            Decision(
                component: component.id, manifest: manifest, hit: hit, remote: remote, reason: reason,
                differences: hit == nil ? differences : [], previous: previous)
        }
        if options.noCache { return decision("ran because of --no-cache") }
        if options.force.contains(component.id) { return decision("ran because of --force \(component.id.rawValue)") }
        // The newest execution with this key whose outputs are in this checkout's .mlops. In a
        // store of its own only the newest is looked at, and its missing outputs are gone; in a
        // shared store they may be in another checkout, where they are still good.
        let hits = try store.cacheHits(for: manifest.cacheKey).prefix(store.isShared ? .max : 1)
        for hit in hits {
            let missing = hit.outputs.values.filter {
                !FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.uri).path)
            }
            if missing.isEmpty {
                return decision("cached: inputs unchanged since execution \(hit.execution)", hit: hit)
            }
            if !store.isShared {
                for artifact in missing { try store.markDeleted(artifact.id) }
                return decision("ran because the outputs of execution \(hit.execution) are gone from .mlops")
            }
        }
        if lookUpRemote, options.remoteCache, !remoteDown.isRaised, let remote,
            let record = try lookUp(manifest.cacheKey, in: remote, for: component.id)
        {
            return decision(
                "pulled from the remote cache (\(remote.location)): made by execution \(record.execution)"
                    + (record.commit.map { " at commit \($0.prefix(8))" } ?? "") + " on \(record.host)",
                remote: record)
        }
        // Left: a shared store's executions whose outputs are all elsewhere.
        if let elsewhere = hits.first {
            return decision(
                "ran because the outputs of execution \(elsewhere.execution) are in another checkout sharing the store, not in this one's .mlops"
            )
        }
        guard previous?.manifest != nil else { return decision("ran because there is no earlier execution") }
        guard !differences.isEmpty else { return decision("ran because no earlier execution has these inputs") }
        return decision(
            "ran because " + differences.prefix(3).joined(separator: "; ")
                + (differences.count > 3 ? "; and \(differences.count - 3) more" : ""))
    }

    /// What a run would do now, without running anything (only outputs found missing are
    /// recorded as such): each component's
    /// decision, in DAG order. An input an upstream component would remake is `(remade)`.
    public func plan(options: Options = Options(), remote lookUpRemote: Bool = false) throws -> [Decision] {
        var outputs: [Component: [String: String]] = [:]
        var decisions: [Decision] = []
        for component in try validate() {
            var inputs: [String: String] = [:]
            for (name, binding) in component.inputs {
                inputs[name] =
                    outputs[binding.component]?[binding.output] ?? "(remade by \(binding.component.rawValue))"
            }
            let decision = try decide(component, inputs: inputs, options: options, lookUpRemote: lookUpRemote)
            outputs[component.id] =
                decision.hit?.outputs.mapValues(\.fingerprint) ?? decision.remote?.outputs.mapValues(\.fingerprint)
                ?? [:]
            decisions.append(decision)
        }
        return decisions
    }

    private func execute(
        _ component: any PipelineComponent, run: Int64, inputs: [String: StoredArtifact],
        inputEvents: [(name: String, artifact: Int64)], manifest: KeyManifest, reason: String, options: Options,
        report: (StageReport.Outcome, String, String, Int64?, [String: StoredArtifact]) -> StageReport
    ) throws -> (StageReport, [String: StoredArtifact]?, (any Error)?) {
        let manager = FileManager.default
        let staging = folder.appendingPathComponent(
            "tmp/\(component.id.rawValue)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))",
            isDirectory: true)
        try manager.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: staging) }
        let execution = try store.startExecution(
            run: run, component: component.id.rawValue, version: component.version, cacheKey: manifest.cacheKey,
            manifest: manifest, commit: commit, staging: staging.path, reason: reason, inputs: inputEvents)
        let id = component.id
        let context = ExecutionContext(
            root: root,
            inputs: inputs.mapValues { ResolvedArtifact(artifact: $0, url: folder.appendingPathComponent($0.uri)) },
            staging: staging, progress: { [makeProgress] total in makeProgress(id, total) },
            log: { [log] line in log(id, line) }, isCancelled: { [cancellation] in cancellation.isRaised },
            cacheKey: manifest.cacheKey, trials: trials)
        let output: ExecutorOutput
        var published: [NewArtifact] = []
        do {
            output = try component.execute(context)
            for (name, type) in component.outputs.sorted(by: { $0.key < $1.key }) {
                let produced = context.output(name)
                guard manager.fileExists(atPath: produced.path) else {
                    throw InternalError("\(component.id.rawValue) wrote no '\(name)' output")
                }
                let fingerprint = try Self.fingerprint(folder: produced)
                let uri = try publish(produced, component: component.id, output: name, fingerprint: fingerprint)
                var properties = output.properties[name] ?? [:]
                if properties["summary"] == nil { properties["summary"] = output.summary }
                published.append(
                    NewArtifact(name: name, type: type, uri: uri, fingerprint: fingerprint, properties: properties))
            }
        } catch {
            try? store.failExecution(execution, error: "\(error)")
            return (report(.failed, "failed (the error follows)", "", execution, [:]), nil, error)
        }
        do {
            let stored = try store.completeExecution(execution, outputs: published, record: output.record)
            if options.remoteCache, let remote, !remoteDown.isRaised {
                push(component, to: remote, execution: execution, manifest: manifest, outputs: published)
            }
            return (report(.ran, reason, output.summary, execution, stored), stored, nil)
        } catch {
            // The outputs are in place but unrecorded: never a cache hit, so never reused.
            try? store.failExecution(execution, error: "recording the outputs failed: \(error)")
            return (report(.failed, "failed (the error follows)", "", execution, [:]), nil, error)
        }
    }

    /// Moves a finished output folder to its content-addressed place under `.mlops/artifacts`
    /// (or drops it when that content is there already); returns its uri.
    func publish(_ produced: URL, component: Component, output name: String, fingerprint: String) throws -> String {
        let manager = FileManager.default
        let uri = "artifacts/\(component.rawValue)/\(name)-\(fingerprint.dropFirst(7).prefix(16))"
        let destination = folder.appendingPathComponent(uri, isDirectory: true)
        if manager.fileExists(atPath: destination.path) {
            try manager.removeItem(at: produced)  // the same content is already published
        } else {
            try manager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            if rename(produced.path, destination.path) != 0 {
                let code = errno
                // Another run published the same content first: the folder is the same.
                guard (code == ENOTEMPTY || code == EEXIST) && manager.fileExists(atPath: destination.path) else {
                    throw FileError(.io, path: destination.path, detail: String(cString: strerror(code)))
                }
                try manager.removeItem(at: produced)
            }
        }
        return uri
    }

    // MARK: - The remote cache

    /// The remote record of `key`. Bad settings or credentials fail the run (exit 78); a
    /// cache that cannot be reached is a warning, and the component is looked for no further.
    func lookUp(_ key: String, in remote: any RemoteCache, for component: Component) throws -> RemoteCacheRecord? {
        do { return try remote.lookup(key) } catch let error as any MLOpsError where error.exitStatus != .configError {
            noteRemoteFailure(error)
            log(component, "warning: \(error.message); not using the remote cache for it")
            return nil
        }
    }

    /// A remote cache that cannot be reached (exit 74) is not tried again in this run, so a
    /// job with a cache outage pays the retries once, not once per component.
    func noteRemoteFailure(_ error: any MLOpsError) {
        if error.exitStatus == .ioError { remoteDown.raise() }
    }

    /// Downloads a remote entry's outputs into staging, checks them, publishes them as this
    /// store's artifacts and records an execution saying where they came from.
    private func pull(
        _ component: any PipelineComponent, record: RemoteCacheRecord, from remote: any RemoteCache, run: Int64,
        inputEvents: [(name: String, artifact: Int64)], manifest: KeyManifest, reason: String
    ) throws -> (Int64, [String: StoredArtifact]) {
        let staging = folder.appendingPathComponent(
            "tmp/\(component.id.rawValue)-pull-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))",
            isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        guard Set(record.outputs.keys) == Set(component.outputs.keys) else {
            throw RemoteCacheError(
                location: remote.location,
                detail: "the entry of \(record.cacheKey) has other outputs than \(component.id.rawValue)",
                hint: nil, exitStatus: .dataError)
        }
        var staged: [(String, RemoteCacheRecord.Output, URL)] = []
        for (name, output) in record.outputs.sorted(by: { $0.key < $1.key }) {
            let target = staging.appendingPathComponent(name, isDirectory: true)
            try remote.pull(record, output: name, into: target)
            staged.append((name, output, target))
        }
        let execution = try store.startExecution(
            run: run, component: component.id.rawValue, version: component.version, cacheKey: manifest.cacheKey,
            manifest: manifest, commit: commit, staging: staging.path, reason: reason, inputs: inputEvents)
        do {
            var published: [NewArtifact] = []
            for (name, output, target) in staged {
                let uri = try publish(target, component: component.id, output: name, fingerprint: output.fingerprint)
                published.append(
                    NewArtifact(
                        name: name, type: output.type, uri: uri, fingerprint: output.fingerprint,
                        properties: output.properties))
            }
            return (execution, try store.completeExecution(execution, outputs: published))
        } catch {
            try? store.failExecution(execution, error: "pulling from the remote cache failed: \(error)")
            throw error
        }
    }

    /// Pushes what an execution made; a failure is a warning (the run's own results stand).
    private func push(
        _ component: any PipelineComponent, to remote: any RemoteCache, execution: Int64, manifest: KeyManifest,
        outputs: [NewArtifact]
    ) {
        do {
            var entries: [String: RemoteCacheRecord.Output] = [:]
            var folders: [String: URL] = [:]
            for output in outputs {
                let source = folder.appendingPathComponent(output.uri, isDirectory: true)
                folders[output.name] = source
                // The files the fingerprint covers, enumerated as it enumerates them.
                let files = try Self.fileDigests(folder: source).map {
                    RemoteCacheRecord.File(path: $0.path, sha256: Hex.string($0.sha256), size: $0.size)
                }
                entries[output.name] = RemoteCacheRecord.Output(
                    type: output.type, fingerprint: output.fingerprint, properties: output.properties, files: files)
            }
            let formatter = ISO8601DateFormatter()
            let record = RemoteCacheRecord(
                format: RemoteCacheRecord.format, cacheKey: manifest.cacheKey, component: component.id.rawValue,
                version: component.version, manifest: manifest, outputs: entries,
                push: UUID().uuidString.lowercased(), commit: commit, execution: execution,
                host: ProcessInfo.processInfo.hostName, created: formatter.string(from: Date()))
            try remote.push(record, folders: folders)
        } catch {
            if let error = error as? any MLOpsError { noteRemoteFailure(error) }
            let message = (error as? any MLOpsError)?.message ?? "\(error)"
            log(component.id, "warning: not pushed to the remote cache: \(message)")
        }
    }

    /// Marks executions of dead processes ABANDONED and removes their staging folders.
    private func cleanUpAbandoned() throws {
        let abandoned = try store.abandonStale { pid in kill(pid, 0) == 0 || errno == EPERM }
        // Only this checkout's own staging folders: a shared store lists other machines' too.
        let own = folder.appendingPathComponent("tmp").path + "/"
        for (_, staging) in abandoned {
            if let staging, staging.hasPrefix(own) { try? FileManager.default.removeItem(atPath: staging) }
        }
    }

    /// `sha256:` of a folder: every file's relative path and content hash, in path order.
    public static func fingerprint(folder: URL) throws -> String {
        fingerprint(files: try fileDigests(folder: folder).map { ($0.path, $0.sha256) })
    }

    /// Every file below `folder` (what its fingerprint covers): relative path, SHA-256, size.
    public static func fileDigests(folder: URL) throws -> [(path: String, sha256: [UInt8], size: Int64)] {
        let manager = FileManager.default
        var files: [String] = []
        if let enumerator = manager.enumerator(atPath: folder.path) {
            for case let path as String in enumerator {
                var isDirectory: ObjCBool = false
                if manager.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    files.append(path)
                }
            }
        }
        var digests: [(path: String, sha256: [UInt8], size: Int64)] = []
        for path in files {
            let handle = try FileHandle(forReadingFrom: folder.appendingPathComponent(path))
            defer { try? handle.close() }
            var file = SHA256()
            var size: Int64 = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                file.update(data: chunk)
                size += Int64(chunk.count)
            }
            digests.append((path, Array(file.finalize()), size))
        }
        return digests
    }

    /// `sha256:` of a folder from its files' relative paths and SHA-256 digests (as a bundle's
    /// manifest lists them), without reading the files.
    public static func fingerprint(files: [(path: String, sha256: [UInt8])]) -> String {
        var total = SHA256()
        for file in files.sorted(by: { $0.path < $1.path }) {
            total.update(data: Data(file.path.utf8))
            total.update(data: Data([0]))
            total.update(data: Data(file.sha256))
        }
        return "sha256:" + hex(total.finalize())
    }
}

/// One component was asked to run alone but an upstream one's outputs are neither in this
/// checkout's store nor in the remote cache: that component has to run first.
public struct MissingUpstreamError: MLOpsError {
    public let target: Component
    public let upstream: Component
    /// The remote cache looked in, if any.
    public let remote: String?
    /// Why the upstream component's outputs were not found (its cache decision).
    public let detail: String

    public var message: String {
        "\(target.rawValue) cannot run yet: the outputs of \(upstream.rawValue) it depends on are not in the store"
            + (remote.map { " nor in the remote cache (\($0))" } ?? " and no remote cache is configured")
            + " (\(upstream.rawValue) \(detail))"
    }

    public var hint: String? {
        "run `mlops component run \(upstream.rawValue)` first"
            + (remote == nil ? ", here or with cache.remote (or MLOPS_CACHE) set so this job can pull it" : "")
    }
    public var exitStatus: ExitStatus { .noInput }
}

/// The pipeline as a whole cannot run: a component is missing its producer, or a cycle.
public struct PipelineError: MLOpsError {
    public enum Kind: Sendable { case invalidGraph(String) }
    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .invalidGraph(let detail): "the pipeline cannot run: \(detail)"
        }
    }

    public var hint: String? { "check the components mlops.yaml configures (`mlops config check`)" }
    public var exitStatus: ExitStatus { .configError }
}

extension PipelineRunner {
    /// Trains Tuner trial `number` alone (`mlops component run Tuner --trial K`), its inputs
    /// those of `report` (a run of the Tuner's upstream, ``Options/upstreamOnly``), and keeps the
    /// result in ``trials`` under the Tuner's cache key, where the gathering Tuner reads it.
    public func runTrial(_ number: Int, after report: RunReport) throws -> TuningResult.Trial {
        guard let tuner = components.first(where: { $0.id == .tuner }) as? TunerComponent,
            let key = report.stage(.tuner)?.cacheKey
        else { throw InternalError("the run has no Tuner to train a trial of") }
        var inputs: [String: ResolvedArtifact] = [:]
        for (name, binding) in tuner.inputs {
            guard let execution = report.stage(binding.component)?.execution,
                let artifact = try store.artifacts(of: execution, "OUTPUT")[binding.output]
            else { throw InternalError("the Tuner's input '\(name)' was not made by the run") }
            inputs[name] = ResolvedArtifact(artifact: artifact, url: folder.appendingPathComponent(artifact.uri))
        }
        let staging = folder.appendingPathComponent(
            "tmp/Tuner-trial-\(number)-\(ProcessInfo.processInfo.processIdentifier)", isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        let context = ExecutionContext(
            root: root, inputs: inputs, staging: staging,
            progress: { [makeProgress] total in makeProgress(.tuner, total) },
            log: { [log] line in log(.tuner, line) }, isCancelled: { [weak self] in self?.isCancelled ?? true },
            cacheKey: key, trials: trials)
        return try tuner.runTrial(number, context: context)
    }
}
