import Foundation
import GitKit
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// Which model the gate compares the candidate with (`--baseline`, `evaluation.baseline`).
public enum BaselineRequest: Sendable, Hashable, CustomStringConvertible {
    /// The production channel's model, else the model blessed at the merge-base (or the
    /// newest blessed at one of its ancestors), else none.
    case auto
    case production
    case latestBlessed
    case none
    /// A model folder on disk.
    case folder(String)

    /// A `BaselineChoice` by its name (`none`, `auto`, `production`, `latest-blessed`), else
    /// a model folder's path.
    public init(_ text: String) {
        self = BaselineChoice(rawValue: text).map(BaselineRequest.init) ?? .folder(text)
    }

    public init(_ choice: BaselineChoice) {
        switch choice {
        case .auto: self = .auto
        case .production: self = .production
        case .latestBlessed: self = .latestBlessed
        case .none: self = .none
        }
    }

    public var description: String {
        switch self {
        case .auto: BaselineChoice.auto.rawValue
        case .production: BaselineChoice.production.rawValue
        case .latestBlessed: BaselineChoice.latestBlessed.rawValue
        case .none: BaselineChoice.none.rawValue
        case .folder(let path): path
        }
    }
}

/// Where released models come from (the registry, which Release implements): Gates never
/// depends on Release, so the caller hands one in.
public protocol BaselineSource {
    /// The model the production channel (the last of `release.channels`) holds, verified and
    /// unpacked; nil when the channel is empty.
    func productionBaseline() throws -> Baseline?
}

/// Chooses the baseline a request names, from the store, the registry and the repository.
public struct BaselineChooser {
    public let project: Project
    public let releases: (any BaselineSource)?
    public let environment: [String: String]
    /// Whether a baseline made in another checkout may be pulled from the remote cache
    /// (`--no-remote-cache` turns it off).
    public var remoteCache = true

    public init(project: Project, releases: (any BaselineSource)?, environment: [String: String]) {
        self.project = project
        self.releases = releases
        self.environment = environment
    }

    /// The baseline `request` names: nil for none.
    public func choose(_ request: BaselineRequest) throws -> Baseline? {
        try decide(request).baseline
    }

    /// The baseline `request` names, or why there is none (for the header and the report).
    public func decide(_ request: BaselineRequest) throws -> (baseline: Baseline?, none: String?) {
        switch request {
        case .none:
            return (nil, "--baseline none")
        case .folder(let path):
            return (try folder(path), nil)
        case .auto, .production, .latestBlessed:
            if request != .latestBlessed, let production = try releases?.productionBaseline() {
                return (production, nil)
            }
            let blessed = try blessedModels()
            if request == .latestBlessed {
                guard let newest = blessed.first else { return (nil, "no model in the store has both blessings") }
                return (pick(newest, "latest blessed model (execution \(newest.execution.id))"), nil)
            }
            let channels = "nothing released to the production channel yet"
            // The base of the change, as `mlops changes` finds it ($GITHUB_BASE_REF, --base's
            // default, the default branch). Only models blessed in the history the change
            // started from qualify: at the merge-base, else the newest at one of its ancestors.
            let repository = project.repository
            let base = try ChangeBase.resolve(
                in: repository, head: try repository.head(), explicit: nil, environment: environment)
            guard let mergeBase = base.mergeBase else {
                return (nil, "no merge-base (\(base.fallback ?? "no base")); \(channels)")
            }
            if let match = blessed.first(where: { $0.execution.gitCommit == mergeBase.hex }) {
                return (
                    pick(
                        match,
                        "blessed at the merge-base \(mergeBase.short) (execution \(match.execution.id); \(channels))"),
                    nil
                )
            }
            for entry in blessed {
                guard let commit = entry.execution.gitCommit.flatMap(ObjectID.init(hex:)),
                    (try? repository.mergeBase(commit, mergeBase)) == commit
                else { continue }
                return (
                    pick(
                        entry,
                        "blessed at \(commit.short), an ancestor of the merge-base \(mergeBase.short) (execution \(entry.execution.id); \(channels))"
                    ), nil
                )
            }
            let elsewhere = blessed.isEmpty ? "" : "; models blessed on other branches are not baselines"
            return (nil, "no model blessed at the merge-base \(mergeBase.short) or before it\(elsewhere); \(channels)")
        }
    }

    /// Blessed candidates, newest first, with the Evaluator execution (ran or cached) that
    /// blessed each.
    /// Blessed means both blessings: the Evaluator's, and InfraValidator's for the same model
    /// (an execution of it that read this model artifact, ran or cached, and blessed it).
    func blessedModels() throws -> [(execution: StoredExecution, model: StoredArtifact)] {
        let store = project.store
        func blessing(_ execution: Int64) throws -> Bool {
            try store.artifacts(of: execution, "OUTPUT")["blessing"]?.properties["blessed"] == "1"
        }
        var blessed: [(execution: StoredExecution, model: StoredArtifact)] = []
        for execution in try store.allExecutions().reversed()
        where execution.component == Component.evaluator.rawValue
            && (execution.state == .complete || execution.state == .cached)
        {
            // A cached Evaluator execution counts too: it is recorded at the commit it ran for
            // (a merge commit on main whose gate reused the pull request's evaluation, say).
            guard try blessing(execution.id), let model = try store.artifacts(of: execution.id, "INPUT")["model"],
                try store.consumers(of: model.id).contains(where: { consumer in
                    guard consumer.component == Component.infraValidator.rawValue,
                        consumer.state == .complete || consumer.state == .cached
                    else { return false }
                    return try blessing(consumer.id)
                })
            else { continue }
            blessed.append((execution, model))
        }
        return blessed
    }

    /// The baseline of a blessed model. With a shared store the model may have been made in
    /// another checkout: then it is pulled from the remote cache (unless `remoteCache` is off)
    /// by the cache key of the Trainer execution that made it, as the runner pulls outputs.
    /// Best effort: when it cannot be had, the folder stays missing and the Evaluator says so
    /// if it needs it (not when the baseline is the candidate itself, made by this run).
    func pick(_ entry: (execution: StoredExecution, model: StoredArtifact), _ reason: String) -> Baseline {
        let folder = project.folder(of: entry.model)
        if remoteCache, !FileManager.default.fileExists(atPath: folder.path) {
            try? fetch(entry.model, into: folder)
        }
        return Baseline(folder: folder.path, reason: reason, identity: entry.model.fingerprint)
    }

    private func fetch(_ model: StoredArtifact, into folder: URL) throws {
        guard let remote = try project.remoteCache() else { return }
        let trainers = try project.store.producers(of: model.id).filter { $0.component == Component.trainer.rawValue }
        for trainer in trainers {
            guard let record = try remote.lookup(trainer.cacheKey),
                record.outputs["model"]?.fingerprint == model.fingerprint
            else { continue }
            let staging = folder.deletingLastPathComponent().appendingPathComponent(
                ".baseline-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
            defer { try? FileManager.default.removeItem(at: staging) }
            // The pull checks every file against the record, whose fingerprint is the model's.
            try remote.pull(record, output: "model", into: staging)
            _ = rename(staging.path, folder.path)  // another process may have put it there first
            return
        }
    }

    /// A model folder given by path, identified by its model's and transform's bytes (FNV-1a),
    /// so a changed folder is evaluated again.
    func folder(_ path: String) throws -> Baseline {
        let folder = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.json").path) else {
            throw FileError(
                .missing, path: path, detail: "is not a model folder (no model.json)",
                hint: "--baseline takes production, latest-blessed, none, or a folder `mlops train` wrote")
        }
        var hash = SplitHash.offsetBasis
        for file in ["model.json", "transform.json"] {
            let data = (try? Data(contentsOf: folder.appendingPathComponent(file))) ?? Data()
            hash = data.withUnsafeBytes { SplitHash.fnv1a($0, hash) }
        }
        return Baseline(
            folder: folder.standardizedFileURL.path, reason: "--baseline \(path)",
            identity: "folder:" + String(hash, radix: 16))
    }
}
