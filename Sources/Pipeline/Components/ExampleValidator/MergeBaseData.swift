import Foundation
import GitKit

/// The data sources at the merge-base of the change, which drift is measured against when
/// the sources have no `{SPAN}` (docs/gates.md): a pull request's data against its target
/// branch's, read from git without a checkout.
public struct MergeBaseData: Sendable {
    /// The repository's git directory (reopened to read the blobs).
    public var gitDirectory: String
    /// The merge-base commit.
    public var commit: ObjectID
    /// Each source file (relative to the root) and its blob at the merge-base; empty when
    /// drift is not measured (see `label`).
    public var files: [(path: String, blob: ObjectID)]
    /// `the data at the merge-base 1a2b3c4d5e6f`, or why drift is not measured against it:
    /// `the data sources are unchanged since the merge-base …`, `… not at the merge-base …`.
    public var label: String
    public var measured: Bool { !files.isEmpty }

    public init(gitDirectory: String, commit: ObjectID, files: [(path: String, blob: ObjectID)], label: String) {
        self.gitDirectory = gitDirectory
        self.commit = commit
        self.files = files
        self.label = label
    }

    /// The merge-base's versions of `sources` (paths relative to the work tree), found as
    /// `mlops changes` finds its base (`$GITHUB_BASE_REF`, `$MLOPS_BASE`, …, the default
    /// branch). Nil without a merge-base; not measured when every file is as it was there or
    /// none existed there.
    public static func find(
        repository: Repository, snapshot: RepositorySnapshot, sources: [String], environment: [String: String]
    ) throws -> MergeBaseData? {
        let change = try ChangeBase.resolve(
            in: repository, head: try repository.head(), explicit: nil, environment: environment)
        guard let mergeBase = change.mergeBase else { return nil }
        var files: [(path: String, blob: ObjectID)] = []
        var changed = false
        for path in sources where !path.hasPrefix("/") {
            guard let blob = try repository.blobID(at: path, in: mergeBase) else {
                changed = true
                continue
            }
            files.append((path, blob))
            if try snapshot.fingerprint(path) != "git:\(blob.hex)" { changed = true }
        }
        let at = "the merge-base \(mergeBase.short)"
        func unmeasured(_ reason: String) -> MergeBaseData {
            MergeBaseData(gitDirectory: repository.gitDirectory, commit: mergeBase, files: [], label: reason)
        }
        if files.isEmpty { return unmeasured("the data sources are not at \(at)") }
        if !changed { return unmeasured("the data sources are unchanged since \(at)") }
        return MergeBaseData(
            gitDirectory: repository.gitDirectory, commit: mergeBase, files: files, label: "the data at \(at)")
    }
}
