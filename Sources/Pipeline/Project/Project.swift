import Foundation
import GitKit
import MLOpsCore
import Metadata
import S3Kit

/// One project opened for work: the repository, its root, `mlops.yaml`, the state of the work
/// tree and the metadata store in `.mlops`. What `mlops train`, `explain`, `gate`, `release`
/// and `test` start from; the executable only finds the repository.
public struct Project {
    public let repository: Repository
    public let root: URL
    public let config: MLOpsConfig
    public let snapshot: RepositorySnapshot
    public let store: any MetadataStore
    /// The process environment (the CI's pull request variables name the change's base).
    public var environment: [String: String] = [:]

    /// The project of `repository`'s work tree, with its store (created when absent).
    public static func open(_ repository: Repository, environment: [String: String]) throws -> Project {
        let root = try workTree(of: repository)
        let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
        let store = try openStore(root: root, configured: config.store?.value, create: true, environment: environment)
        let snapshot = try RepositorySnapshot(repository: repository, cache: StoreHashCache(store: store))
        return Project(
            repository: repository, root: root, config: config, snapshot: snapshot, store: store,
            environment: environment)
    }

    /// The work tree's root; a bare repository has none.
    public static func workTree(of repository: Repository) throws -> URL {
        guard let workdir = repository.workingDirectory else {
            throw FileError(.missing, path: repository.gitDirectory, detail: "is a bare repository, with no work tree")
        }
        return URL(fileURLWithPath: workdir)
    }

    /// The project's metadata store: `MLOPS_STORE`, else `store` in mlops.yaml (`configured`),
    /// else the embedded SQLite store in `.mlops`. With `create` false a store with nothing
    /// recorded yet is an error saying to train first.
    public static func openStore(root: URL, configured: String?, create: Bool, environment: [String: String]) throws
        -> any MetadataStore
    {
        let location = try StoreLocation(configured: configured, environment: environment, root: root)
        // MLOPS_BUSY_TIMEOUT: seconds to wait for another process's lock on the store (default 5).
        let timeout = environment["MLOPS_BUSY_TIMEOUT"].flatMap(Double.init) ?? 5
        return try location.open(create: create, busyTimeout: timeout)
    }

    /// The existing store of the project at `root`, for questions (runs, lineage, the latest
    /// model): `store` is read from mlops.yaml (that value alone, leniently) only when
    /// `MLOPS_STORE` does not name one.
    public static func existingStore(root: URL, environment: [String: String]) throws -> any MetadataStore {
        var configured: String?
        if (environment["MLOPS_STORE"] ?? "").isEmpty {
            configured = try MLOpsConfig.storeSetting(from: root.appendingPathComponent(MLOpsConfig.fileName))
        }
        return try openStore(root: root, configured: configured, create: false, environment: environment)
    }

    /// The `model` output of the newest successful Trainer execution in the store (`latest`).
    public static func latestModel(root: URL, environment: [String: String]) throws -> URL {
        let store = try existingStore(root: root, environment: environment)
        defer { try? store.close() }
        guard let execution = try store.lastSuccessful(component: Component.trainer.rawValue),
            let artifact = try store.artifacts(of: execution.id, "OUTPUT")["model"]
        else { throw ServingError(.noModel) }
        return root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
    }

    /// A runner over the components `mlops.yaml` configures (plus `extra`, e.g. the gates'),
    /// drawing progress bars and passing an external program's lines to stderr on `console`.
    /// With `remoteCache` false (`--no-remote-cache`) the remote cache's settings are not even
    /// read, so a job without its credentials (a fork's pull request) still runs.
    public func runner(
        strict: Bool = false, extra: [any PipelineComponent] = [], console: Console? = nil, remoteCache: Bool = true
    ) throws -> PipelineRunner {
        let remote = remoteCache ? try self.remoteCache() : nil
        let snapshot = snapshot
        let components = try config.dataComponents(root: root, strict: strict) { patterns, current in
            try MergeBaseData.find(
                repository: repository, snapshot: snapshot, patterns: patterns, current: current,
                environment: environment)
        }
        return PipelineRunner(
            root: root, store: store, components: components + extra,
            commit: snapshot.commit, fingerprint: { try snapshot.fingerprint($0) },
            makeProgress: { component, total in
                guard let console else { return { _ in } }
                let bar = ProgressBar(console: console, label: component.rawValue, total: total)
                return { bar.advance(by: $0) }
            },
            log: { component, line in
                // An external program's output, on stderr so stdout stays the run's summary.
                guard let console, console.verbosity >= .normal else { return }
                FileHandle.standardError.write(Data("  \(component.rawValue) | \(line)\n".utf8))
            }, remote: remote)
    }

    /// The remote cache `MLOPS_CACHE` (empty: none) or `cache.remote` names, nil when neither
    /// does. Bad settings or credentials are exit 78 here, before anything runs.
    public func remoteCache() throws -> (any RemoteCache)? {
        let (text, setting): (String?, String) =
            if let override = environment["MLOPS_CACHE"] { (override.isEmpty ? nil : override, "MLOPS_CACHE") } else {
                (config.cache.remote, "cache.remote")
            }
        guard let text else { return nil }
        do {
            let location = try S3Location(parsing: text)
            return S3RemoteCache(
                client: try S3Settings.client(environment: environment), root: location, setting: setting)
        } catch {
            throw RemoteCacheError(
                location: "\(setting) = \(text)", detail: error.message, hint: error.hint, exitStatus: error.exitStatus)
        }
    }

    /// The output `output` of the execution of `component` recorded in `report`.
    public func artifact(_ component: Component, _ output: String, in report: RunReport) throws -> StoredArtifact? {
        guard let execution = report.stage(component)?.execution
        else { return nil }
        return try store.artifacts(of: execution, "OUTPUT")[output]
    }

    /// Where a stored artifact's files are.
    public func folder(of artifact: StoredArtifact) -> URL {
        root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
    }

    /// What a run of `runner` records for tracking before it starts: the settings of its
    /// components and the tags naming where it ran (``RunTrackingInfo``).
    public func tracking(of runner: PipelineRunner, command: String, base: String? = nil) throws -> (
        params: [String: String], tags: [String: String]
    ) {
        (
            try RunTrackingInfo.params(config: config, components: runner.components.map(\.id)),
            RunTrackingInfo.tags(
                snapshot: snapshot, pipeline: config.pipeline.name, command: command, base: base,
                environment: environment)
        )
    }

    /// `.mlops/reports`, where test and gate reports go.
    public var reports: URL { root.appendingPathComponent(".mlops/reports", isDirectory: true) }
}

/// Appends a report's Markdown to `$GITHUB_STEP_SUMMARY` on GitHub Actions.
public enum StepSummary {
    public static func append(_ markdown: String, environment: [String: String]) {
        guard let summary = environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty,
            let handle = FileHandle(forWritingAtPath: summary)
        else { return }
        handle.seekToEndOfFile()
        handle.write(Data(markdown.utf8))
        try? handle.close()
    }
}
