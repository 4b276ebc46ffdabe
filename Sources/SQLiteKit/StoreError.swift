internal import CSQLite3
import Foundation
import GRDB
import MLOpsCore

/// An SQLite failure: the extended result code, SQLite's message, the SQL, and the database file.
public struct StoreError: MLOpsError {
    /// SQLite's extended result code (e.g. 5 `SQLITE_BUSY`, 26 `SQLITE_NOTADB`, 11 `SQLITE_CORRUPT`).
    public let code: Int32
    /// What SQLite said (`sqlite3_errmsg` at the time of the failure).
    public let detail: String
    /// The statement that failed, when there was one.
    public let sql: String?
    /// The database file.
    public let path: String

    public init(code: Int32, detail: String, sql: String? = nil, path: String) {
        self.code = code
        self.detail = detail
        self.sql = sql
        self.path = path
    }

    /// The primary result code (the low 8 bits of the extended one).
    public var primaryCode: Int32 { code & 0xFF }

    /// SQLite's name for the code's meaning, from `sqlite3_errstr`.
    public var codeDescription: String {
        guard let text = sqlite3_errstr(code) else { return "code \(code)" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)
    }

    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    public var isCorrupt: Bool { primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB }

    public var message: String {
        var text = "store '\(path)': \(detail) (SQLite \(code): \(codeDescription))"
        if let sql { text += " in `\(sql)`" }
        return text
    }

    public var hint: String? {
        if isBusy { return "another mlops process holds the store; retry when it finishes" }
        if isCorrupt { return "the file is not a usable SQLite database; move it aside to start a fresh store" }
        return nil
    }

    public var exitStatus: ExitStatus {
        switch primaryCode {
        case SQLITE_BUSY, SQLITE_LOCKED: .temporaryFailure
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM:
            .ioError
        default: .internalError
        }
    }

    /// The one place a GRDB/SQLite error becomes a ``StoreError``.
    static func wrap(_ error: any Error, path: String) -> any Error {
        if let error = error as? DatabaseError {
            return StoreError(
                code: error.extendedResultCode.rawValue, detail: error.message ?? "unknown error", sql: error.sql,
                path: path)
        }
        return error
    }
}
