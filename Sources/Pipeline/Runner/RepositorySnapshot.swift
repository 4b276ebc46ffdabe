import Foundation
import GitKit

/// The repository as a run sees it: HEAD, whether the tree is dirty, and the fingerprint of
/// any path (a tracked, unmodified file's blob id; otherwise a content hash), safe to ask
/// from the runner's threads.
public final class RepositorySnapshot: @unchecked Sendable {
    public let commit: String?
    public let branch: String?
    public let dirty: Bool
    // Fingerprinter builds a path table lazily; the lock makes it safe across threads.
    private let fingerprinter: Fingerprinter
    private let lock = NSLock()

    /// - Parameter cache: remembers hashes of modified and untracked files between runs.
    public init(repository: Repository, cache: (any ContentHashCache)? = nil) throws {
        let head = try repository.head()
        commit = head.commit?.description
        branch = head.branchName
        let status = try repository.status(against: head.commit)
        dirty = status.isDirty
        fingerprinter = try Fingerprinter(repository: repository, entries: status.entries, unstaged: status.unstaged)
        fingerprinter.cache = cache
    }

    /// `git:<blob id>`, `lfs:<oid>` or `sha256:<digest>` of a repository path; nil when absent.
    public func fingerprint(_ path: String) throws -> String? {
        lock.lock()
        defer { lock.unlock() }
        return try fingerprinter.fingerprint(of: path)?.value
    }
}
