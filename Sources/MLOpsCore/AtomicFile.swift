import Foundation

/// Writes files so that a reader sees the old content or the new, never a part: a temporary
/// file in the same folder, `fsync`, `rename(2)`, then `fsync` of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try create(url) { writer in
            let result: Result<Void, FileError> = data.withUnsafeBytes { buffer in
                Result { () throws(FileError) in try writer.write(buffer) }
            }
            try result.get()
        }
    }

    /// Streams the content `body` writes into a temporary file beside `url` and publishes it
    /// only when `body` returns; on any error the temporary file is removed and `url` is
    /// left as it was.
    public static func create(_ url: URL, _ body: (inout FileWriter) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        )
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError(
                errno == ENOENT ? .missing : .notWritable, path: url.path, detail: String(cString: strerror(errno)))
        }
        var writer = FileWriter(descriptor: descriptor, path: url.path)
        do {
            try body(&writer)
            try writer.flush()
            if fsync(descriptor) != 0 {
                throw FileError(.io, path: url.path, detail: "fsync failed: " + String(cString: strerror(errno)))
            }
        } catch {
            close(descriptor)
            unlink(temporary.path)
            throw error
        }
        close(descriptor)
        guard rename(temporary.path, url.path) == 0 else {
            let detail = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FileError(.io, path: url.path, detail: detail)
        }
        let folderDescriptor = open(folder.path, O_RDONLY)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }
}

/// Buffered sequential writes to an open file, counting the bytes written.
public struct FileWriter {
    let descriptor: Int32
    let path: String
    private var buffer: [UInt8] = []
    private static let bufferSize = 1 << 20
    /// Bytes written so far, buffered or not.
    public private(set) var offset = 0

    /// Writes to `descriptor` (left open), naming `path` in errors.
    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        buffer.reserveCapacity(Self.bufferSize)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        offset += bytes.count
        if buffer.count + bytes.count <= Self.bufferSize {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        if bytes.count >= Self.bufferSize {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public mutating func write(_ bytes: [UInt8]) throws(FileError) {
        let result: Result<Void, FileError> = bytes.withUnsafeBytes { raw in
            Result { () throws(FileError) in try write(raw) }
        }
        try result.get()
    }

    /// Zero bytes up to the next multiple of `alignment`.
    public mutating func pad(to alignment: Int) throws(FileError) {
        let remainder = offset % alignment
        if remainder != 0 { try write([UInt8](repeating: 0, count: alignment - remainder)) }
    }

    /// Writes what is buffered.
    public mutating func flush() throws(FileError) {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        let result: Result<Void, FileError> = pending.withUnsafeBytes { raw in
            Result { () throws(FileError) in try writeAll(raw) }
        }
        try result.get()
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let written = Foundation.write(descriptor, base + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileError(.io, path: path, detail: String(cString: strerror(errno)))
            }
            done += written
        }
    }
}

/// Publishes a folder as a whole: its content is written into a staging folder beside it,
/// which takes the folder's place only when everything is written. A failure removes the
/// staging folder and leaves any previous folder as it was.
public enum StagedFolder {
    public static func publish(_ url: URL, _ body: (URL) throws -> Void) throws {
        let manager = FileManager.default
        let parent = url.deletingLastPathComponent()
        let tag = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let staging = parent.appendingPathComponent(".\(url.lastPathComponent).staging-\(tag)")
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw FileError(.notWritable, path: parent.path, detail: (error as NSError).localizedDescription)
        }
        do {
            try body(staging)
        } catch {
            try? manager.removeItem(at: staging)
            throw error
        }
        var old: URL?
        if manager.fileExists(atPath: url.path) {
            let aside = parent.appendingPathComponent(".\(url.lastPathComponent).old-\(tag)")
            guard rename(url.path, aside.path) == 0 else {
                let detail = String(cString: strerror(errno))
                try? manager.removeItem(at: staging)
                throw FileError(.io, path: url.path, detail: detail)
            }
            old = aside
        }
        guard rename(staging.path, url.path) == 0 else {
            let detail = String(cString: strerror(errno))
            if let old { rename(old.path, url.path) }
            try? manager.removeItem(at: staging)
            throw FileError(.io, path: url.path, detail: detail)
        }
        if let old { try? manager.removeItem(at: old) }
        let descriptor = open(parent.path, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }
}
