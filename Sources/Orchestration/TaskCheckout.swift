import Foundation
import GitKit
import MLOpsCore

/// The fresh clone an orchestrator's task works in (`mlops component run --repository`):
/// cloned with libgit2, the revision checked out detached, removed afterwards unless the
/// caller chose the folder.
public final class TaskCheckout {
    public let repository: Repository
    public let folder: URL
    public let commit: ObjectID
    private let keep: Bool

    /// Clones `source` into `folder` (which must be absent or empty), else a new temporary
    /// folder, and checks out `revision` (a commit, branch or tag; a branch is the remote's).
    public init(cloning source: String, revision: String?, into folder: URL?) throws {
        let manager = FileManager.default
        let target =
            folder
            ?? manager.temporaryDirectory.appendingPathComponent(
                "mlops-task-\(UUID().uuidString.prefix(8).lowercased())", isDirectory: true)
        if let folder, let entries = try? manager.contentsOfDirectory(atPath: folder.path), !entries.isEmpty {
            throw FileError(
                .notWritable, path: folder.path, detail: "is not empty; --workdir takes an empty or new folder",
                hint: "remove it or choose another folder")
        }
        keep = folder != nil
        self.folder = target
        do {
            repository = try Repository.clone(from: source, to: target.path)
            if let revision {
                let commit: ObjectID
                do { commit = try repository.resolveCommit("origin/" + revision) } catch {
                    do { commit = try repository.resolveCommit(revision) } catch {
                        throw UsageError(
                            "--revision '\(revision)' is not a commit, branch or tag of \(source)",
                            hint: "pass the commit the pipeline run is for (a CI trigger's commit SHA)")
                    }
                }
                try repository.checkout(detachedAt: commit)
            }
            guard let head = try repository.head().commit else {
                throw GitError(
                    code: .other(-1), function: "git_clone", detail: "the repository has no commit", object: source)
            }
            commit = head
        } catch {
            if !keep { try? manager.removeItem(at: target) }
            throw error
        }
    }

    /// Removes the clone when it was made in a temporary folder.
    public func removeUnlessKept() {
        guard !keep else { return }
        try? FileManager.default.removeItem(at: folder)
    }
}
