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
    let index: IndexFile
    /// The work tree with a trailing slash, as bytes without a terminator.
    let workdir: [UInt8]

    /// What the stat comparison found for one entry.
    enum EntryState: UInt8 {
        case unchanged = 0
        /// Same type and mode, another size: modified for libgit2 too, without reading it.
        case modified
        /// Gone from the work tree.
        case deleted
        /// Stat data differ otherwise (or a flag, a gitlink, a racy timestamp): libgit2 decides.
        case uncertain
        /// A tracked file that is now a folder, or unreadable: libgit2 takes the whole tree.
        case unmodelled
    }

    /// What the folder pass found for one folder.
    enum FolderState: UInt8 {
        case matches = 0, namesDiffer, missing, unmodelled
    }

    struct Outcome {
        let changes: [FileChange]
        /// The tracked paths whose stat data differed in a way only content can settle,
        /// which libgit2 decided.
        let delegated: [String]
    }

    /// The changes, or nil when the scan cannot model this repository and libgit2 should run.
    func changes(includeUntracked: Bool) throws(GitError) -> Outcome? {
        if index.entries.contains(where: { $0.stage != 0 }) { return nil }
        if (try? repository.configValue("core.ignorecase"))?.lowercased() == "true" { return nil }
        let layout = FolderLayout(index: index)
        let pass = StatPass(index: index, layout: layout, workdir: workdir, countNames: includeUntracked)
        DispatchQueue.concurrentPerform(iterations: pass.items.count) { pass.run(item: $0) }

        var changes: [FileChange] = []
        var uncertain: [String] = []
        for position in index.entries.indices {
            switch EntryState(rawValue: pass.entryStates[position]) ?? .unmodelled {
            case .unchanged: continue
            case .modified: changes.append(FileChange(status: .modified, path: index.pathString(position)))
            case .deleted: changes.append(FileChange(status: .deleted, path: index.pathString(position)))
            case .uncertain:
                uncertain.append(index.pathString(position))
                if uncertain.count > Self.pathspecLimit { return nil }
            case .unmodelled: return nil
            }
        }
        if includeUntracked {
            // A folder with a missing subfolder or file may hide an untracked name behind an
            // equal count: read those name by name too.
            var readNames = [Bool](repeating: false, count: layout.folders.count)
            for (id, folder) in layout.folders.enumerated() {
                switch FolderState(rawValue: pass.folderStates[id]) ?? .unmodelled {
                case .unmodelled: return nil
                case .missing: if folder.parent >= 0 { readNames[folder.parent] = true }
                case .namesDiffer: readNames[id] = true
                case .matches: break
                }
                if folder.files.contains(where: { pass.entryStates[Int($0)] == EntryState.deleted.rawValue }) {
                    readNames[id] = true
                }
            }
            var walk = UntrackedWalk(repository: repository, workdir: workdir)
            for id in layout.folders.indices
            where readNames[id] && pass.folderStates[id] != FolderState.missing.rawValue {
                guard walk.readTracked(id, layout: layout) else { return nil }
            }
            changes += walk.found
        }
        if !uncertain.isEmpty {
            changes += try repository.unstagedChanges(exactly: uncertain)
        }
        return Outcome(
            changes: changes.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }, delegated: uncertain)
    }
}

/// The tracked folders, from one pass over the sorted index entries.
struct FolderLayout {
    struct Folder {
        /// The folder's path is the first `length` bytes of this entry's path (root: length 0).
        let owner: Int
        let length: Int
        let parent: Int
        /// Index positions of the files (and gitlinks) directly inside.
        var files: [Int32] = []
        /// Ids of the folders directly inside.
        var subfolders: [Int] = []
    }

    let index: IndexFile
    private(set) var folders: [Folder] = [Folder(owner: -1, length: 0, parent: -1)]

    /// The folder's path relative to the work tree, without a trailing slash.
    func path(_ id: Int) -> [UInt8] {
        let folder = folders[id]
        guard folder.owner >= 0 else { return [] }
        return Array(UnsafeBufferPointer(start: index.path(folder.owner), count: folder.length))
    }

    init(index: IndexFile) {
        self.index = index
        var stack = [0]
        for position in index.entries.indices {
            let bytes = index.path(position)
            let length = index.entries[position].pathLength
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
                    folders.append(Folder(owner: position, length: end, parent: top))
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
        guard length > 0 else { return true }
        return memcmp(index.path(folder.owner), bytes, length) == 0
    }

    /// Whether folder `id` is the folder `bytes[..<length]` or one of its ancestors.
    private func contains(_ id: Int, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let folder = folders[id]
        guard folder.length > 0 else { return true }
        guard folder.length == length || (folder.length < length && bytes[folder.length] == UInt8(ascii: "/"))
        else { return false }
        return memcmp(index.path(folder.owner), bytes, folder.length) == 0
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

    let index: IndexFile
    let layout: FolderLayout
    let workdir: [UInt8]
    let items: [Item]
    let entryStates: UnsafeMutableBufferPointer<UInt8>
    let folderStates: UnsafeMutableBufferPointer<UInt8>

    init(index: IndexFile, layout: FolderLayout, workdir: [UInt8], countNames: Bool) {
        self.index = index
        self.layout = layout
        self.workdir = workdir
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
        entryStates = .allocate(capacity: max(index.entries.count, 1))
        entryStates.initialize(repeating: 0)
        folderStates = .allocate(capacity: layout.folders.count)
        folderStates.initialize(repeating: 0)
    }

    deinit {
        entryStates.deallocate()
        folderStates.deallocate()
    }

    func run(item number: Int) {
        let item = items[number]
        let folder = layout.folders[item.folder]
        let descriptor = (workdir + layout.path(item.folder) + [0]).withUnsafeBufferPointer { path in
            path.withMemoryRebound(to: CChar.self) {
                open($0.baseAddress.unsafelyUnwrapped, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
        }
        guard descriptor >= 0 else {
            if errno == ENOENT {
                folderStates[item.folder] = WorkTreeScan.FolderState.missing.rawValue
                for file in folder.files[item.files] {
                    let plain = index.entries[Int(file)].isPlain && !index.entries[Int(file)].isGitlink
                    entryStates[Int(file)] = (plain ? WorkTreeScan.EntryState.deleted : .uncertain).rawValue
                }
            } else {
                // Now a file or a symbolic link, or unreadable: libgit2's rules apply.
                folderStates[item.folder] = WorkTreeScan.FolderState.unmodelled.rawValue
            }
            return
        }
        defer { close(descriptor) }
        var info = stat()
        let nameOffset = folder.length == 0 ? 0 : folder.length + 1
        for file in folder.files[item.files] {
            let position = Int(file)
            let entry = index.entries[position]
            let name = UnsafeRawPointer(index.path(position) + nameOffset).assumingMemoryBound(to: CChar.self)
            let state: WorkTreeScan.EntryState
            if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                if errno == ENOENT || errno == ENOTDIR {
                    state = entry.isPlain && !entry.isGitlink ? .deleted : .uncertain
                } else {
                    state = .unmodelled
                }
            } else {
                state = Self.compare(entry, info, racyFrom: index.modified)
            }
            entryStates[position] = state.rawValue
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

    /// libgit2's rules (diff_generate.c's maybe_modified) for a tracked file against its stat
    /// data: equal stat data and not racily clean is unchanged; the same type and mode with
    /// another size is modified; anything else needs the content, so libgit2 decides.
    static func compare(_ entry: IndexFile.Entry, _ info: stat, racyFrom: timespec) -> WorkTreeScan.EntryState {
        let mode: UInt32
        switch info.st_mode & S_IFMT {
        case S_IFREG: mode = (info.st_mode & 0o100) != 0 ? 0o100755 : 0o100644
        case S_IFLNK: mode = 0o120000
        case S_IFDIR: return entry.isGitlink ? .uncertain : .unmodelled
        default: return .unmodelled
        }
        // A conflict stage, an assume-unchanged bit or extended flags (intent-to-add,
        // skip-worktree), and submodules: libgit2's own rules apply.
        guard entry.isPlain, !entry.isGitlink, entry.mode == mode else { return .uncertain }
        if entry.size != UInt32(truncatingIfNeeded: info.st_size) {
            return entry.size > 0 ? .modified : .uncertain
        }
        guard entry.inode == UInt32(truncatingIfNeeded: info.st_ino),
            entry.uid == info.st_uid, entry.gid == info.st_gid,
            entry.mtimeSeconds == UInt32(truncatingIfNeeded: info.st_mtim.tv_sec),
            entry.mtimeNanoseconds == UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec),
            entry.ctimeSeconds == UInt32(truncatingIfNeeded: info.st_ctim.tv_sec),
            entry.ctimeNanoseconds == UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec)
        else { return .uncertain }
        let modified = info.st_mtim
        if modified.tv_sec > racyFrom.tv_sec
            || (modified.tv_sec == racyFrom.tv_sec && modified.tv_nsec >= racyFrom.tv_nsec)
        {
            return .uncertain
        }
        return .unchanged
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
    mutating func readTracked(_ id: Int, layout: FolderLayout) -> Bool {
        let folder = layout.folders[id]
        let index = layout.index
        var known = Set<[UInt8]>()
        let skip = folder.length == 0 ? 0 : folder.length + 1
        for file in folder.files {
            let position = Int(file)
            known.insert(
                Array(
                    UnsafeBufferPointer(
                        start: index.path(position) + skip, count: index.entries[position].pathLength - skip)))
        }
        for subfolder in folder.subfolders {
            known.insert(Array(layout.path(subfolder).dropFirst(skip)))
        }
        return read(layout.path(id), tracked: known)
    }

    /// Reads a folder; names not in `tracked` are untracked unless ignored. `tracked` nil:
    /// the folder itself is untracked.
    private mutating func read(_ relative: [UInt8], tracked: Set<[UInt8]>?) -> Bool {
        guard
            let stream = (workdir + relative + [0]).withUnsafeBufferPointer({
                opendir(UnsafeRawPointer($0.baseAddress.unsafelyUnwrapped).assumingMemoryBound(to: CChar.self))
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
            lstat(UnsafeRawPointer($0.baseAddress.unsafelyUnwrapped).assumingMemoryBound(to: CChar.self), &info) == 0
        }
    }

    private func isIgnored(_ path: String) -> Bool {
        var ignored: Int32 = 0
        guard git_ignore_path_is_ignored(&ignored, repository.handle, path) == 0 else { return false }
        return ignored == 1
    }
}
