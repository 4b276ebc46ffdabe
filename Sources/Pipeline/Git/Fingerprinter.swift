import Crypto
import Foundation
import GitKit
import MLOpsCore
import Metadata

/// The content identity of a file, cheap where git already knows it.
///
/// - `git:<sha1>`: a tracked file whose work-tree copy matches the index: its blob id, read
///   from the index without reading the file.
/// - `sha256:<hex>`: a modified or untracked file, hashed (SHA-256, streamed); or a Git LFS
///   pointer's `oid sha256:…`, which is the SHA-256 of the real content, so an LFS file has
///   the same fingerprint whether its pointer or its content is on disk.
public struct Fingerprint: Sendable, Hashable, Codable, CustomStringConvertible {
    // A blob id is kept as its bytes: a set fingerprint holds one per tracked file (tens of
    // thousands), and most are never spelled out.
    private enum Storage: Sendable, Hashable {
        case blob(ObjectID)
        case text(String)
    }

    private let storage: Storage

    public var value: String {
        switch storage {
        case .blob(let id): "git:" + id.hex
        case .text(let text): text
        }
    }

    public var description: String { value }

    public init(value: String) {
        if value.hasPrefix("git:"), let id = ObjectID(hex: String(value.dropFirst(4))), id.hex == value.dropFirst(4) {
            storage = .blob(id)
        } else {
            storage = .text(value)
        }
    }

    /// `git:<blob id>`.
    public init(blob id: ObjectID) { storage = .blob(id) }

    /// Appends the value's UTF-8 bytes.
    func append(to buffer: inout [UInt8]) {
        switch storage {
        case .blob(let id):
            buffer.append(UInt8(ascii: "g"))
            buffer.append(UInt8(ascii: "i"))
            buffer.append(UInt8(ascii: "t"))
            buffer.append(UInt8(ascii: ":"))
            id.appendHex(to: &buffer)
        case .text(let text): buffer.append(contentsOf: text.utf8)
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(value: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// The fingerprint of a set of files (a glob): one value, stable across machines and
/// checkout locations, from the sorted repository-relative paths and their fingerprints.
public struct SetFingerprint: Sendable, Hashable, Encodable {
    public let patterns: [String]
    /// The files in the set with their fingerprints, sorted by the bytes of their paths.
    public let entries: [Entry]
    public let fingerprint: Fingerprint

    public struct Entry: Sendable, Hashable {
        public let path: String
        public let fingerprint: Fingerprint
    }

    public var fileCount: Int { entries.count }
    public var files: [String: Fingerprint] {
        Dictionary(entries.map { ($0.path, $0.fingerprint) }, uniquingKeysWith: { first, _ in first })
    }

    enum CodingKeys: String, CodingKey { case patterns, fileCount = "file_count", fingerprint }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(patterns, forKey: .patterns)
        try container.encode(fileCount, forKey: .fileCount)
        try container.encode(fingerprint, forKey: .fingerprint)
    }
}

/// Computes fingerprints of paths in one repository state. Build one per command run: it
/// reads the index and the work-tree status once.
public final class Fingerprinter {
    private let repository: Repository
    private let root: URL
    /// Index entries by path, built on first single-path lookup (sets walk `entries` instead).
    private lazy var tracked: [String: IndexEntry] = Dictionary(
        entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    /// The index entries in index order (sorted by path bytes).
    private let entries: [IndexEntry]
    /// Tracked paths whose work-tree content differs from the index: hashed.
    private let modified: Set<String>
    /// The byte lengths of the modified paths: most paths are ruled out without hashing them.
    private let modifiedLengths: Set<Int>
    /// Tracked paths missing from the work tree: not part of any set.
    private let deleted: Set<String>
    private let untracked: [String]
    /// Whether any .gitattributes in the index routes files through Git LFS; only then is
    /// the (per-path, stat-heavy) attribute lookup done.
    private let usesLFS: Bool
    /// Hashes of modified and untracked files from earlier runs, when one is kept.
    public var cache: (any ContentHashCache)?

    /// - Parameter unstaged: the index-to-work-tree changes, untracked files included
    ///   (``Repository/unstagedChanges(includeUntracked:)``), so status is read only once.
    public convenience init(repository: Repository, unstaged: [FileChange]) throws {
        try self.init(repository: repository, entries: repository.indexEntries(), unstaged: unstaged)
    }

    /// With the index entries already read (``Repository/indexEntries()``).
    public init(repository: Repository, entries: [IndexEntry], unstaged: [FileChange]) throws {
        self.repository = repository
        guard let workdir = repository.workingDirectory else {
            throw GitError(
                code: .other(-1), function: "git_repository_workdir",
                detail: "a bare repository has no files to fingerprint", object: repository.gitDirectory)
        }
        root = URL(fileURLWithPath: workdir)
        self.entries = entries
        modified = Set(unstaged.filter { $0.status == .modified || $0.status == .typeChanged }.map(\.path))
        modifiedLengths = Set(modified.map(\.utf8.count))
        deleted = Set(unstaged.filter { $0.status == .deleted }.map(\.path))
        untracked = unstaged.filter { $0.status == .untracked && !$0.isSubmodule }.map(\.path)
        usesLFS = try entries.contains { entry in
            guard entry.path == ".gitattributes" || entry.path.hasSuffix("/.gitattributes") else { return false }
            guard let data = try repository.blobContents(entry.id, limit: 1 << 20) else { return true }
            return String(decoding: data, as: UTF8.self).contains("filter=lfs")
        }
    }

    /// The fingerprint of one path, or nil when it is neither tracked nor present.
    public func fingerprint(of path: String) throws -> Fingerprint? {
        if let entry = tracked[path], !deleted.contains(path) { return try fingerprint(of: entry) }
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) else { return nil }
        return try hash(path)
    }

    /// The files a set of globs selects (tracked and not deleted, plus untracked), with the
    /// set's combined fingerprint.
    public func fingerprint(patterns: [String]) throws -> SetFingerprint {
        try fingerprints(of: [patterns])[0]
    }

    /// Several sets at once: each path is split once and tested against every set's globs.
    public func fingerprints(of sets: [[String]]) throws -> [SetFingerprint] {
        let globs = sets.map { $0.map(PathGlob.init) }
        var members: [[SetFingerprint.Entry]] = Array(repeating: [], count: sets.count)
        for set in members.indices { members[set].reserveCapacity(entries.count + untracked.count) }
        // Runs once per tracked file: no escaping closures, the path split at most once.
        for entry in entries {
            if !deleted.isEmpty, deleted.contains(entry.path) { continue }
            try Self.add(entry.path, to: &members, of: globs) { try fingerprint(of: entry) }
        }
        for path in untracked {
            try Self.add(path, to: &members, of: globs) { try hash(path) }
        }
        return zip(sets, members).map { patterns, files in
            // Byte order of the paths (git's own order), the same on every machine. Index
            // entries already come in that order; only untracked additions need a sort.
            let sorted =
                untracked.isEmpty
                ? files : files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
            // The text "path\tfingerprint\n" per file, hashed in chunks as it is written (one
            // small buffer, not a megabyte-sized string).
            var hasher = SHA256()
            var text: [UInt8] = []
            text.reserveCapacity(1 << 16)
            for file in sorted {
                var path = file.path
                path.withUTF8 { text.append(contentsOf: $0) }
                text.append(UInt8(ascii: "\t"))
                file.fingerprint.append(to: &text)
                text.append(UInt8(ascii: "\n"))
                if text.count > (1 << 16) - 4096 {
                    text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
                    text.removeAll(keepingCapacity: true)
                }
            }
            text.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            let digest = hasher.finalize()
            return SetFingerprint(
                patterns: patterns, entries: sorted, fingerprint: Fingerprint(value: "sha256:" + hex(digest)))
        }
    }

    /// Adds `path` to every set whose globs match it; its fingerprint is made once, if needed.
    private static func add(
        _ path: String, to members: inout [[SetFingerprint.Entry]], of globs: [[PathGlob]],
        fingerprint make: () throws -> Fingerprint
    ) rethrows {
        var split: SplitPath?
        var value: Fingerprint?
        for set in globs.indices where matches(globs[set], path, &split) {
            let fingerprint = try value ?? make()
            value = fingerprint
            members[set].append(SetFingerprint.Entry(path: path, fingerprint: fingerprint))
        }
    }

    /// Whether any of a set's globs matches `path`; the path is split at most once, into `split`.
    private static func matches(_ globs: [PathGlob], _ path: String, _ split: inout SplitPath?) -> Bool {
        for glob in globs {
            if let quick = glob.quickMatch(path) {
                if quick { return true }
                continue
            }
            let segments = split ?? SplitPath(path)
            split = segments
            if glob.matches(segments) { return true }
        }
        return false
    }

    private func fingerprint(of entry: IndexEntry) throws -> Fingerprint {
        if entry.isSubmodule { return Fingerprint(blob: entry.id) }
        if !modified.isEmpty, modifiedLengths.contains(entry.path.utf8.count), modified.contains(entry.path) {
            return try hash(entry.path)
        }
        if let oid = try lfsObjectID(entry) { return Fingerprint(value: "sha256:" + oid) }
        return Fingerprint(blob: entry.id)
    }

    /// A Git LFS pointer's object id, for a path .gitattributes routes through the LFS filter.
    /// Only pointer-sized blobs (up to 1 KiB) are ever read.
    private func lfsObjectID(_ entry: IndexEntry) throws -> String? {
        guard usesLFS, (try? repository.attribute("filter", for: entry.path)) == "lfs" else { return nil }
        guard let data = try repository.blobContents(entry.id, limit: 1024) else { return nil }
        return Self.lfsObjectID(inPointer: data)
    }

    /// The `oid sha256:…` of a Git LFS pointer file (spec v1), or nil when `data` is not one.
    static func lfsObjectID(inPointer data: Data) -> String? {
        guard let text = String(data: data, encoding: .utf8),
            text.hasPrefix("version https://git-lfs.github.com/spec/v1\n")
        else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("oid sha256:") {
            let oid = line.dropFirst("oid sha256:".count)
            if oid.count == 64, oid.allSatisfy(\.isHexDigit) { return String(oid).lowercased() }
        }
        return nil
    }

    /// SHA-256 of a work-tree file, streamed in 1 MiB chunks. A symbolic link is hashed by its
    /// target text, as git stores it, never followed.
    private func hash(_ path: String) throws -> Fingerprint {
        let url = root.appendingPathComponent(path)
        var info = stat()
        if lstat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(url.path, &buffer, buffer.count - 1)
            guard length >= 0 else {
                throw FileError(
                    .io, path: path, detail: "cannot read the symbolic link: " + String(cString: strerror(errno)))
            }
            let target = buffer.prefix(length).map { UInt8(bitPattern: $0) }
            return Fingerprint(value: "sha256:" + hex(SHA256.hash(data: target)))
        }
        let key = FileStamp(info)
        if let cache, let key, let digest = cache.digest(for: path, stamp: key) {
            return Fingerprint(value: "sha256:" + digest)
        }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw FileError(
                .missing, path: path, detail: "cannot be read to fingerprint it: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        } catch {
            throw FileError(.io, path: path, detail: "read failed while fingerprinting: \(error.localizedDescription)")
        }
        let digest = hex(hasher.finalize())
        // A file changed within the last two seconds could change again within the same
        // timestamp tick ("racily clean", as git calls it): not remembered.
        if let cache, let key, Double(key.modifiedNanoseconds) / 1e9 < Date().timeIntervalSince1970 - 2 {
            cache.record(path: path, stamp: key, digest: digest)
        }
        return Fingerprint(value: "sha256:" + digest)
    }
}

/// Remembers the SHA-256 of files that had to be hashed (modified or untracked), keyed by
/// their ``FileStamp``, so an unchanged file is not read again (DVC keeps such a state
/// database too).
public protocol ContentHashCache: AnyObject, Sendable {
    func digest(for path: String, stamp: FileStamp) -> String?
    func record(path: String, stamp: FileStamp, digest: String)
}

func hex(_ digest: some Sequence<UInt8>) -> String { Hex.string(digest) }
