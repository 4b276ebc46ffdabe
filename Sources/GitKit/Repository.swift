internal import CGit2
import Foundation

/// Process-wide libgit2 setup, done once and explicitly: every ``Repository`` initializer
/// touches ``LibGit2/ensureInitialized()``.
public enum LibGit2 {
    // `git_libgit2_init` is reference-counted and thread-safe; one call for the life of the
    // process is enough (libgit2 docs: "must be called before any other libgit2 function").
    private static let initialized: Int32 = git_libgit2_init()

    public static func ensureInitialized() {
        _ = initialized
    }

    /// libgit2's version, e.g. "1.5.1".
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        git_libgit2_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Turns libgit2's repository-ownership check (git's `safe.directory`) on or off for the
    /// whole process. Off is for tools that were told explicitly to trust a path.
    public static func setOwnerValidation(_ enabled: Bool) throws(GitError) {
        ensureInitialized()
        try check(cgit2_set_owner_validation(enabled ? 1 : 0), "git_libgit2_opts", object: "owner validation")
    }
}

/// A git repository, owning its `git_repository` handle.
///
/// Per-call libgit2 objects (commits, trees, diffs, references, the index) are freed with
/// `defer` right after they are acquired and converted to Swift values before returning.
/// Not thread-safe: libgit2 forbids sharing one `git_repository` across threads without locking.
public final class Repository {
    // Owned: freed once in deinit with git_repository_free (libgit2 docs: "free a previously
    // allocated repository"). Never nil for a live instance.
    let handle: OpaquePointer
    /// The path this repository was opened from, for messages.
    public let openedFrom: String

    init(handle: OpaquePointer, openedFrom: String) {
        self.handle = handle
        self.openedFrom = openedFrom
    }

    deinit {
        git_repository_free(handle)
    }

    // MARK: - Opening and creating

    /// Opens the repository that contains `path`, searching parent folders like git does.
    public static func discover(from path: String) throws(GitError) -> Repository {
        try open(path, flags: 0)
    }

    /// Opens the repository whose work tree or git directory is exactly `path`.
    public static func open(at path: String) throws(GitError) -> Repository {
        try open(path, flags: GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue)
    }

    private static func open(_ path: String, flags: UInt32) throws(GitError) -> Repository {
        LibGit2.ensureInitialized()
        var repo: OpaquePointer?
        let rc = git_repository_open_ext(&repo, path, flags, nil)
        do {
            try check(rc, "git_repository_open_ext", object: path)
        } catch {
            // The checking function has already told an ownership refusal (which libgit2 1.5
            // reports as GIT_ENOTFOUND with a safe.directory message) from a missing repository.
            guard error.code == .notFound else { throw error }
            throw GitError(
                code: .notARepository, function: "git_repository_open_ext", detail: error.detail, object: path)
        }
        guard let repo else {
            throw GitError(code: .other(-1), function: "git_repository_open_ext", detail: "no handle", object: path)
        }
        return Repository(handle: repo, openedFrom: path)
    }

    /// Creates a repository (with a work tree) at `path`, making folders as needed; HEAD
    /// points at `initialBranch`, which has no commits yet.
    public static func create(at path: String, initialBranch: String = "main") throws(GitError) -> Repository {
        LibGit2.ensureInitialized()
        var options = git_repository_init_options()
        try check(
            git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)),
            "git_repository_init_options_init", object: path)
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | GIT_REPOSITORY_INIT_MKDIR.rawValue
        var repo: OpaquePointer?
        let rc = initialBranch.withCString { branch in
            options.initial_head = branch
            return git_repository_init_ext(&repo, path, &options)
        }
        try check(rc, "git_repository_init_ext", object: path)
        guard let repo else {
            throw GitError(code: .other(-1), function: "git_repository_init_ext", detail: "no handle", object: path)
        }
        return Repository(handle: repo, openedFrom: path)
    }

    /// Clones the repository at `source` (a path or URL libgit2's transports reach; a local
    /// path copies the objects) into `path`, checking out its HEAD, like `git clone`.
    public static func clone(from source: String, to path: String) throws(GitError) -> Repository {
        LibGit2.ensureInitialized()
        var repo: OpaquePointer?
        try check(git_clone(&repo, source, path, nil), "git_clone", object: source)
        guard let repo else {
            throw GitError(code: .other(-1), function: "git_clone", detail: "no handle", object: source)
        }
        return Repository(handle: repo, openedFrom: path)
    }

    // MARK: - Facts

    /// The work tree, without a trailing slash; nil for a bare repository.
    public var workingDirectory: String? {
        guard let path = string(git_repository_workdir(handle)) else { return nil }
        return path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    /// The `.git` directory.
    public var gitDirectory: String {
        let path = string(git_repository_path(handle)) ?? openedFrom
        return path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    public var isBare: Bool { git_repository_is_bare(handle) == 1 }
    public var isShallow: Bool { git_repository_is_shallow(handle) == 1 }
    /// True when the repository has no commits at all: HEAD is unborn and no branch exists.
    /// (libgit2's `git_repository_is_empty` only recognises an unborn `init.defaultBranch`.)
    public var isEmpty: Bool {
        guard git_repository_head_unborn(handle) == 1 else { return false }
        return (try? referenceNames().allSatisfy { !$0.hasPrefix("refs/heads/") }) ?? false
    }

    /// What HEAD points at.
    public func head() throws(GitError) -> Head {
        if git_repository_head_unborn(handle) == 1 {
            var ref: OpaquePointer?
            try check(git_reference_lookup(&ref, handle, "HEAD"), "git_reference_lookup", object: "HEAD")
            defer { git_reference_free(ref) }
            let target = string(git_reference_symbolic_target(ref)) ?? "refs/heads/main"
            return .unborn(branch: Self.shortBranchName(target))
        }
        var ref: OpaquePointer?
        try check(git_repository_head(&ref, handle), "git_repository_head", object: "HEAD")
        defer { git_reference_free(ref) }
        guard let oid = git_reference_target(ref) else {
            throw GitError(
                code: .other(-1), function: "git_reference_target", detail: "HEAD is symbolic", object: "HEAD")
        }
        let commit = ObjectID(oid.pointee)
        if git_repository_head_detached(handle) == 1 {
            return .detached(commit: commit)
        }
        let name = string(git_reference_name(ref)) ?? "HEAD"
        return .branch(name: Self.shortBranchName(name), commit: commit)
    }

    static func shortBranchName(_ ref: String) -> String {
        ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : ref
    }

    /// The commit a revision names (`main`, `origin/main`, `HEAD~2`, a hex id), peeled to a commit.
    public func resolveCommit(_ revision: String) throws(GitError) -> ObjectID {
        var object: OpaquePointer?
        try check(git_revparse_single(&object, handle, revision), "git_revparse_single", object: revision)
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "git_object_peel", object: revision)
        defer { git_object_free(commit) }
        guard let oid = git_object_id(commit) else {
            throw GitError(code: .other(-1), function: "git_object_id", detail: "no id", object: revision)
        }
        return ObjectID(oid.pointee)
    }

    /// The target of a symbolic reference (e.g. `refs/remotes/origin/HEAD` → `refs/remotes/origin/main`).
    public func symbolicTarget(of name: String) throws(GitError) -> String? {
        var ref: OpaquePointer?
        try check(git_reference_lookup(&ref, handle, name), "git_reference_lookup", object: name)
        defer { git_reference_free(ref) }
        return string(git_reference_symbolic_target(ref))
    }

    /// Whether the commit object is present locally (a shallow clone may lack it).
    public func hasCommit(_ id: ObjectID) -> Bool {
        var oid = id.oid
        var commit: OpaquePointer?
        guard git_commit_lookup(&commit, handle, &oid) == 0 else { return false }
        git_commit_free(commit)
        return true
    }

    /// A commit's committer time, in seconds since 1970 (UTC).
    public func commitTime(_ id: ObjectID) throws(GitError) -> Int64 {
        var oid = id.oid
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, handle, &oid), "git_commit_lookup", object: id.hex)
        defer { git_commit_free(commit) }
        return Int64(git_commit_time(commit))
    }

    /// A configuration value as git resolves it (repository, then global and system files);
    /// nil when unset.
    public func configValue(_ key: String) throws(GitError) -> String? {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, handle), "git_repository_config_snapshot", object: key)
        defer { git_config_free(config) }
        var value: UnsafePointer<CChar>?
        let rc = git_config_get_string(&value, config, key)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try check(rc, "git_config_get_string", object: key)
        return string(value)
    }

    /// The names of all references (`refs/heads/main`, `refs/remotes/origin/main`, `refs/tags/v1`).
    public func referenceNames() throws(GitError) -> [String] {
        var array = git_strarray()
        try check(git_reference_list(&array, handle), "git_reference_list", object: gitDirectory)
        defer { git_strarray_dispose(&array) }
        var names: [String] = []
        for index in 0..<array.count {
            if let name = string(array.strings[index]) { names.append(name) }
        }
        return names.sorted()
    }

    /// The best common ancestor of two commits; nil when they share no history (or the
    /// history is cut off, as in a shallow clone).
    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(GitError) -> ObjectID? {
        var result = git_oid()
        var one = a.oid
        var two = b.oid
        let rc = git_merge_base(&result, handle, &one, &two)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try check(rc, "git_merge_base", object: "\(a.short)...\(b.short)")
        return ObjectID(result)
    }

    /// The URL of a remote with any user name and password removed; nil when there is no such remote.
    public func remoteURL(_ name: String = "origin") throws(GitError) -> String? {
        var remote: OpaquePointer?
        let rc = git_remote_lookup(&remote, handle, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue { return nil }
        try check(rc, "git_remote_lookup", object: name)
        defer { git_remote_free(remote) }
        return string(git_remote_url(remote)).map(Self.strippingCredentials)
    }

    /// `https://user:token@host/x` → `https://host/x`; scp-like `git@host:x` is kept (no secret in it).
    public static func strippingCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<hostEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }

    // MARK: - Helpers

    func optionalTree(_ commit: ObjectID?) throws(GitError) -> OpaquePointer? {
        guard let commit else { return nil }
        return try tree(of: commit)
    }

    func tree(of commit: ObjectID) throws(GitError) -> OpaquePointer {
        var oid = commit.oid
        var commitObject: OpaquePointer?
        try check(git_commit_lookup(&commitObject, handle, &oid), "git_commit_lookup", object: commit.hex)
        defer { git_commit_free(commitObject) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commitObject), "git_commit_tree", object: commit.hex)
        guard let tree else {
            throw GitError(code: .other(-1), function: "git_commit_tree", detail: "no tree", object: commit.hex)
        }
        return tree
    }

    func openIndex() throws(GitError) -> OpaquePointer {
        var index: OpaquePointer?
        try check(git_repository_index(&index, handle), "git_repository_index", object: gitDirectory)
        guard let index else {
            throw GitError(code: .other(-1), function: "git_repository_index", detail: "no index", object: gitDirectory)
        }
        return index
    }
}
