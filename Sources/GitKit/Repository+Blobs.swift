internal import CGit2
import Foundation

extension Repository {
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

    static func entries(of file: IndexFile) -> [IndexEntry] {
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
}
