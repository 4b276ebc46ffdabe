internal import CArchive
import Foundation

/// One entry's header as read from an archive.
public struct ArchiveEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo, socket, unknown
    }

    public let path: String
    public let kind: Kind
    /// The size the header declares (not trusted: reads are capped separately).
    public let size: Int64
    public let permissions: UInt32
    public let modificationTime: Int64
    public let userID: Int64
    public let groupID: Int64
    public let owner: String?
    public let group: String?
    /// Target of a symbolic or hard link.
    public let linkTarget: String?
}

/// What a reader accepts.
public struct ArchiveReadPolicy: Sendable, Hashable {
    /// A compression filter libarchive reads with its own library (never an external program).
    public enum Filter: Sendable, Hashable { case none, zstd, gzip }

    /// The filters accepted; nil for every one libarchive knows (some of which run an
    /// external program, e.g. `lzop`, when their library is absent).
    public var filters: Set<Filter>?
    /// Refuse entries with holes: a sparse entry's data is mostly zeros the reader makes up,
    /// up to any size it declares.
    public var refuseSparse: Bool

    public init(filters: Set<Filter>?, refuseSparse: Bool) {
        self.filters = filters
        self.refuseSparse = refuseSparse
    }

    /// Any tar archive libarchive reads.
    public static let any = ArchiveReadPolicy(filters: nil, refuseSparse: false)
    /// What `mlops release` writes, nothing more: pax tar, zstd or uncompressed, no sparse entry.
    public static let bundle = ArchiveReadPolicy(filters: [.none, .zstd], refuseSparse: true)
}

/// Reads a tar archive entry by entry, compressed with the filters its policy accepts.
public final class ArchiveReader {
    // Owned archive_read handle; nil once close() ran.
    private var handle: OpaquePointer?
    public let path: String
    private var currentEntry: String?
    /// The current entry's header, owned by the handle and valid until the next `next()`.
    private var currentHeader: OpaquePointer?
    public let policy: ArchiveReadPolicy

    public init(path: String, policy: ArchiveReadPolicy = .any) throws(ArchiveError) {
        try LibArchive.ensureReady()
        self.path = path
        self.policy = policy
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArchiveError(
                code: .missing, function: "archive_read_open_filename", detail: "no such file", archive: path)
        }
        guard let handle = archive_read_new() else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_read_new", detail: "out of memory",
                archive: path)
        }
        self.handle = handle
        if let filters = policy.filters {
            for filter in filters {
                let (status, function): (Int32, StaticString) =
                    switch filter {
                    case .none: (archive_read_support_filter_none(handle), "archive_read_support_filter_none")
                    case .zstd: (archive_read_support_filter_zstd(handle), "archive_read_support_filter_zstd")
                    case .gzip: (archive_read_support_filter_gzip(handle), "archive_read_support_filter_gzip")
                    }
                // ARCHIVE_WARN: libarchive would run an external program for it; refused.
                guard status == ARCHIVE_OK else {
                    throw ArchiveError(
                        code: .library(status: status, errno: 0), function: "\(function)",
                        detail:
                            "this libarchive has no built-in \(filter) decompression (it would run an external program)",
                        archive: path)
                }
            }
        } else {
            try check(archive_read_support_filter_all(handle), "archive_read_support_filter_all", handle, archive: path)
        }
        try check(archive_read_support_format_tar(handle), "archive_read_support_format_tar", handle, archive: path)
        try check(
            archive_read_open_filename(handle, path, 64 * 1024), "archive_read_open_filename", handle, archive: path)
    }

    deinit {
        if let handle { archive_read_free(handle) }
    }

    /// The compression filters in use, outermost first (e.g. `["zstd", "none"]`).
    public var filters: [String] {
        guard let handle else { return [] }
        return (0..<archive_filter_count(handle)).compactMap { cString(archive_filter_name(handle, $0)) }
    }

    /// The archive format name, e.g. "POSIX pax interchange format".
    public var formatName: String? { handle.flatMap { cString(archive_format_name($0)) } }

    /// The next entry's header, or nil at the end of the archive.
    public func next() throws(ArchiveError) -> ArchiveEntry? {
        guard let handle else {
            throw ArchiveError(
                code: .closed, function: "archive_read_next_header", detail: "the reader was closed", archive: path)
        }
        var entry: OpaquePointer?
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        // ARCHIVE_WARN still gives a usable header; RETRY or worse is an error here.
        if status != ARCHIVE_OK && status != ARCHIVE_WARN {
            try check(min(status, ARCHIVE_FAILED), "archive_read_next_header", handle, archive: path)
        }
        guard let entry else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_read_next_header",
                detail: "no entry header", archive: path)
        }
        let name = cString(archive_entry_pathname_utf8(entry)) ?? cString(archive_entry_pathname(entry)) ?? ""
        currentEntry = name
        currentHeader = entry
        if policy.refuseSparse, archive_entry_sparse_count(entry) > 0 {
            throw ArchiveError(
                code: .refused, function: "archive_read_next_header",
                detail: "it is a sparse entry (its holes would be read as zeros); this reader accepts none",
                archive: path, entry: name)
        }
        let type = UInt32(archive_entry_filetype(entry))
        let kind: ArchiveEntry.Kind
        let hardlink = cString(archive_entry_hardlink(entry))
        switch type {
        case _ where hardlink != nil: kind = .hardlink
        case CARCHIVE_AE_IFREG: kind = .file
        case CARCHIVE_AE_IFDIR: kind = .directory
        case CARCHIVE_AE_IFLNK: kind = .symlink
        case CARCHIVE_AE_IFCHR: kind = .characterDevice
        case CARCHIVE_AE_IFBLK: kind = .blockDevice
        case CARCHIVE_AE_IFIFO: kind = .fifo
        case CARCHIVE_AE_IFSOCK: kind = .socket
        default: kind = .unknown
        }
        // tar stores directories as "name/"; report them without the slash.
        let path = kind == .directory && name.count > 1 && name.hasSuffix("/") ? String(name.dropLast()) : name
        return ArchiveEntry(
            path: path, kind: kind, size: archive_entry_size(entry), permissions: UInt32(archive_entry_perm(entry)),
            modificationTime: Int64(archive_entry_mtime(entry)), userID: archive_entry_uid(entry),
            groupID: archive_entry_gid(entry), owner: cString(archive_entry_uname(entry)),
            group: cString(archive_entry_gname(entry)), linkTarget: hardlink ?? cString(archive_entry_symlink(entry)))
    }

    /// The current entry's data, refusing to read more than `limit` bytes whatever the header says.
    public func readData(limit: Int64) throws(ArchiveError) -> Data {
        var data = Data()
        try streamData(limit: limit) { data.append(contentsOf: $0) }
        return data
    }

    /// The current entry's data block by block, refusing more than `limit` bytes whatever the
    /// header says. Sparse holes are given as zeros.
    public func streamData(limit: Int64, _ body: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void)
        throws(ArchiveError)
    {
        try blocks(limit: limit) { (block, _) throws(ArchiveError) in try body(block) }
    }

    /// Writes the current entry, a regular file, to `destination` (an absolute path whose
    /// folder exists) through libarchive's disk writer with its secure options, never
    /// overwriting, with mode 0644 whatever the archive says; `body` sees every block on the
    /// way, for hashing.
    public func extract(
        to destination: String, with disk: ArchiveDiskWriter, limit: Int64,
        _ body: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        guard let header = currentHeader, let handle = disk.handle else {
            throw ArchiveError(
                code: .closed, function: "archive_write_header", detail: "no current entry or a closed disk writer",
                archive: path, entry: currentEntry)
        }
        archive_entry_set_pathname_utf8(header, destination)
        archive_entry_set_perm(header, 0o644)
        try check(
            archive_write_header(handle, header), "archive_write_header", handle, archive: path, entry: currentEntry)
        try blocks(limit: limit) { (block, offset) throws(ArchiveError) in
            try body(block)
            let written = archive_write_data_block(handle, block.baseAddress, block.count, offset)
            if written < 0 {
                try check(
                    min(Int32(written), ARCHIVE_FAILED), "archive_write_data_block", handle, archive: path,
                    entry: currentEntry)
            }
        }
        try check(
            archive_write_finish_entry(handle), "archive_write_finish_entry", handle, archive: path, entry: currentEntry
        )
    }

    private func blocks(limit: Int64, _ body: (UnsafeRawBufferPointer, Int64) throws(ArchiveError) -> Void)
        throws(ArchiveError)
    {
        guard let handle else {
            throw ArchiveError(
                code: .closed, function: "archive_read_data", detail: "the reader was closed", archive: path)
        }
        var total: Int64 = 0
        while true {
            var buffer: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let status = archive_read_data_block(handle, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { break }
            // WARN and RETRY are not "data": none of them may pass as a block.
            if status != ARCHIVE_OK {
                try check(
                    min(status, ARCHIVE_FAILED), "archive_read_data_block", handle, archive: path, entry: currentEntry)
            }
            // A block's end, not its size, is what a sparse entry's holes add up to.
            let end = Int64(offset) + Int64(size)
            if end > limit {
                throw ArchiveError(
                    code: .tooLarge(limit: limit), function: "archive_read_data",
                    detail: "entry is larger than the limit of \(limit) bytes", archive: path, entry: currentEntry)
            }
            if Int64(offset) > total {
                // A hole: zeros, as a reader of the extracted file would see them.
                let zeros = [UInt8](repeating: 0, count: Int(Int64(offset) - total))
                let filled: Result<Void, ArchiveError> = zeros.withUnsafeBytes { raw in
                    Result { () throws(ArchiveError) in try body(raw, total) }
                }
                try filled.get()
            }
            try body(UnsafeRawBufferPointer(start: buffer, count: size), Int64(offset))
            total = max(total, end)
        }
    }

    /// Closes the reader and reports a failure; idempotent.
    public func close() throws(ArchiveError) {
        guard let handle else { return }
        self.handle = nil
        currentHeader = nil
        let status = archive_read_close(handle)
        let detail = cString(archive_error_string(handle))
        archive_read_free(handle)
        if status < ARCHIVE_WARN {
            throw ArchiveError(
                code: .library(status: status, errno: 0), function: "archive_read_close",
                detail: detail ?? "status \(status)", archive: path)
        }
    }
}

/// libarchive's disk writer with the secure extraction options: no symbolic link is
/// followed on the way to an entry, no `..` in a path, no existing file overwritten, and no
/// owner, time or ACL taken from the archive.
public final class ArchiveDiskWriter {
    // Owned archive_write_disk handle.
    fileprivate(set) var handle: OpaquePointer?

    public init() throws(ArchiveError) {
        try LibArchive.ensureReady()
        guard let handle = archive_write_disk_new() else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_write_disk_new",
                detail: "out of memory", archive: "(disk)")
        }
        self.handle = handle
        // Paths are made absolute (the destination folder) by the caller after its own checks,
        // so ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS would refuse every entry; the caller
        // refuses absolute entry names itself.
        let options = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_NO_OVERWRITE
        try check(
            archive_write_disk_set_options(handle, options), "archive_write_disk_set_options", handle, archive: "(disk)"
        )
    }

    deinit {
        if let handle { archive_write_free(handle) }
    }
}
