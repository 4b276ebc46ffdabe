import Foundation
import GitKit
import MLOpsCore

/// What a commit, its branch and its work tree are, as recorded with every artifact.
public struct RepositoryFacts: Sendable, Encodable {
    public let root: String
    public let commit: ObjectID?
    /// The branch HEAD is on; nil when detached (as CI checks out) or before the first commit's branch exists.
    public let branch: String?
    public let detached: Bool
    /// `origin`'s URL with any credentials removed.
    public let remoteURL: String?
    /// Staged, unstaged or untracked (not ignored) changes exist.
    public let dirty: Bool
    public let shallow: Bool

    enum CodingKeys: String, CodingKey { case root, commit, branch, detached, remoteURL = "remote_url", dirty, shallow }
}

/// How a path takes part in the change.
public enum ChangeStage: String, Sendable, Encodable, Comparable {
    /// Between the merge-base and HEAD.
    case committed
    /// In the index, not yet committed.
    case staged
    /// In the work tree, not staged.
    case unstaged
    /// Not tracked and not ignored.
    case untracked
    /// No usable base: every path counts as changed.
    case assumed

    private var order: Int { [.committed, .staged, .unstaged, .untracked, .assumed].firstIndex(of: self) ?? 0 }
    public static func < (a: ChangeStage, b: ChangeStage) -> Bool { a.order < b.order }
}

/// What kind of input a path is, from `paths` in mlops.yaml.
public enum PathClass: String, Sendable, Encodable, CaseIterable {
    case data, code, config, schema, other
}

public struct ChangedPath: Sendable, Encodable {
    public let path: String
    public let oldPath: String?
    /// The status in the latest stage it appears in.
    public let status: FileChange.Status
    public let stages: [ChangeStage]
    public let classes: [PathClass]
    public let submodule: Bool

    enum CodingKeys: String, CodingKey { case path, oldPath = "old_path", status, stages, classes, submodule }
}

/// A component the change affects, and why.
public struct AffectedComponent: Sendable, Encodable {
    public let component: Component
    public let reasons: [String]
}

/// Everything `mlops changes` reports.
public struct ChangeReport: Sendable, Encodable {
    public let repository: RepositoryFacts
    public let base: ChangeBase
    public let paths: [ChangedPath]
    /// Sections of mlops.yaml that differ from the base's (empty when it did not change).
    public let configSections: [String]
    public let affected: [AffectedComponent]
    /// The fingerprint of each declared path set (data, code, config, schema).
    public let fingerprints: [String: SetFingerprint]

    enum CodingKeys: String, CodingKey {
        case repository, base, paths, configSections = "config_sections", affected, fingerprints
    }

    public func paths(in pathClass: PathClass) -> [ChangedPath] { paths.filter { $0.classes.contains(pathClass) } }
}

/// Finds what a change touched and which components it affects.
public struct ChangeDetector {
    public let repository: Repository
    public let config: MLOpsConfig
    /// The configuration file, relative to the repository root.
    public let configPath: String

    public init(repository: Repository, config: MLOpsConfig, configPath: String = MLOpsConfig.fileName) {
        self.repository = repository
        self.config = config
        self.configPath = configPath
    }

    /// Per-phase wall times of the last `detect`, for `--verbose`.
    public typealias Timings = [(phase: String, seconds: Double)]

    public func detect(base explicit: String?, environment: [String: String]) throws -> ChangeReport {
        try detect(base: explicit, environment: environment, timings: { _ in })
    }

    /// - Parameter precomputed: the repository's ``WorkTreeStatus`` against HEAD when the caller
    ///   has already read it (`mlops changes` reads it while it parses mlops.yaml).
    public func detect(
        base explicit: String?, environment: [String: String], status precomputed: WorkTreeStatus? = nil,
        timings report: (Timings) -> Void
    ) throws -> ChangeReport {
        var timings: Timings = []
        var mark = ContinuousClock.now
        func lap(_ phase: String) {
            let now = ContinuousClock.now
            let elapsed = now - mark
            timings.append((phase, elapsed.inSeconds))
            mark = now
        }
        defer { report(timings) }
        let head = try repository.head()
        let base = try ChangeBase.resolve(in: repository, head: head, explicit: explicit, environment: environment)

        lap("base")
        // Read the work-tree status once; it serves the change list, the dirty flag and
        // fingerprints. One repository handle, so libgit2 reads the index once: the work-tree
        // scan spreads over the cores by itself, and the HEAD..index comparison is usually
        // answered by the index's cache-tree.
        let headCommit = head.commit
        let status = try precomputed ?? repository.status(against: headCommit)
        let (staged, unstaged, indexEntries) = (status.staged, status.unstaged, status.entries)
        lap("status: HEAD..index..work tree")
        var committed: [FileChange] = []
        if let headCommit = head.commit {
            if let mergeBase = base.mergeBase {
                if mergeBase != headCommit { committed = try repository.changes(from: mergeBase, to: headCommit) }
            } else {
                committed = try repository.changes(from: nil, to: headCommit)
            }
        }
        lap("committed (base..HEAD)")
        let committedStage: ChangeStage = base.fallback == nil ? .committed : .assumed
        var byPath: [String: (change: FileChange, stages: [ChangeStage])] = [:]
        func add(_ changes: [FileChange], _ stage: ChangeStage) {
            for change in changes {
                let stageOfChange: ChangeStage = change.status == .untracked ? .untracked : stage
                if var existing = byPath[change.path] {
                    existing.stages.append(stageOfChange)
                    // The latest status, but a rename's origin from an earlier stage is kept.
                    let oldPath = change.oldPath ?? existing.change.oldPath
                    existing.change = FileChange(
                        status: change.status, path: change.path, oldPath: oldPath, newID: change.newID,
                        isSubmodule: change.isSubmodule || existing.change.isSubmodule)
                    byPath[change.path] = existing
                } else {
                    byPath[change.path] = (change, [stageOfChange])
                }
            }
        }
        add(committed, committedStage)
        add(staged, .staged)
        add(unstaged, .unstaged)

        let classifier = PathClassifier(paths: config.paths)
        let paths = byPath.keys.sorted().compactMap { path -> ChangedPath? in
            guard let entry = byPath[path] else { return nil }
            return ChangedPath(
                path: path, oldPath: entry.change.oldPath, status: entry.change.status, stages: entry.stages.sorted(),
                classes: classifier.classes(of: path, renamedFrom: entry.change.oldPath),
                submodule: entry.change.isSubmodule)
        }

        let sections = try configSectionsChanged(base: base, paths: paths)
        let affected = affectedComponents(base: base, paths: paths, sections: sections)
        lap("classification")

        let workdir = repository.workingDirectory ?? repository.openedFrom
        let facts = RepositoryFacts(
            root: workdir, commit: head.commit,
            branch: head.commit == nil ? nil : head.branchName,
            detached: { if case .detached = head { return true } else { return false } }(),
            remoteURL: try repository.remoteURL(), dirty: !staged.isEmpty || !unstaged.isEmpty,
            shallow: repository.isShallow)

        lap("repository facts")
        let fingerprinter = try Fingerprinter(repository: repository, entries: indexEntries, unstaged: unstaged)
        lap("index entries")
        let declared = [
            ("data", config.paths.data), ("code", config.paths.code), ("config", config.paths.config),
            ("schema", config.paths.schema),
        ].filter { !$0.1.isEmpty }
        let sets = try fingerprinter.fingerprints(of: declared.map(\.1))
        let fingerprints = Dictionary(uniqueKeysWithValues: zip(declared.map(\.0), sets))
        lap("fingerprints")
        return ChangeReport(
            repository: facts, base: base, paths: paths, configSections: sections, affected: affected,
            fingerprints: fingerprints)
    }

    /// The sections of mlops.yaml that differ between the base and now. All of them when the
    /// file is new, unreadable at the base, or there is no base.
    private func configSectionsChanged(base: ChangeBase, paths: [ChangedPath]) throws -> [String] {
        guard paths.contains(where: { $0.path == configPath }) else { return [] }
        let all = MLOpsConfig.Key.allCases.map(\.rawValue)
        guard let mergeBase = base.mergeBase, let data = try repository.contents(of: configPath, in: mergeBase),
            let text = String(data: data, encoding: .utf8),
            let old = try? MLOpsConfig.parse(yaml: text, file: configPath, root: nil)
        else { return all }
        return config.sectionsDiffering(from: old)
    }

    private func affectedComponents(base: ChangeBase, paths: [ChangedPath], sections: [String]) -> [AffectedComponent] {
        let graph = ComponentGraph(config: config)
        if base.fallback != nil {
            return graph.components.map {
                AffectedComponent(component: $0, reasons: ["no usable base: everything counts as changed"])
            }
        }
        var seeds: [Component: [String]] = [:]
        func seed(_ components: [Component], _ reason: String) {
            for component in components { seeds[component, default: []].append(reason) }
        }
        for path in paths {
            for pathClass in path.classes {
                switch pathClass {
                case .data: seed([.exampleGen], "data changed: \(path.path)")
                case .schema: seed([.schemaGen, .importSchemaGen], "schema changed: \(path.path)")
                case .code: seed([.tuner, .trainer], "code changed: \(path.path)")
                case .config where path.path != configPath:
                    // A config file mlops cannot read section by section: assume it matters everywhere.
                    seed([.exampleGen, .importSchemaGen], "config changed: \(path.path)")
                case .config, .other: break
                }
            }
        }
        for section in sections {
            seed(Self.components(forSection: section), "\(configPath): '\(section)' changed")
        }
        let closure = graph.downstreamClosure(of: seeds.keys)
        return closure.map { component in
            if let reasons = seeds[component], graph.components.contains(component) {
                return AffectedComponent(component: component, reasons: reasons)
            }
            let parents = component.upstream.filter { closure.contains($0) }.map(\.rawValue)
            return AffectedComponent(
                component: component, reasons: ["downstream of " + parents.joined(separator: ", ")])
        }
    }

    /// The components a section of mlops.yaml configures (release, paths, cache, store, tracking, monitor and tests
    /// configure none).
    static func components(forSection section: String) -> [Component] {
        // The Trainer stores the decision threshold with the model (docs/gates.md).
        if section == "evaluation.decision_threshold" { return [.trainer] }
        return switch MLOpsConfig.Key(rawValue: section) {
        case .pipeline, .data: [.exampleGen]
        case .schema: [.schemaGen, .importSchemaGen]
        case .transform: [.transform]
        case .tuner: [.tuner]
        case .trainer: [.tuner, .trainer]
        case .evaluation: [.evaluator]
        case .infra, .serving: [.infraValidator]
        case .gates: [.exampleValidator, .evaluator, .infraValidator]
        case .release, .paths, .cache, .store, .orchestration, .tracking, .monitor, .tests, nil: []
        }
    }
}

/// Sorts paths into data, code, config, schema (possibly several) or other.
struct PathClassifier {
    let globs: [(PathClass, [PathGlob])]

    init(paths: PathsSection) {
        globs = [
            (.data, paths.data.map(PathGlob.init)), (.code, paths.code.map(PathGlob.init)),
            (.config, paths.config.map(PathGlob.init)), (.schema, paths.schema.map(PathGlob.init)),
        ]
    }

    /// The classes of a path; a rename counts for where it came from too (moving data out of
    /// `data/` changes the data).
    func classes(of path: String, renamedFrom oldPath: String? = nil) -> [PathClass] {
        let candidates = [path] + (oldPath.map { [$0] } ?? [])
        let matched = globs.filter { glob in
            candidates.contains { candidate in glob.1.contains { $0.matches(candidate) } }
        }.map(\.0)
        return matched.isEmpty ? [.other] : matched
    }
}

extension MLOpsConfig {
    /// The names of the top-level sections whose effective values differ from `other`'s.
    public func sectionsDiffering(from other: MLOpsConfig) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func same(_ a: some Encodable, _ b: some Encodable) -> Bool {
            (try? encoder.encode(a)) == (try? encoder.encode(b))
        }
        var changed: [String] = []
        if !same(pipeline, other.pipeline) { changed.append("pipeline") }
        if !same(data, other.data) { changed.append("data") }
        if !same(schema, other.schema) { changed.append("schema") }
        if !same(transform, other.transform) { changed.append("transform") }
        if !same(trainer, other.trainer) { changed.append("trainer") }
        if !same(tuner, other.tuner) { changed.append("tuner") }
        if !same(evaluation, other.evaluation) { changed.append("evaluation") }
        if (evaluation?.decisionThreshold ?? 0.5) != (other.evaluation?.decisionThreshold ?? 0.5) {
            changed.append("evaluation.decision_threshold")
        }
        if !same(infra, other.infra) { changed.append("infra") }
        if !same(serving, other.serving) { changed.append("serving") }
        if !same(gates, other.gates) { changed.append("gates") }
        if !same(release, other.release) { changed.append("release") }
        if !same(paths, other.paths) { changed.append("paths") }
        if !same(cache, other.cache) { changed.append("cache") }
        if !same(tests, other.tests) { changed.append("tests") }
        return changed
    }
}
