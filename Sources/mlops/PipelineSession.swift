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

    /// `storeOnly` skips reading the repository state and the components (for questions
    /// answered from the store alone).
    static func open(_ context: CommandContext, createStore: Bool = true) throws -> PipelineSession {
        let repository = try context.repository()
        guard let workdir = repository.workingDirectory else {
            throw FileError(.missing, path: repository.gitDirectory, detail: "is a bare repository, with no work tree")
        }
        let root = URL(fileURLWithPath: workdir)
        let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
        let folder = root.appendingPathComponent(".mlops", isDirectory: true)
        let storePath = folder.appendingPathComponent(MetadataStore.fileName).path
        if !createStore, !FileManager.default.fileExists(atPath: storePath) {
            throw FileError(
                .missing, path: storePath, detail: "no metadata store yet", hint: "run `mlops train` first")
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // MLOPS_BUSY_TIMEOUT: seconds to wait for another process's lock on the store (default 5).
        let timeout = ProcessInfo.processInfo.environment["MLOPS_BUSY_TIMEOUT"].flatMap(Double.init) ?? 5
        let store = try MetadataStore(path: storePath, busyTimeout: timeout)
        let snapshot = try RepositorySnapshot(repository: repository, cache: StoreHashCache(store: store))
        return PipelineSession(repository: repository, root: root, config: config, snapshot: snapshot, store: store)
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
