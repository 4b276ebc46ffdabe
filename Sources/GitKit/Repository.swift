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

    private init(handle: OpaquePointer, openedFrom: String) {
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

    private static func shortBranchName(_ ref: String) -> String {
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

    // MARK: - Diffs

    /// Paths that differ between two commits' trees, with renames detected. `from` nil means
    /// the empty tree (everything in `to` is added).
    public func changes(from: ObjectID?, to: ObjectID) throws(GitError) -> [FileChange] {
        let oldTree = try optionalTree(from)
        defer { if let oldTree { git_tree_free(oldTree) } }
        let newTree = try tree(of: to)
        defer { git_tree_free(newTree) }
        var options = try diffOptions(untracked: false)
        // libgit2's tree diff reads every subtree on both sides, identical ones too. Walk only
        // the subtrees whose ids differ to find the paths that changed, then have libgit2 diff
        // exactly those (it still pairs renames among them).
        var paths: [String] = []
        var pathspec: [UnsafeMutablePointer<CChar>?] = []
        defer { pathspec.forEach { free($0) } }
        if let oldTree, try differingPaths(oldTree, newTree, under: "", into: &paths) {
            if paths.isEmpty { return [] }
            options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
            pathspec = paths.map { strdup($0) }
        }
        var diff: OpaquePointer?
        let rc = pathspec.withUnsafeMutableBufferPointer { buffer in
            if !buffer.isEmpty { options.pathspec = git_strarray(strings: buffer.baseAddress, count: buffer.count) }
            return git_diff_tree_to_tree(&diff, handle, oldTree, newTree, &options)
        }
        try check(rc, "git_diff_tree_to_tree", object: "\(from?.short ?? "empty")..\(to.short)")
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: true)
    }

    /// The paths of blobs that differ between two trees, descending only into subtrees whose
    /// ids differ. False (give up: diff everything) past `limit` paths.
    private func differingPaths(
        _ old: OpaquePointer, _ new: OpaquePointer, under prefix: String, into paths: inout [String],
        limit: Int = 512
    ) throws(GitError) -> Bool {
        var oldEntries: [String: (id: git_oid, mode: UInt32)] = [:]
        for position in 0..<git_tree_entrycount(old) {
            guard let entry = git_tree_entry_byindex(old, position), let name = string(git_tree_entry_name(entry)),
                let id = git_tree_entry_id(entry)
            else { continue }
            oldEntries[name] = (id.pointee, git_tree_entry_filemode(entry).rawValue)
        }
        let folder = GIT_FILEMODE_TREE.rawValue
        for position in 0..<git_tree_entrycount(new) {
            guard let entry = git_tree_entry_byindex(new, position), let name = string(git_tree_entry_name(entry)),
                let idPointer = git_tree_entry_id(entry)
            else { continue }
            var id = idPointer.pointee
            let mode = git_tree_entry_filemode(entry).rawValue
            let path = prefix + name
            if var previous = oldEntries.removeValue(forKey: name) {
                if git_oid_equal(&previous.id, &id) == 1 && previous.mode == mode { continue }
                if previous.mode == folder && mode == folder {
                    let oldFolder = try lookupTree(previous.id, path)
                    defer { git_tree_free(oldFolder) }
                    let newFolder = try lookupTree(id, path)
                    defer { git_tree_free(newFolder) }
                    guard try differingPaths(oldFolder, newFolder, under: path + "/", into: &paths, limit: limit)
                    else { return false }
                    continue
                }
                // A blob became a folder or the other way round: everything on the old side too.
                if previous.mode == folder { try everyPath(in: previous.id, path, into: &paths) }
            }
            if mode == folder { try everyPath(in: id, path, into: &paths) } else { paths.append(path) }
            if paths.count > limit { return false }
        }
        for (name, previous) in oldEntries {
            let path = prefix + name
            if previous.mode == folder {
                try everyPath(in: previous.id, path, into: &paths)
            } else {
                paths.append(path)
            }
        }
        return paths.count <= limit
    }

    /// Every blob path under a tree.
    private func everyPath(in treeID: git_oid, _ prefix: String, into paths: inout [String]) throws(GitError) {
        let tree = try lookupTree(treeID, prefix)
        defer { git_tree_free(tree) }
        for position in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, position), let name = string(git_tree_entry_name(entry)),
                let id = git_tree_entry_id(entry)
            else { continue }
            if git_tree_entry_filemode(entry).rawValue == GIT_FILEMODE_TREE.rawValue {
                try everyPath(in: id.pointee, prefix + "/" + name, into: &paths)
            } else {
                paths.append(prefix + "/" + name)
            }
        }
    }

    private func lookupTree(_ id: git_oid, _ path: String) throws(GitError) -> OpaquePointer {
        var oid = id
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, &oid), "git_tree_lookup", object: path)
        guard let tree else {
            throw GitError(code: .other(-1), function: "git_tree_lookup", detail: "no tree", object: path)
        }
        return tree
    }

    /// Paths that differ between a commit's tree and the working directory, staged and
    /// unstaged together; untracked files are included (recursively, honouring .gitignore)
    /// when `includeUntracked`. `from` nil means the empty tree.
    public func workingTreeChanges(from: ObjectID?, includeUntracked: Bool = true) throws(GitError) -> [FileChange] {
        let baseTree = try optionalTree(from)
        defer { if let baseTree { git_tree_free(baseTree) } }
        var options = try diffOptions(untracked: includeUntracked)
        var diff: OpaquePointer?
        try check(
            git_diff_tree_to_workdir_with_index(&diff, handle, baseTree, &options),
            "git_diff_tree_to_workdir_with_index",
            object: workingDirectory ?? openedFrom)
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: true)
    }

    /// Paths that differ between the index and the working directory: unstaged modifications and
    /// deletions, and (when `includeUntracked`) untracked files, recursively, honouring .gitignore.
    /// A nested repository or submodule is reported as one path, not descended into.
    ///
    /// With ``StatusStrategy/preloaded`` (the default) only the paths whose stat data differ
    /// from the index's record are diffed by libgit2; the answer is the same (a differential
    /// test compares the two strategies).
    public func unstagedChanges(
        includeUntracked: Bool = true, strategy: StatusStrategy = .preloaded
    ) throws(GitError) -> [FileChange] {
        if strategy == .preloaded, let outcome = try preloadedChanges(includeUntracked: includeUntracked) {
            return outcome.changes
        }
        var options = try diffOptions(untracked: includeUntracked)
        var diff: OpaquePointer?
        try check(
            git_diff_index_to_workdir(&diff, handle, nil, &options), "git_diff_index_to_workdir",
            object: workingDirectory ?? openedFrom)
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: false)
    }

    /// Everything `git status` knows, with the index read once: what is staged against
    /// `head` (nil: an unborn branch, everything staged is added), what is unstaged and
    /// untracked, and the index's entries.
    public func status(against head: ObjectID?, includeUntracked: Bool = true) throws(GitError) -> WorkTreeStatus {
        let file = readIndexFile()
        let unstaged: [FileChange]
        if let file, let outcome = try preloadedChanges(includeUntracked: includeUntracked, index: file) {
            unstaged = outcome.changes
        } else {
            unstaged = try unstagedChanges(includeUntracked: includeUntracked, strategy: .libgit2)
        }
        let staged: [FileChange]
        if let head, let cached = file?.cacheTreeRoot, cached == (try treeID(of: head)) {
            staged = []
        } else {
            staged = try stagedChanges(from: head, useCacheTree: false)
        }
        let entries: [IndexEntry]
        if let file { entries = Self.entries(of: file) } else { entries = try indexEntries() }
        return WorkTreeStatus(staged: staged, unstaged: unstaged, entries: entries)
    }

    /// ``WorkTreeScan``'s answer, or nil when it hands the whole question to libgit2.
    func preloadedChanges(includeUntracked: Bool, index: IndexFile? = nil) throws(GitError) -> WorkTreeScan.Outcome? {
        guard let root = git_repository_workdir(handle), let index = index ?? readIndexFile() else {
            return nil
        }
        let workdir = Array(
            UnsafeBufferPointer(start: UnsafeRawPointer(root).assumingMemoryBound(to: UInt8.self), count: strlen(root)))
        return try WorkTreeScan(repository: self, index: index, workdir: workdir)
            .changes(includeUntracked: includeUntracked)
    }

    /// The index file as git wrote it (see ``IndexFile``); nil when libgit2 must read it.
    func readIndexFile() -> IndexFile? {
        IndexFile.read(at: gitDirectory + "/index")
    }

    /// The index-to-work-tree changes of exactly these tracked paths (no pattern matching,
    /// no untracked files): how ``WorkTreeScan`` has libgit2 decide the paths it could not.
    func unstagedChanges(exactly paths: [String]) throws(GitError) -> [FileChange] {
        var options = try diffOptions(untracked: false)
        options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
        let copies = paths.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var diff: OpaquePointer?
        let rc = copies.withUnsafeBufferPointer { buffer in
            options.pathspec = git_strarray(
                strings: UnsafeMutablePointer(mutating: buffer.baseAddress), count: buffer.count)
            return git_diff_index_to_workdir(&diff, handle, nil, &options)
        }
        try check(rc, "git_diff_index_to_workdir", object: workingDirectory ?? openedFrom)
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: false)
    }

    /// Paths staged in the index relative to a commit's tree (what `git diff --cached` lists).
    ///
    /// When the index's cached tree (git's cache-tree, kept by `git commit`, checkout and
    /// clone) says the index is exactly `from`'s tree, the answer is known without a diff.
    public func stagedChanges(from: ObjectID?) throws(GitError) -> [FileChange] {
        try stagedChanges(from: from, useCacheTree: true)
    }

    private func stagedChanges(from: ObjectID?, useCacheTree: Bool) throws(GitError) -> [FileChange] {
        if useCacheTree, let from, let cached = readIndexFile()?.cacheTreeRoot, cached == (try treeID(of: from)) {
            return []
        }
        let baseTree = try optionalTree(from)
        defer { if let baseTree { git_tree_free(baseTree) } }
        var options = try diffOptions(untracked: false)
        var diff: OpaquePointer?
        try check(
            git_diff_tree_to_index(&diff, handle, baseTree, nil, &options), "git_diff_tree_to_index", object: "index")
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: true)
    }

    func treeID(of commit: ObjectID) throws(GitError) -> ObjectID {
        var oid = commit.oid
        var commitObject: OpaquePointer?
        try check(git_commit_lookup(&commitObject, handle, &oid), "git_commit_lookup", object: commit.hex)
        defer { git_commit_free(commitObject) }
        guard let tree = git_commit_tree_id(commitObject) else {
            throw GitError(code: .other(-1), function: "git_commit_tree_id", detail: "no tree", object: commit.hex)
        }
        return ObjectID(tree.pointee)
    }

    private func diffOptions(untracked: Bool) throws(GitError) -> git_diff_options {
        var options = git_diff_options()
        try check(
            git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "git_diff_options_init", object: "")
        // Report a file that became a symlink (or back) as one type change, not a delete and an add.
        options.flags |= GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
        if untracked {
            options.flags |= GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
        }
        return options
    }

    private func collect(_ diff: OpaquePointer?, detectRenames: Bool) throws(GitError) -> [FileChange] {
        if detectRenames {
            var find = git_diff_find_options()
            try check(
                git_diff_find_options_init(&find, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION)), "git_diff_find_options_init",
                object: "")
            find.flags = GIT_DIFF_FIND_RENAMES.rawValue | GIT_DIFF_FIND_FOR_UNTRACKED.rawValue
            try check(git_diff_find_similar(diff, &find), "git_diff_find_similar", object: "diff")
        }
        var changes: [FileChange] = []
        let count = git_diff_num_deltas(diff)
        for index in 0..<count {
            guard let delta = git_diff_get_delta(diff, index)?.pointee else { continue }
            let newPath = string(delta.new_file.path) ?? ""
            let oldPath = string(delta.old_file.path) ?? newPath
            let newID = ObjectID(delta.new_file.id)
            let knownID = newID.isZero ? nil : newID
            let status: FileChange.Status
            switch delta.status {
            case GIT_DELTA_ADDED: status = .added
            case GIT_DELTA_DELETED: status = .deleted
            case GIT_DELTA_MODIFIED: status = .modified
            case GIT_DELTA_RENAMED: status = .renamed
            case GIT_DELTA_COPIED: status = .copied
            case GIT_DELTA_TYPECHANGE: status = .typeChanged
            case GIT_DELTA_UNTRACKED: status = .untracked
            case GIT_DELTA_CONFLICTED: status = .conflicted
            default: continue  // unmodified, ignored, unreadable: not a change
            }
            let gitlink = UInt32(GIT_FILEMODE_COMMIT.rawValue)
            let isSubmodule = UInt32(delta.new_file.mode) == gitlink || UInt32(delta.old_file.mode) == gitlink
            var path = status == .deleted ? oldPath : newPath
            // A directory reported whole (an untracked nested repository) is a submodule-like path.
            let nestedRepository = status == .untracked && path.hasSuffix("/")
            if path.hasSuffix("/") { path.removeLast() }
            changes.append(
                FileChange(
                    status: status, path: path,
                    oldPath: status == .renamed || status == .copied ? oldPath : nil, newID: knownID,
                    isSubmodule: isSubmodule || nestedRepository))
        }
        return changes
    }

    // MARK: - Blobs

    /// The blob id of `path` in a commit's tree, read from the tree without hashing; nil
    /// when the path is not in that commit.
    public func blobID(at path: String, in commit: ObjectID) throws(GitError) -> ObjectID? {
        let tree = try tree(of: commit)
        defer { git_tree_free(tree) }
        var entry: OpaquePointer?
        let rc = git_tree_entry_bypath(&entry, tree, path)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try check(rc, "git_tree_entry_bypath", object: path)
        defer { git_tree_entry_free(entry) }
        guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB, let oid = git_tree_entry_id(entry) else { return nil }
        return ObjectID(oid.pointee)
    }

    /// The blob id of `path` as staged in the index (stage 0), without hashing; nil when not staged.
    public func indexBlobID(at path: String) throws(GitError) -> ObjectID? {
        let index = try openIndex()
        defer { git_index_free(index) }
        guard let entry = git_index_get_bypath(index, path, 0) else { return nil }
        return ObjectID(entry.pointee.id)
    }

    /// Every entry of the index (stage 0), in path order: the tracked files and their blob ids,
    /// read without touching the work tree.
    public func indexEntries() throws(GitError) -> [IndexEntry] {
        if let file = readIndexFile() { return Self.entries(of: file) }
        return try libgit2IndexEntries()
    }

    /// The same, as libgit2 reads the index (the reference ``IndexFile`` is tested against).
    func libgit2IndexEntries() throws(GitError) -> [IndexEntry] {
        let index = try openIndex()
        defer { git_index_free(index) }
        let count = git_index_entrycount(index)
        var entries: [IndexEntry] = []
        entries.reserveCapacity(count)
        for position in 0..<count {
            guard let entry = git_index_get_byindex(index, position)?.pointee, let path = string(entry.path) else {
                continue
            }
            // Stage bits (conflicts) live in flags; keep stage 0 only.
            guard (entry.flags >> 12) & 0x3 == 0 else { continue }
            entries.append(
                IndexEntry(path: path, id: ObjectID(entry.id), mode: entry.mode, recordedSize: entry.file_size))
        }
        return entries
    }

    private static func entries(of file: IndexFile) -> [IndexEntry] {
        var entries: [IndexEntry] = []
        entries.reserveCapacity(file.entries.count)
        for (position, entry) in file.entries.enumerated() where entry.stage == 0 {
            entries.append(
                IndexEntry(path: file.pathString(position), id: entry.id, mode: entry.mode, recordedSize: entry.size))
        }
        return entries
    }

    /// The value of a git attribute (from .gitattributes) for a path, e.g. `filter` → "lfs";
    /// nil when unset.
    public func attribute(_ name: String, for path: String) throws(GitError) -> String? {
        var value: UnsafePointer<CChar>?
        try check(
            git_attr_get(&value, handle, UInt32(GIT_ATTR_CHECK_FILE_THEN_INDEX), path, name), "git_attr_get",
            object: path)
        switch git_attr_value(value) {
        case GIT_ATTR_VALUE_STRING: return string(value)
        case GIT_ATTR_VALUE_TRUE: return "true"
        case GIT_ATTR_VALUE_FALSE: return "false"
        default: return nil
        }
    }

    /// The bytes of a blob by id, or nil when it is larger than `limit` (so a caller peeking
    /// for small pointer files never reads a large blob into memory).
    public func blobContents(_ id: ObjectID, limit: Int) throws(GitError) -> Data? {
        var oid = id.oid
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, &oid), "git_blob_lookup", object: id.hex)
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size <= limit else { return nil }
        guard size > 0, let bytes = git_blob_rawcontent(blob) else { return Data() }
        return Data(bytes: bytes, count: size)
    }

    /// The blob id git would give the file's current content (hashes the file).
    public func hashFile(at path: String) throws(GitError) -> ObjectID {
        var oid = git_oid()
        try check(
            git_repository_hashfile(&oid, handle, path, GIT_OBJECT_BLOB, nil), "git_repository_hashfile", object: path)
        return ObjectID(oid)
    }

    /// The bytes of `path` as it was in a commit, read from the object database (no checkout).
    public func contents(of path: String, in commit: ObjectID) throws(GitError) -> Data? {
        guard let id = try blobID(at: path, in: commit) else { return nil }
        var oid = id.oid
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, handle, &oid), "git_blob_lookup", object: path)
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let bytes = git_blob_rawcontent(blob) else { return Data() }
        return Data(bytes: bytes, count: size)
    }

    // MARK: - Writing: staging, commits, branches

    /// Stages every change in the work tree (new, modified and deleted files), honouring .gitignore,
    /// like `git add --all`.
    public func stageAll() throws(GitError) {
        let index = try openIndex()
        defer { git_index_free(index) }
        var everything = git_strarray(strings: nil, count: 0)
        try check(
            git_index_add_all(index, &everything, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil), "git_index_add_all",
            object: workingDirectory ?? openedFrom)
        try check(git_index_update_all(index, &everything, nil, nil), "git_index_update_all", object: "index")
        try check(git_index_write(index), "git_index_write", object: "index")
    }

    /// Rewrites the index in another on-disk format version (2, 3 or 4), as
    /// `git update-index --index-version` does.
    func rewriteIndex(version: UInt32) throws(GitError) {
        let index = try openIndex()
        defer { git_index_free(index) }
        try check(git_index_set_version(index, version), "git_index_set_version", object: "index")
        try check(git_index_write(index), "git_index_write", object: "index")
    }

    /// Stages one path (relative to the work tree); a path that no longer exists is removed from the index.
    public func stage(_ path: String) throws(GitError) {
        let index = try openIndex()
        defer { git_index_free(index) }
        let absolute = (workingDirectory ?? "") + "/" + path
        if FileManager.default.fileExists(atPath: absolute) {
            try check(git_index_add_bypath(index, path), "git_index_add_bypath", object: path)
        } else {
            try check(git_index_remove_bypath(index, path), "git_index_remove_bypath", object: path)
        }
        try check(git_index_write(index), "git_index_write", object: "index")
    }

    /// Commits the index on the current branch (or detached HEAD) and moves it; returns the new commit.
    @discardableResult
    public func commit(message: String, author: Signature, committer: Signature? = nil) throws(GitError) -> ObjectID {
        let index = try openIndex()
        defer { git_index_free(index) }
        var treeID = git_oid()
        try check(git_index_write_tree(&treeID, index), "git_index_write_tree", object: "index")
        // Keep the cache-tree that writing the tree filled in, as `git commit` does: later
        // status checks compare its root with HEAD's tree instead of diffing.
        try check(git_index_write(index), "git_index_write", object: "index")
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, &treeID), "git_tree_lookup", object: ObjectID(treeID).hex)
        defer { git_tree_free(tree) }

        var parent: OpaquePointer?
        if git_repository_head_unborn(handle) != 1 {
            var headID = try head().commit?.oid ?? git_oid()
            try check(git_commit_lookup(&parent, handle, &headID), "git_commit_lookup", object: "HEAD")
        }
        defer { if let parent { git_commit_free(parent) } }

        let authorSignature = try makeSignature(author)
        defer { git_signature_free(authorSignature) }
        let committerSignature = try makeSignature(committer ?? author)
        defer { git_signature_free(committerSignature) }

        var newID = git_oid()
        var parents: [OpaquePointer?] = parent.map { [$0] } ?? []
        let rc = parents.withUnsafeMutableBufferPointer { buffer in
            git_commit_create(
                &newID, handle, "HEAD", authorSignature, committerSignature, "UTF-8", message, tree,
                buffer.count, buffer.baseAddress)
        }
        try check(rc, "git_commit_create", object: "HEAD")
        return ObjectID(newID)
    }

    private func makeSignature(_ signature: Signature) throws(GitError) -> UnsafeMutablePointer<git_signature> {
        var result: UnsafeMutablePointer<git_signature>?
        try check(
            git_signature_new(
                &result, signature.name, signature.email, git_time_t(signature.time.timeIntervalSince1970),
                Int32(signature.offsetMinutes)), "git_signature_new", object: signature.email)
        guard let result else {
            throw GitError(
                code: .other(-1), function: "git_signature_new", detail: "no signature", object: signature.email)
        }
        return result
    }

    /// Creates (or with `force`, moves) a local branch at a commit.
    public func createBranch(_ name: String, at commit: ObjectID, force: Bool = false) throws(GitError) {
        var oid = commit.oid
        var target: OpaquePointer?
        try check(git_commit_lookup(&target, handle, &oid), "git_commit_lookup", object: commit.hex)
        defer { git_commit_free(target) }
        var ref: OpaquePointer?
        try check(git_branch_create(&ref, handle, name, target, force ? 1 : 0), "git_branch_create", object: name)
        git_reference_free(ref)
    }

    /// Sets a reference (e.g. `refs/remotes/origin/main`) to point at a commit.
    public func setReference(_ name: String, to commit: ObjectID) throws(GitError) {
        var oid = commit.oid
        var ref: OpaquePointer?
        try check(git_reference_create(&ref, handle, name, &oid, 1, "mlops"), "git_reference_create", object: name)
        git_reference_free(ref)
    }

    /// Makes `name` a symbolic reference to `target` (e.g. `refs/remotes/origin/HEAD` →
    /// `refs/remotes/origin/main`, as a clone records the remote's default branch).
    public func setSymbolicReference(_ name: String, to target: String) throws(GitError) {
        var ref: OpaquePointer?
        try check(
            git_reference_symbolic_create(&ref, handle, name, target, 1, "mlops"), "git_reference_symbolic_create",
            object: name)
        git_reference_free(ref)
    }

    /// Switches HEAD to a local branch and updates the work tree and index to match (forced).
    public func checkout(branch: String) throws(GitError) {
        try check(git_repository_set_head(handle, "refs/heads/" + branch), "git_repository_set_head", object: branch)
        try forceCheckoutHead()
    }

    /// Detaches HEAD at a commit and updates the work tree and index to match (forced).
    public func checkout(detachedAt commit: ObjectID) throws(GitError) {
        var oid = commit.oid
        try check(
            git_repository_set_head_detached(handle, &oid), "git_repository_set_head_detached", object: commit.hex)
        try forceCheckoutHead()
    }

    private func forceCheckoutHead() throws(GitError) {
        var options = git_checkout_options()
        try check(
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION)), "git_checkout_options_init",
            object: "")
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue
        try check(git_checkout_head(handle, &options), "git_checkout_head", object: "HEAD")
    }

    /// Adds a submodule at `path` with remote `url`, the way `git submodule add` does but without
    /// fetching: libgit2 creates the submodule's repository (in `.git/modules`), `populate`
    /// commits into it, then `.gitmodules` and the gitlink are staged.
    public func addSubmodule(url: String, path: String, populate: (Repository) throws -> Void) throws {
        var submodule: OpaquePointer?
        try check(git_submodule_add_setup(&submodule, handle, url, path, 1), "git_submodule_add_setup", object: path)
        defer { git_submodule_free(submodule) }
        var subHandle: OpaquePointer?
        try check(git_submodule_open(&subHandle, submodule), "git_submodule_open", object: path)
        guard let subHandle else {
            throw GitError(code: .other(-1), function: "git_submodule_open", detail: "no handle", object: path)
        }
        try populate(Repository(handle: subHandle, openedFrom: path))
        try check(git_submodule_add_finalize(submodule), "git_submodule_add_finalize", object: path)
    }

    /// Adds a remote (URL only; nothing is fetched).
    public func addRemote(_ name: String, url: String) throws(GitError) {
        var remote: OpaquePointer?
        try check(git_remote_create(&remote, handle, name, url), "git_remote_create", object: name)
        git_remote_free(remote)
    }

    // MARK: - Helpers

    private func optionalTree(_ commit: ObjectID?) throws(GitError) -> OpaquePointer? {
        guard let commit else { return nil }
        return try tree(of: commit)
    }

    private func tree(of commit: ObjectID) throws(GitError) -> OpaquePointer {
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

    private func openIndex() throws(GitError) -> OpaquePointer {
        var index: OpaquePointer?
        try check(git_repository_index(&index, handle), "git_repository_index", object: gitDirectory)
        guard let index else {
            throw GitError(code: .other(-1), function: "git_repository_index", detail: "no index", object: gitDirectory)
        }
        return index
    }
}
