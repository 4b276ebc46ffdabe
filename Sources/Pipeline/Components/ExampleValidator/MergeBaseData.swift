import Foundation
import GitKit

/// The data sources at the merge-base of the change, which drift is measured against when
/// the sources have no `{SPAN}` (docs/gates.md): a pull request's data against its target
/// branch's, read from git without a checkout.
public struct MergeBaseData: Sendable {
    /// The repository's git directory (reopened to read the blobs).
    public var gitDirectory: String
    /// The merge-base commit; nil when a base was asked for and none was found.
    public var commit: ObjectID?
    /// Each source file at the merge-base (relative to the root) and its blob; empty when
    /// drift is not measured (see `label`).
    public var files: [(path: String, blob: ObjectID)]
    /// `the data at the merge-base 1a2b3c4d5e6f`, or why drift is not measured against it:
    /// `the data sources are unchanged since the merge-base …`, `no merge-base: …`.
    public var label: String
    public var measured: Bool { !files.isEmpty }

    public init(gitDirectory: String, commit: ObjectID?, files: [(path: String, blob: ObjectID)], label: String) {
        self.gitDirectory = gitDirectory
        self.commit = commit
        self.files = files
        self.label = label
    }

    /// The files `patterns` (the `data.sources` globs) match at the merge-base, found as
    /// `mlops changes` finds its base (`$GITHUB_BASE_REF`, `$MLOPS_BASE`, …, the default
    /// branch): a file renamed or replaced on the branch is still compared with what the
    /// sources held there. `current` are the files read now. Nil when no base was asked for
    /// and there is no default branch; not measured when the data is as it was there, none
    /// existed there, it is in Git LFS, or a base was asked for and not found.
    public static func find(
        repository: Repository, snapshot: RepositorySnapshot, patterns: [String], current: [String],
        environment: [String: String]
    ) throws -> MergeBaseData? {
        let change = try ChangeBase.resolve(
            in: repository, head: try repository.head(), explicit: nil, environment: environment)
        func unmeasured(_ commit: ObjectID?, _ reason: String) -> MergeBaseData {
            MergeBaseData(gitDirectory: repository.gitDirectory, commit: commit, files: [], label: reason)
        }
        guard let mergeBase = change.mergeBase else {
            // A pull request's base that cannot be found is said, not passed over in silence.
            guard ChangeBase.isRequested(in: environment), let fallback = change.fallback else { return nil }
            return unmeasured(nil, "no merge-base: \(fallback)")
        }
        let compiled = patterns.filter { !$0.hasPrefix("/") }.map(SpanPattern.init)
        var files: [(path: String, blob: ObjectID)] = []
        for entry in try repository.changes(from: nil, to: mergeBase)
        where compiled.contains(where: { $0.match(entry.path) != nil }) {
            guard let blob = try repository.blobID(at: entry.path, in: mergeBase) else { continue }
            files.append((entry.path, blob))
        }
        files.sort { $0.path < $1.path }
        let at = "the merge-base \(mergeBase.short)"
        if files.isEmpty { return unmeasured(mergeBase, "the data sources are not at \(at)") }
        if try files.contains(where: { try repository.attribute("filter", for: $0.path) == "lfs" }) {
            return unmeasured(mergeBase, "the data sources at \(at) are in Git LFS, which drift does not read")
        }
        let sameFiles = Set(files.map(\.path)) == Set(current)
        let unchanged = try sameFiles && files.allSatisfy { try snapshot.fingerprint($0.path) == "git:\($0.blob.hex)" }
        if unchanged { return unmeasured(mergeBase, "the data sources are unchanged since \(at)") }
        return MergeBaseData(
            gitDirectory: repository.gitDirectory, commit: mergeBase, files: files, label: "the data at \(at)")
    }
}
