internal import CArchive
import Foundation
import MLOpsCore

/// A libarchive failure: the C function, libarchive's own message, and the archive and entry involved.
public struct ArchiveError: MLOpsError {
    public enum Code: Sendable, Equatable {
        /// libarchive reported `ARCHIVE_FATAL`/`ARCHIVE_FAILED`, with `archive_errno`.
        case library(status: Int32, errno: Int32)
        /// An entry exceeded a size limit set by the caller.
        case tooLarge(limit: Int64)
        /// The writer or reader was used after `finish()`/`close()`.
        case closed
        /// The archive file does not exist.
        case missing
        /// An entry the reader's policy refuses (a sparse one).
        case refused
    }

    public let code: Code
    public let function: String
    public let detail: String
    /// The archive file.
    public let archive: String
    /// The entry being read or written, when there is one.
    public let entry: String?

    public init(code: Code, function: String, detail: String, archive: String, entry: String? = nil) {
        self.code = code
        self.function = function
        self.detail = detail
        self.archive = archive
        self.entry = entry
    }

    static let ioErrnos: Set<Int32> = [
        EIO, ENOSPC, EACCES, EPERM, EROFS, EDQUOT, ENOENT, EISDIR, ENOTDIR, EMFILE, ENFILE,
    ]

    public var message: String {
        let subject = entry.map { "entry '\($0)' of '\(archive)'" } ?? "'\(archive)'"
        return "archive: \(function) failed for \(subject): \(detail)"
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .missing: .noInput
        case .tooLarge, .refused: .dataError
        case .closed: .internalError
        case .library(_, let errno):
            // A real system error (disk full, permission, missing file) is I/O; libarchive's own
            // codes (bad format, truncated data) mean the archive's content is bad.
            Self.ioErrnos.contains(errno) ? .ioError : .dataError
        }
    }
}

/// The one place a libarchive status becomes a Swift error; reads `archive_error_string` at once.
/// `ARCHIVE_WARN` is not an error: libarchive completed the call.
@discardableResult
func check(
    _ status: Int32, _ function: StaticString, _ handle: OpaquePointer?, archive: String, entry: String? = nil
) throws(ArchiveError) -> Int32 {
    guard status < ARCHIVE_WARN else { return status }
    let detail = handle.flatMap { cString(archive_error_string($0)) } ?? "status \(status)"
    let errno = handle.map { archive_errno($0) } ?? 0
    throw ArchiveError(
        code: .library(status: status, errno: errno), function: "\(function)", detail: detail, archive: archive,
        entry: entry)
}

func cString(_ pointer: UnsafePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
}
