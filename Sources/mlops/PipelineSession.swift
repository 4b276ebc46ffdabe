import ArgumentParser
import Foundation
import GitKit
import MLOpsCore
import Pipeline

/// What the pipeline commands (train, explain, runs, lineage) open: the repository, its
/// mlops.yaml, the components it configures, and the metadata store in `.mlops`.
struct PipelineSession {
    let repository: Repository
    let root: URL
    let config: MLOpsConfig
    let snapshot: RepositorySnapshot
    let store: MetadataStore

    /// Everything `mlops train` and `mlops explain` need, the store created when absent.
    static func open(_ context: CommandContext) throws -> PipelineSession {
        let (repository, root) = try workTree(context)
        let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
        let store = try openStore(root: root, create: true)
        let snapshot = try RepositorySnapshot(repository: repository, cache: StoreHashCache(store: store))
        return PipelineSession(repository: repository, root: root, config: config, snapshot: snapshot, store: store)
    }

    /// The existing store alone, for questions answered from it (runs, lineage): no
    /// repository status, no configuration.
    static func openStore(_ context: CommandContext) throws -> MetadataStore {
        try openStore(root: try workTree(context).root, create: false)
    }

    /// A model folder named on the command line: a path; `latest`, the `model` output of the
    /// newest successful Trainer execution in this project's store; or NAME@CHANNEL /
    /// NAME@VERSION, a released bundle from the registry, verified and unpacked.
    static func modelFolder(_ reference: String, _ context: CommandContext) throws -> URL {
        if reference.contains("@"), !FileManager.default.fileExists(atPath: reference) {
            // NAME@CHANNEL or NAME@VERSION: the released bundle, verified and unpacked once.
            let session = try RegistrySession.open(context)
            let (name, selector) = try session.reference(reference)
            let release = try session.registry.resolve(name, selector, channels: session.channels)
            return try session.unpacked(release).appendingPathComponent("model", isDirectory: true)
        }
        if reference.hasSuffix(".tar.zst"), FileManager.default.fileExists(atPath: reference) {
            throw ValidationError(
                "'\(reference)' is a bundle file: serve it from the registry as NAME@VERSION, or unpack it with `mlops push`"
            )
        }
        guard reference == "latest", !FileManager.default.fileExists(atPath: reference) else {
            return URL(fileURLWithPath: reference)
        }
        let root = try workTree(context).root
        let store = try openStore(root: root, create: false)
        defer { try? store.close() }
        guard let execution = try store.lastSuccessful(component: Component.trainer.rawValue),
            let artifact = try store.artifacts(of: execution.id, "OUTPUT")["model"]
        else { throw ServingError(.noModel) }
        return root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
    }

    private static func workTree(_ context: CommandContext) throws -> (repository: Repository, root: URL) {
        let repository = try context.repository()
        guard let workdir = repository.workingDirectory else {
            throw FileError(.missing, path: repository.gitDirectory, detail: "is a bare repository, with no work tree")
        }
        return (repository, URL(fileURLWithPath: workdir))
    }

    private static func openStore(root: URL, create: Bool) throws -> MetadataStore {
        let folder = root.appendingPathComponent(".mlops", isDirectory: true)
        let storePath = folder.appendingPathComponent(MetadataStore.fileName).path
        if !create, !FileManager.default.fileExists(atPath: storePath) {
            throw FileError(
                .missing, path: storePath, detail: "no metadata store yet", hint: "run `mlops train` first")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // MLOPS_BUSY_TIMEOUT: seconds to wait for another process's lock on the store (default 5).
        let timeout = ProcessInfo.processInfo.environment["MLOPS_BUSY_TIMEOUT"].flatMap(Double.init) ?? 5
        return try MetadataStore(path: storePath, busyTimeout: timeout)
    }

    func runner(strict: Bool = false, console: Console? = nil) throws -> PipelineRunner {
        let snapshot = snapshot
        return PipelineRunner(
            root: root, store: store, components: try config.dataComponents(root: root, strict: strict),
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
            })
    }
}
