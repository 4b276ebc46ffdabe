internal import CArchive
import Foundation

/// Process-wide libarchive setup, done once and explicitly.
public enum LibArchive {
    // Swift programs start in the "C" locale, in which libarchive cannot convert non-ASCII
    // path names (archive_entry_set_pathname_utf8 then crashes inside archive_write_header,
    // seen with 3.6.2). Only the character-type category is changed, so number formatting
    // elsewhere in the process is unaffected.
    private static let localeReady: Bool = setlocale(LC_CTYPE, "C.UTF-8") != nil

    /// Makes sure the UTF-8 character locale is set; the executable calls this at start-up and
    /// every reader and writer checks it.
    public static func ensureReady() throws(ArchiveError) {
        guard localeReady else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "setlocale",
                detail: "the C.UTF-8 locale is not available, so non-ASCII file names cannot be archived safely",
                archive: "(all archives)")
        }
    }

    /// libarchive's version with its compression libraries, e.g. "libarchive 3.6.2 zlib/1.2.13 … libzstd/1.5.4".
    public static var versionDetails: String { cString(archive_version_details()) ?? "unknown" }
    public static var version: String { cString(archive_version_string()) ?? "unknown" }
}

/// How the tar stream is compressed.
public enum ArchiveCompression: Sendable, Hashable {
    case none
    /// gzip without the header timestamp, so output is reproducible.
    case gzip(level: Int = 6)
    case zstd(level: Int = 19)
}

/// The fixed metadata every entry gets, so the same inputs give the same bytes.
public struct EntryMetadata: Sendable, Hashable {
    public var modificationTime: Int64 = 0
    public var owner: String = "root"
    public var group: String = "root"
    public var userID: Int64 = 0
    public var groupID: Int64 = 0
    public var filePermissions: UInt32 = 0o644
    public var directoryPermissions: UInt32 = 0o755
    public init() {}
}

/// Writes a POSIX (pax) tar archive, optionally compressed, with fixed entry metadata.
///
/// Entries are written in the order they are added; callers that want reproducible
/// archives add them sorted. Call ``finish()`` and check it. A writer that is dropped
/// without `finish()`, or whose entry failed half-way, is abandoned with
/// `archive_write_fail`, so no end-of-archive marker is written and the file does not read
/// as a complete archive. Callers still write to a temporary name and rename on success.
public final class ArchiveWriter {
    // Owned archive_write handle; nil once finish() ran. archive_write_free also closes
    // (libarchive docs: "invokes archive_write_close() if it was not invoked manually").
    private var handle: OpaquePointer?
    public let path: String
    public let metadata: EntryMetadata

    public init(path: String, compression: ArchiveCompression, metadata: EntryMetadata = EntryMetadata())
        throws(ArchiveError)
    {
        try LibArchive.ensureReady()
        self.path = path
        self.metadata = metadata
        guard let handle = archive_write_new() else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_write_new", detail: "out of memory",
                archive: path)
        }
        self.handle = handle
        try check(
            archive_write_set_format_pax_restricted(handle), "archive_write_set_format_pax_restricted", handle,
            archive: path)
        switch compression {
        case .none:
            break
        case .gzip(let level):
            try check(archive_write_add_filter_gzip(handle), "archive_write_add_filter_gzip", handle, archive: path)
            try check(
                archive_write_set_filter_option(handle, "gzip", "timestamp", nil), "archive_write_set_filter_option",
                handle, archive: path)
            try check(
                archive_write_set_filter_option(handle, "gzip", "compression-level", String(level)),
                "archive_write_set_filter_option", handle, archive: path)
        case .zstd(let level):
            try check(archive_write_add_filter_zstd(handle), "archive_write_add_filter_zstd", handle, archive: path)
            try check(
                archive_write_set_filter_option(handle, "zstd", "compression-level", String(level)),
                "archive_write_set_filter_option", handle, archive: path)
        }
        try check(archive_write_open_filename(handle, path), "archive_write_open_filename", handle, archive: path)
    }

    deinit {
        // archive_write_free would otherwise close the archive properly, making a dropped,
        // unfinished writer's output look complete (libarchive: "archive_write_fail marks the
        // archive as FATAL so that a subsequent free() is just a free").
        if let handle {
            archive_write_fail(handle)
            archive_write_free(handle)
        }
    }

    /// Abandons the archive after a failed entry: nothing more is written to it.
    private func abandon() {
        guard let handle else { return }
        self.handle = nil
        archive_write_fail(handle)
        archive_write_free(handle)
    }

    /// Adds a regular file with the given bytes.
    public func addFile(_ name: String, data: Data, executable: Bool = false) throws(ArchiveError) {
        do { try writeFile(name, data: data, executable: executable) } catch {
            abandon()
            throw error
        }
    }

    private func writeFile(_ name: String, data: Data, executable: Bool) throws(ArchiveError) {
        let handle = try liveHandle(entry: name)
        try writeHeader(name, type: CARCHIVE_AE_IFREG, size: Int64(data.count), executable: executable, handle: handle)
        let written: Int = data.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
            return archive_write_data(handle, base, buffer.count)
        }
        if written < 0 || written != data.count {
            try check(
                Int32(written < 0 ? written : Int(ARCHIVE_FATAL)), "archive_write_data", handle, archive: path,
                entry: name)
        }
        try check(archive_write_finish_entry(handle), "archive_write_finish_entry", handle, archive: path, entry: name)
    }

    /// Adds a regular file streamed from disk in 1 MiB chunks (for large models).
    public func addFile(_ name: String, contentsOf source: URL, executable: Bool = false) throws(ArchiveError) {
        do { try writeFile(name, contentsOf: source, executable: executable) } catch {
            abandon()
            throw error
        }
    }

    private func writeFile(_ name: String, contentsOf source: URL, executable: Bool) throws(ArchiveError) {
        let handle = try liveHandle(entry: name)
        let size: Int64
        let file: FileHandle
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: source.path)
            size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            file = try FileHandle(forReadingFrom: source)
        } catch {
            throw ArchiveError(
                code: .missing, function: "open", detail: "\(error.localizedDescription)", archive: path,
                entry: source.path)
        }
        defer { try? file.close() }
        try writeHeader(name, type: CARCHIVE_AE_IFREG, size: size, executable: executable, handle: handle)
        var total: Int64 = 0
        while true {
            let chunk: Data
            do { chunk = try file.read(upToCount: 1 << 20) ?? Data() } catch {
                throw ArchiveError(
                    code: .library(status: ARCHIVE_FATAL, errno: 0), function: "read",
                    detail: "\(error.localizedDescription)", archive: path, entry: source.path)
            }
            if chunk.isEmpty { break }
            let written: Int = chunk.withUnsafeBytes { archive_write_data(handle, $0.baseAddress, $0.count) }
            if written != chunk.count {
                try check(
                    Int32(written < 0 ? written : Int(ARCHIVE_FATAL)), "archive_write_data", handle, archive: path,
                    entry: name)
            }
            total += Int64(chunk.count)
        }
        if total != size {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_write_data",
                detail: "file changed size while being archived (\(size) → \(total) bytes)", archive: path, entry: name)
        }
        try check(archive_write_finish_entry(handle), "archive_write_finish_entry", handle, archive: path, entry: name)
    }

    /// Adds a directory entry.
    public func addDirectory(_ name: String) throws(ArchiveError) {
        do {
            let handle = try liveHandle(entry: name)
            try writeHeader(name, type: CARCHIVE_AE_IFDIR, size: 0, executable: false, handle: handle)
            try check(
                archive_write_finish_entry(handle), "archive_write_finish_entry", handle, archive: path, entry: name)
        } catch {
            abandon()
            throw error
        }
    }

    /// Closes the archive, flushing the compressor, and reports any failure. Idempotent.
    public func finish() throws(ArchiveError) {
        guard let handle else { return }
        self.handle = nil
        let closed = archive_write_close(handle)
        let detail = cString(archive_error_string(handle))
        archive_write_free(handle)
        if closed < ARCHIVE_WARN {
            throw ArchiveError(
                code: .library(status: closed, errno: 0), function: "archive_write_close",
                detail: detail ?? "status \(closed)", archive: path)
        }
    }

    private func liveHandle(entry: String) throws(ArchiveError) -> OpaquePointer {
        guard let handle else {
            throw ArchiveError(
                code: .closed, function: "archive_write_header", detail: "the archive was already finished",
                archive: path, entry: entry)
        }
        return handle
    }

    private func writeHeader(_ name: String, type: UInt32, size: Int64, executable: Bool, handle: OpaquePointer)
        throws(ArchiveError)
    {
        // One archive_entry per header, freed right after archive_write_header copied it.
        guard let entry = archive_entry_new() else {
            throw ArchiveError(
                code: .library(status: ARCHIVE_FATAL, errno: 0), function: "archive_entry_new", detail: "out of memory",
                archive: path, entry: name)
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, name)
        archive_entry_set_filetype(entry, type)
        let permissions =
            type == CARCHIVE_AE_IFDIR || executable ? metadata.directoryPermissions : metadata.filePermissions
        archive_entry_set_perm(entry, mode_t(permissions))
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, time_t(metadata.modificationTime), 0)
        archive_entry_set_uid(entry, metadata.userID)
        archive_entry_set_gid(entry, metadata.groupID)
        archive_entry_set_uname_utf8(entry, metadata.owner)
        archive_entry_set_gname_utf8(entry, metadata.group)
        try check(archive_write_header(handle, entry), "archive_write_header", handle, archive: path, entry: name)
    }
}
