internal import CGit2
import Foundation

extension Repository {
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

    func makeSignature(_ signature: Signature) throws(GitError) -> UnsafeMutablePointer<git_signature> {
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

    func forceCheckoutHead() throws(GitError) {
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
}
