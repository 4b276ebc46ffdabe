internal import CGit2
import Foundation

extension Repository {
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
        if let oldTree, try differingPaths(oldTree, newTree, under: "", into: &paths) {
            if paths.isEmpty { return [] }
        } else {
            paths = []  // past the limit, or from the empty tree: diff everything
        }
        var diff: OpaquePointer?
        let rc = Self.withExactPaths(paths, in: &options) {
            git_diff_tree_to_tree(&diff, handle, oldTree, newTree, &$0)
        }
        try check(rc, "git_diff_tree_to_tree", object: "\(from?.short ?? "empty")..\(to.short)")
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: true)
    }

    /// The paths of blobs that differ between two trees, descending only into subtrees whose
    /// ids differ. False (give up: diff everything) past `limit` paths.
    func differingPaths(
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
    func everyPath(in treeID: git_oid, _ prefix: String, into paths: inout [String]) throws(GitError) {
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

    func lookupTree(_ id: git_oid, _ path: String) throws(GitError) -> OpaquePointer {
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
        let staged = try stagedChanges(from: head, index: file)
        let entries: [IndexEntry]
        if let file { entries = Self.entries(of: file) } else { entries = try libgit2IndexEntries() }
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
        var diff: OpaquePointer?
        let rc = Self.withExactPaths(paths, in: &options) { git_diff_index_to_workdir(&diff, handle, nil, &$0) }
        try check(rc, "git_diff_index_to_workdir", object: workingDirectory ?? openedFrom)
        defer { git_diff_free(diff) }
        return try collect(diff, detectRenames: false)
    }

    /// Paths staged in the index relative to a commit's tree (what `git diff --cached` lists).
    ///
    /// When the index's cached tree (git's cache-tree, kept by `git commit`, checkout and
    /// clone) says the index is exactly `from`'s tree, the answer is known without a diff.
    public func stagedChanges(from: ObjectID?) throws(GitError) -> [FileChange] {
        try stagedChanges(from: from, index: readIndexFile())
    }

    func stagedChanges(from: ObjectID?, index: IndexFile?) throws(GitError) -> [FileChange] {
        if let from, let cached = index?.cacheTreeRoot, cached == (try treeID(of: from)) { return [] }
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

    /// Runs a diff limited to exactly `paths` (no pattern matching); an empty list limits nothing.
    static func withExactPaths(
        _ paths: [String], in options: inout git_diff_options, _ diff: (inout git_diff_options) -> Int32
    ) -> Int32 {
        guard !paths.isEmpty else { return diff(&options) }
        options.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue
        var copies = paths.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return copies.withUnsafeMutableBufferPointer { buffer in
            options.pathspec = git_strarray(strings: buffer.baseAddress, count: buffer.count)
            return diff(&options)
        }
    }

    func diffOptions(untracked: Bool) throws(GitError) -> git_diff_options {
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

    func collect(_ diff: OpaquePointer?, detectRenames: Bool) throws(GitError) -> [FileChange] {
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
}
