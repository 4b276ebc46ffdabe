internal import CGit2
import Foundation

/// How ``Repository/unstagedChanges(includeUntracked:strategy:)`` reads the work tree.
public enum StatusStrategy: Sendable {
    /// git's own approach (its "preload index"): the recorded stat data of every index entry
    /// is compared with a fresh `lstat` on all cores, and the work tree is walked once for
    /// untracked files. Only paths whose stat data differ are handed to libgit2, which
    /// decides them exactly (hashing content where needed). Falls back to ``libgit2`` when
    /// the repository is one the scan does not model (conflicts, a case-insensitive index).
    case preloaded
    /// libgit2's index-to-work-tree diff for the whole tree, on one thread.
    case libgit2
}

/// The index-to-work-tree scan behind ``StatusStrategy/preloaded``.
///
/// The index is sorted by path, so one pass over it gives every tracked folder with its
/// files and subfolders (``FolderLayout``). Each folder is then opened once, on all cores:
/// its tracked files are `fstatat`-ed relative to it and compared with the stat data the
/// index recorded, under the rule libgit2 and git use (equal size, mode, inode, owner, and
/// modification and change times, and not modified in the index's own timestamp tick:
/// "racily clean"), and its names are counted. A folder with as many names as tracked
/// children, all present, holds nothing untracked; only the others are read name by name
/// and their new names checked against libgit2's ignore rules.
///
/// The scan only ever proves a tracked path *unchanged*; every other tracked path goes to
/// libgit2, which decides it exactly. Anything the scan does not model (conflicts, a
/// case-insensitive index, a tracked folder turned into a file or symlink, a tracked file
/// turned into a folder, unreadable folders) makes it return nil, and the caller runs
/// libgit2's whole-tree diff instead.
struct WorkTreeScan {
    /// Above this many uncertain paths, one whole-tree libgit2 diff is cheaper than a
    /// pathspec of them.
    static let pathspecLimit = 512

    let repository: Repository
    let index: OpaquePointer
    /// The work tree with a trailing slash, as bytes without a terminator.
    let workdir: [UInt8]

    /// What the stat comparison found for one entry.
    enum EntryState: UInt8 {
        case unchanged = 0, differs, missing, unmodelled
    }

    /// What the folder pass found for one folder.
    enum FolderState: UInt8 {
        case matches = 0, namesDiffer, missing, unmodelled
    }

    struct Outcome {
        let changes: [FileChange]
        /// The tracked paths whose stat data differed, which libgit2 decided.
        let delegated: [String]
    }

    /// The changes, or nil when the scan cannot model this repository and libgit2 should run.
    func changes(includeUntracked: Bool) throws(GitError) -> Outcome? {
        if git_index_has_conflicts(index) == 1 { return nil }
        if (git_index_caps(index) & Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue)) != 0 { return nil }
        let count = git_index_entrycount(index)
        var entries: [UnsafePointer<git_index_entry>] = []
        entries.reserveCapacity(count)
        for position in 0..<count {
            guard let entry = git_index_get_byindex(index, position), entry.pointee.path != nil else { return nil }
            entries.append(entry)
        }
        let layout = FolderLayout(entries: entries)
        let pass = StatPass(
            entries: entries, layout: layout, workdir: workdir, racyFrom: indexFileTime(),
            countNames: includeUntracked)
        DispatchQueue.concurrentPerform(iterations: pass.items.count) { pass.run(item: $0) }
        defer { pass.deallocate() }

        var uncertain: [String] = []
        for position in 0..<count {
            switch pass.entryStates[position] {
            case EntryState.unchanged.rawValue: continue
            case EntryState.unmodelled.rawValue: return nil
            default:
                uncertain.append(string(entries[position].pointee.path) ?? "")
                if uncertain.count > Self.pathspecLimit { return nil }
            }
        }
        var changes: [FileChange] = []
        if includeUntracked {
            // A folder with a missing subfolder or file may hide an untracked name behind an
            // equal count: read those name by name too.
            var readNames = [Bool](repeating: false, count: layout.folders.count)
            for (id, folder) in layout.folders.enumerated() {
                switch pass.folderStates[id] {
                case FolderState.unmodelled.rawValue: return nil
                case FolderState.missing.rawValue:
                    if folder.parent >= 0 { readNames[folder.parent] = true }
                case FolderState.namesDiffer.rawValue: readNames[id] = true
                default: break
                }
                if folder.files.contains(where: { pass.entryStates[Int($0)] == EntryState.missing.rawValue }) {
                    readNames[id] = true
                }
            }
            var walk = UntrackedWalk(repository: repository, workdir: workdir)
            for (id, folder) in layout.folders.enumerated()
            where readNames[id] && pass.folderStates[id] != FolderState.missing.rawValue {
                guard walk.readTracked(folder, layout: layout, entries: entries) else { return nil }
            }
            changes = walk.found
        }
        if !uncertain.isEmpty {
            changes += try repository.unstagedChanges(exactly: uncertain)
        }
        return Outcome(
            changes: changes.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }, delegated: uncertain)
    }

    /// The index file's modification time: an entry modified at or after it is "racily
    /// clean" and must be decided by content. Nil when there is no index file (no entries).
    private func indexFileTime() -> timespec? {
        var info = stat()
        guard lstat(repository.gitDirectory + "/index", &info) == 0 else { return nil }
        return info.st_mtim
    }
}

/// The tracked folders, from one pass over the sorted index entries.
struct FolderLayout {
    struct Folder {
        /// The folder's path is the first `length` bytes of this entry's path (root: length 0).
        let pathOwner: UnsafePointer<CChar>?
        let length: Int
        let parent: Int
        /// Index positions of the files (and gitlinks) directly inside.
        var files: [Int32] = []
        /// Ids of the folders directly inside.
        var subfolders: [Int] = []

        /// The folder's path relative to the work tree, without a trailing slash.
        var path: [UInt8] {
            guard let pathOwner, length > 0 else { return [] }
            return Array(
                UnsafeBufferPointer(
                    start: UnsafeRawPointer(pathOwner).assumingMemoryBound(to: UInt8.self), count: length))
        }
    }

    private(set) var folders: [Folder] = [Folder(pathOwner: nil, length: 0, parent: -1)]

    init(entries: [UnsafePointer<git_index_entry>]) {
        var stack = [0]
        for (position, entry) in entries.enumerated() {
            guard let path = entry.pointee.path else { continue }
            let bytes = UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)
            let length = strlen(path)
            var slash = length
            while slash > 0, bytes[slash - 1] != UInt8(ascii: "/") { slash -= 1 }
            let folderLength = slash == 0 ? 0 : slash - 1
            if !isSame(stack[stack.count - 1], bytes, folderLength) {
                // Leave the folders this path is not inside of, then enter its new ones.
                while stack.count > 1, !contains(stack[stack.count - 1], bytes, folderLength) {
                    stack.removeLast()
                }
                var top = stack[stack.count - 1]
                var start = folders[top].length == 0 ? 0 : folders[top].length + 1
                while start < folderLength {
                    var end = start
                    while end < folderLength, bytes[end] != UInt8(ascii: "/") { end += 1 }
                    folders.append(Folder(pathOwner: path, length: end, parent: top))
                    let id = folders.count - 1
                    folders[top].subfolders.append(id)
                    stack.append(id)
                    top = id
                    start = end + 1
                }
            }
            folders[stack[stack.count - 1]].files.append(Int32(position))
        }
    }

    private func isSame(_ id: Int, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let folder = folders[id]
        guard folder.length == length else { return false }
        guard length > 0, let owner = folder.pathOwner else { return true }
        return memcmp(owner, bytes, length) == 0
    }

    /// Whether folder `id` is the folder `bytes[..<length]` or one of its ancestors.
    private func contains(_ id: Int, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let folder = folders[id]
        guard folder.length > 0, let owner = folder.pathOwner else { return true }
        guard folder.length == length || (folder.length < length && bytes[folder.length] == UInt8(ascii: "/"))
        else { return false }
        return memcmp(owner, bytes, folder.length) == 0
    }
}

/// The parallel part: one work item per folder (large folders in chunks), each opening its
/// folder once. Each item writes only its own entries' and folder's states.
final class StatPass: @unchecked Sendable {
    struct Item {
        let folder: Int
        let files: Range<Int>
        let countsNames: Bool
    }

    let entries: [UnsafePointer<git_index_entry>]
    let layout: FolderLayout
    let workdir: [UInt8]
    let racyFrom: timespec?
    let items: [Item]
    let entryStates: UnsafeMutableBufferPointer<UInt8>
    let folderStates: UnsafeMutableBufferPointer<UInt8>

    init(
        entries: [UnsafePointer<git_index_entry>], layout: FolderLayout, workdir: [UInt8], racyFrom: timespec?,
        countNames: Bool
    ) {
        self.entries = entries
        self.layout = layout
        self.workdir = workdir
        self.racyFrom = racyFrom
        var items: [Item] = []
        let chunk = 1024
        for (id, folder) in layout.folders.enumerated() {
            var start = 0
            repeat {
                let end = min(folder.files.count, start + chunk)
                items.append(Item(folder: id, files: start..<end, countsNames: countNames && start == 0))
                start = end
            } while start < folder.files.count
        }
        // Big items first, so the last one to finish is small.
        self.items = items.sorted { $0.files.count > $1.files.count }
        entryStates = .allocate(capacity: max(entries.count, 1))
        entryStates.initialize(repeating: 0)
        folderStates = .allocate(capacity: layout.folders.count)
        folderStates.initialize(repeating: 0)
    }

    func deallocate() {
        entryStates.deallocate()
        folderStates.deallocate()
    }

    func run(item number: Int) {
        let item = items[number]
        let folder = layout.folders[item.folder]
        let descriptor = (workdir + folder.path + [0]).withUnsafeBufferPointer {
            open(
                UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard descriptor >= 0 else {
            if errno == ENOENT {
                folderStates[item.folder] = WorkTreeScan.FolderState.missing.rawValue
                for file in folder.files[item.files] {
                    entryStates[Int(file)] = WorkTreeScan.EntryState.missing.rawValue
                }
            } else {
                // Now a file or a symbolic link, or unreadable: libgit2's rules apply.
                folderStates[item.folder] = WorkTreeScan.FolderState.unmodelled.rawValue
            }
            return
        }
        defer { close(descriptor) }
        var info = stat()
        for file in folder.files[item.files] {
            let position = Int(file)
            let entry = entries[position].pointee
            let name = entry.path! + (folder.length == 0 ? 0 : folder.length + 1)
            if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                entryStates[position] =
                    errno == ENOENT || errno == ENOTDIR
                    ? WorkTreeScan.EntryState.missing.rawValue : WorkTreeScan.EntryState.unmodelled.rawValue
                continue
            }
            if (info.st_mode & S_IFMT) == S_IFDIR && entry.mode != 0o160000 {
                entryStates[position] = WorkTreeScan.EntryState.unmodelled.rawValue
            } else if !Self.unchanged(entry, info, racyFrom: racyFrom) {
                entryStates[position] = WorkTreeScan.EntryState.differs.rawValue
            }
        }
        if item.countsNames, nameCount(descriptor) != folder.files.count + folder.subfolders.count {
            folderStates[item.folder] = WorkTreeScan.FolderState.namesDiffer.rawValue
        }
    }

    /// The number of names in a folder, without ".", ".." and ".git"; -1 when unreadable.
    private func nameCount(_ descriptor: Int32) -> Int {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return -1
        }
        defer { closedir(stream) }
        var count = 0
        while let item = readdir(stream) {
            if !UntrackedWalk.isSkipped(item) { count += 1 }
        }
        return count
    }

    /// libgit2's (and git's) rule for "the file is as the index recorded it".
    static func unchanged(_ entry: git_index_entry, _ info: stat, racyFrom: timespec?) -> Bool {
        let flags = UInt32(entry.flags)
        // A conflict stage, an assume-unchanged bit, or extended flags (intent-to-add,
        // skip-worktree): libgit2's rules for those apply, so libgit2 decides.
        let valid = UInt32(GIT_INDEX_ENTRY_VALID.rawValue)
        let extended = UInt32(GIT_INDEX_ENTRY_EXTENDED.rawValue)
        if flags & (UInt32(GIT_INDEX_ENTRY_STAGEMASK) | valid | extended) != 0 { return false }
        let mode: UInt32
        switch info.st_mode & S_IFMT {
        case S_IFREG: mode = (info.st_mode & 0o100) != 0 ? 0o100755 : 0o100644
        case S_IFLNK: mode = 0o120000
        default: return false  // a gitlink's folder: libgit2 decides submodules
        }
        guard entry.mode == mode,
            entry.file_size == UInt32(truncatingIfNeeded: info.st_size),
            entry.ino == UInt32(truncatingIfNeeded: info.st_ino),
            entry.uid == info.st_uid, entry.gid == info.st_gid,
            entry.mtime.seconds == Int32(truncatingIfNeeded: info.st_mtim.tv_sec),
            entry.mtime.nanoseconds == UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec),
            entry.ctime.seconds == Int32(truncatingIfNeeded: info.st_ctim.tv_sec),
            entry.ctime.nanoseconds == UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec)
        else { return false }
        if let racyFrom {
            let modified = info.st_mtim
            if modified.tv_sec > racyFrom.tv_sec
                || (modified.tv_sec == racyFrom.tv_sec && modified.tv_nsec >= racyFrom.tv_nsec)
            {
                return false
            }
        }
        return true
    }
}

/// Finds untracked files in the folders whose names differ from the index's, and below
/// any untracked folder, honouring .gitignore through libgit2.
struct UntrackedWalk {
    let repository: Repository
    let workdir: [UInt8]
    private(set) var found: [FileChange] = []

    init(repository: Repository, workdir: [UInt8]) {
        self.repository = repository
        self.workdir = workdir
    }

    /// ".", ".." and ".git" (the repository itself, or a nested one's gitfile).
    static func isSkipped(_ item: UnsafeMutablePointer<dirent>) -> Bool {
        let name = nameBytes(item)
        guard name.count <= 4, name.first == UInt8(ascii: ".") else { return false }
        return name.count == 1 || (name.count == 2 && name[1] == UInt8(ascii: ".")) || name.elementsEqual(".git".utf8)
    }

    private static func nameBytes(_ item: UnsafeMutablePointer<dirent>) -> UnsafeBufferPointer<UInt8> {
        let offset = MemoryLayout<dirent>.offset(of: \.d_name) ?? 19
        let name = (UnsafeRawPointer(item) + offset).assumingMemoryBound(to: UInt8.self)
        return UnsafeBufferPointer(
            start: name, count: strlen(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self)))
    }

    /// Reads a tracked folder name by name; false when it cannot be read.
    mutating func readTracked(
        _ folder: FolderLayout.Folder, layout: FolderLayout, entries: [UnsafePointer<git_index_entry>]
    ) -> Bool {
        var known = Set<[UInt8]>()
        let skip = folder.length == 0 ? 0 : folder.length + 1
        for file in folder.files {
            let path = UnsafeRawPointer(entries[Int(file)].pointee.path!).assumingMemoryBound(to: UInt8.self)
            known.insert(
                Array(
                    UnsafeBufferPointer(
                        start: path + skip,
                        count: strlen(UnsafeRawPointer(path + skip).assumingMemoryBound(to: CChar.self)))))
        }
        for subfolder in folder.subfolders {
            known.insert(Array(layout.folders[subfolder].path.dropFirst(skip)))
        }
        return read(folder.path, tracked: known)
    }

    /// Reads a folder; names not in `tracked` are untracked unless ignored. `tracked` nil:
    /// the folder itself is untracked.
    private mutating func read(_ relative: [UInt8], tracked: Set<[UInt8]>?) -> Bool {
        guard
            let stream = (workdir + relative + [0]).withUnsafeBufferPointer({
                opendir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self))
            })
        else { return false }
        defer { closedir(stream) }
        let prefix = relative.isEmpty ? [] : relative + [UInt8(ascii: "/")]
        while let item = readdir(stream) {
            if Self.isSkipped(item) { continue }
            let name = Array(Self.nameBytes(item))
            if let tracked, tracked.contains(name) { continue }
            let path = prefix + name
            var type = Int(item.pointee.d_type)
            if type == Int(DT_UNKNOWN) {
                var info = stat()
                guard lstatPath(path, &info) else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: type = Int(DT_DIR)
                case S_IFREG: type = Int(DT_REG)
                case S_IFLNK: type = Int(DT_LNK)
                default: continue
                }
            }
            let text = String(decoding: path, as: UTF8.self)
            switch type {
            case Int(DT_REG), Int(DT_LNK):
                if !isIgnored(text) { found.append(FileChange(status: .untracked, path: text)) }
            case Int(DT_DIR):
                if isIgnored(text) { continue }
                var info = stat()
                if lstatPath(path + Array("/.git".utf8), &info) {
                    // Another repository inside this one: one path, never descended into.
                    found.append(FileChange(status: .untracked, path: text, isSubmodule: true))
                } else if !read(path, tracked: nil) {
                    return false
                }
            default:
                continue  // sockets, pipes, devices: git does not track them
            }
        }
        return true
    }

    private func lstatPath(_ relative: [UInt8], _ info: inout stat) -> Bool {
        (workdir + relative + [0]).withUnsafeBufferPointer {
            lstat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &info) == 0
        }
    }

    private func isIgnored(_ path: String) -> Bool {
        var ignored: Int32 = 0
        guard git_ignore_path_is_ignored(&ignored, repository.handle, path) == 0 else { return false }
        return ignored == 1
    }
}
