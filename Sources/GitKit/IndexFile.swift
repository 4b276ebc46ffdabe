import Crypto
import Foundation
import MLOpsCore

/// git's index file (the staging area), read straight from `.git/index` for the one job
/// libgit2 has no fast public path for: comparing every tracked file's recorded stat data
/// with the work tree, and reading the cache-tree's root, without loading the index into
/// libgit2 (which parses and hashes it twice and costs more than the comparison itself on
/// large repositories).
///
/// Formats 2, 3 and 4 are read (git's `gitformat-index`), the trailing SHA-1 is checked
/// (unless `index.skipHash` zeroed it), and anything this reader does not model (a split or
/// sparse index, SHA-256 repositories, a malformed file) makes ``read(at:)`` return nil: the
/// caller then asks libgit2, which reports such files properly.
final class IndexFile {
    struct Entry {
        let ctimeSeconds: UInt32
        let ctimeNanoseconds: UInt32
        let mtimeSeconds: UInt32
        let mtimeNanoseconds: UInt32
        let inode: UInt32
        let mode: UInt32
        let uid: UInt32
        let gid: UInt32
        let size: UInt32
        let id: ObjectID
        /// Assume-valid (0x8000), extended (0x4000), stage (0x3000), name length.
        let flags: UInt16
        /// Intent-to-add (0x2000) and skip-worktree (0x4000), format 3 and later.
        let extendedFlags: UInt16
        /// Where the path starts in ``IndexFile/paths`` (NUL-terminated there).
        let pathOffset: Int
        let pathLength: Int

        var stage: Int { Int(flags >> 12) & 0x3 }
        /// No conflict stage, assume-valid or extended flag: git's plain stat rules apply.
        var isPlain: Bool { flags & 0xF000 == 0 }
        var isGitlink: Bool { mode == 0o160000 }
    }

    let entries: [Entry]
    /// Every path, each followed by a NUL byte; pointers into it stay valid for the life of
    /// this object.
    let paths: UnsafeMutableBufferPointer<UInt8>
    /// The tree id the cache-tree records for the whole index; nil when absent or invalidated.
    let cacheTreeRoot: ObjectID?
    /// The file's modification time: entries modified at or after it are "racily clean".
    let modified: timespec

    private init(
        entries: [Entry], paths: UnsafeMutableBufferPointer<UInt8>, cacheTreeRoot: ObjectID?, modified: timespec
    ) {
        self.entries = entries
        self.paths = paths
        self.cacheTreeRoot = cacheTreeRoot
        self.modified = modified
    }

    deinit { paths.deallocate() }

    /// A pointer to entry `position`'s NUL-terminated path.
    func path(_ position: Int) -> UnsafePointer<UInt8> {
        UnsafePointer(paths.baseAddress.unsafelyUnwrapped + entries[position].pathOffset)
    }

    func pathString(_ position: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: path(position), count: entries[position].pathLength), as: UTF8.self)
    }

    /// Reads an index file; nil when it is missing, malformed or in a shape not modelled here.
    static func read(at location: String) -> IndexFile? {
        let descriptor = open(location, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            // No index file yet (nothing was ever staged): an empty index.
            guard errno == ENOENT else { return nil }
            return IndexFile(entries: [], paths: .allocate(capacity: 1), cacheTreeRoot: nil, modified: timespec())
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size >= 32, info.st_size < Int64(Int32.max) else { return nil }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        let complete = bytes.withUnsafeMutableBytes { buffer -> Bool in
            var done = 0
            while done < size {
                let count = Foundation.read(descriptor, buffer.baseAddress.unsafelyUnwrapped + done, size - done)
                if count <= 0 { return false }
                done += count
            }
            return true
        }
        guard complete, bytes.count >= 32 else { return nil }
        // The checksum is verified on another core while the entries are parsed.
        let checksum = BackgroundWork { [bytes] in checksumMatches(bytes) }
        let parsed = bytes.withUnsafeBytes { parse($0, modified: info.st_mtim) }
        return (try? checksum.result()) == true ? parsed : nil
    }

    /// git's trailing SHA-1 over everything before it; a zero trailer (`index.skipHash`) is
    /// not checked.
    private static func checksumMatches(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { data in
            let body = data.count - 20
            let trailer = UnsafeRawBufferPointer(rebasing: data[body...])
            guard trailer.contains(where: { $0 != 0 }) else { return true }
            return Insecure.SHA1.hash(data: UnsafeRawBufferPointer(rebasing: data[..<body])).elementsEqual(trailer)
        }
    }

    private static func parse(_ data: UnsafeRawBufferPointer, modified: timespec) -> IndexFile? {
        let hashSize = 20
        guard data.count >= 12 + hashSize, word(data, 0) == 0x4449_5243 else { return nil }  // "DIRC"
        let body = data.count - hashSize
        let version = word(data, 4)
        let count = Int(word(data, 8))
        guard (2...4).contains(version) else { return nil }

        var entries: [Entry] = []
        entries.reserveCapacity(count)
        let paths = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: body + 1)
        let pathBase = paths.baseAddress.unsafelyUnwrapped
        let dataBase = data.baseAddress.unsafelyUnwrapped
        var used = 0
        var offset = 12
        var previous: (start: Int, length: Int) = (0, 0)
        for _ in 0..<count {
            let start = offset
            guard start + 62 <= body else { return failed(paths) }
            let flags = UInt16(data[start + 60]) << 8 | UInt16(data[start + 61])
            var extendedFlags: UInt16 = 0
            var pathStart = start + 62
            if flags & 0x4000 != 0 {
                guard version >= 3, pathStart + 2 <= body else { return failed(paths) }
                extendedFlags = UInt16(data[pathStart]) << 8 | UInt16(data[pathStart + 1])
                pathStart += 2
            }
            let pathOffset = used
            let pathLength: Int
            if version == 4 {
                // The previous path minus N trailing bytes, then a NUL-terminated suffix; N is
                // git's offset varint (each continuation byte adds one before shifting).
                var cursor = pathStart
                guard cursor < body else { return failed(paths) }
                var byte = Int(data[cursor])
                cursor += 1
                var strip = byte & 0x7F
                while byte & 0x80 != 0 {
                    guard cursor < body, strip < 1 << 24 else { return failed(paths) }
                    byte = Int(data[cursor])
                    cursor += 1
                    strip = ((strip + 1) << 7) | (byte & 0x7F)
                }
                guard strip <= previous.length, let end = terminator(data, from: cursor, before: body) else {
                    return failed(paths)
                }
                let kept = previous.length - strip
                let suffix = end - cursor
                guard used + kept + suffix < paths.count else { return failed(paths) }
                (pathBase + used).update(from: pathBase + previous.start, count: kept)
                UnsafeMutableRawPointer(pathBase + used + kept).copyMemory(from: dataBase + cursor, byteCount: suffix)
                pathLength = kept + suffix
                offset = end + 1
            } else {
                // NUL-terminated, padded with NULs to a multiple of 8 bytes from the entry's start.
                guard let end = terminator(data, from: pathStart, before: body) else { return failed(paths) }
                pathLength = end - pathStart
                guard used + pathLength < paths.count else { return failed(paths) }
                UnsafeMutableRawPointer(pathBase + used).copyMemory(from: dataBase + pathStart, byteCount: pathLength)
                offset = start + ((pathStart - start + pathLength + 8) & ~7)
            }
            guard pathLength > 0, offset <= body else { return failed(paths) }
            used += pathLength
            paths[used] = 0
            used += 1
            let mode = word(data, start + 24)
            // A sparse index's folder entries: not modelled here.
            guard mode & 0o170000 != 0o040000 else { return failed(paths) }
            previous = (pathOffset, pathLength)
            entries.append(
                Entry(
                    ctimeSeconds: word(data, start), ctimeNanoseconds: word(data, start + 4),
                    mtimeSeconds: word(data, start + 8), mtimeNanoseconds: word(data, start + 12),
                    inode: word(data, start + 20), mode: mode, uid: word(data, start + 28),
                    gid: word(data, start + 32), size: word(data, start + 36),
                    id: ObjectID(bytes: UnsafeRawBufferPointer(rebasing: data[(start + 40)..<(start + 60)])),
                    flags: flags, extendedFlags: extendedFlags, pathOffset: pathOffset, pathLength: pathLength))
        }

        // Extensions: a 4-byte signature and a 4-byte size. Optional ones start with a capital
        // letter; a required one this reader does not know (a split index's "link", a sparse
        // index's "sdir") means the entries above are not the whole story.
        var cacheTreeRoot: ObjectID?
        while offset + 8 <= body {
            let signature = word(data, offset)
            let size = Int(word(data, offset + 4))
            let payload = offset + 8
            guard payload + size <= body else { return failed(paths) }
            let first = UInt8(truncatingIfNeeded: signature >> 24)
            if signature == 0x5452_4545 {  // "TREE"
                cacheTreeRoot = root(ofCacheTree: UnsafeRawBufferPointer(rebasing: data[payload..<(payload + size)]))
            } else if !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) {
                return failed(paths)
            }
            offset = payload + size
        }
        guard offset == body else { return failed(paths) }
        return IndexFile(entries: entries, paths: paths, cacheTreeRoot: cacheTreeRoot, modified: modified)
    }

    /// The root entry of a TREE extension: an empty path, "<entries> <subtrees>\n", and the
    /// tree id when the entry count is not -1 (invalidated).
    private static func root(ofCacheTree data: UnsafeRawBufferPointer) -> ObjectID? {
        guard data.count > 2, data[0] == 0, let newline = data.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let counts = String(decoding: UnsafeRawBufferPointer(rebasing: data[1..<newline]), as: UTF8.self)
        guard let entryCount = counts.split(separator: " ").first.flatMap({ Int($0) }), entryCount >= 0,
            newline + 21 <= data.count
        else { return nil }
        return ObjectID(bytes: UnsafeRawBufferPointer(rebasing: data[(newline + 1)..<(newline + 21)]))
    }

    private static func failed(_ paths: UnsafeMutableBufferPointer<UInt8>) -> IndexFile? {
        paths.deallocate()
        return nil
    }

    private static func terminator(_ data: UnsafeRawBufferPointer, from start: Int, before end: Int) -> Int? {
        var cursor = start
        while cursor < end {
            if data[cursor] == 0 { return cursor }
            cursor += 1
        }
        return nil
    }

    private static func word(_ data: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(data[offset]) << 24 | UInt32(data[offset + 1]) << 16 | UInt32(data[offset + 2]) << 8
            | UInt32(data[offset + 3])
    }
}
