internal import CSQLite3
import Foundation
import GRDB
import MLOpsCore

/// An SQLite database file opened through GRDB: WAL journal, a busy timeout, extended
/// result codes (GRDB enables them), foreign keys on.
///
/// Owns one `DatabaseQueue` (one serialized connection). Call ``close()`` and check it; a
/// failing close must be seen. Statements and transactions are GRDB's: ``read(_:)`` runs a
/// read, ``write(_:)`` runs an immediate transaction that commits on return and rolls back
/// on a thrown error. Every GRDB error leaves as a ``StoreError`` naming the file and SQL.
public final class SQLiteDatabase: @unchecked Sendable {
    // DatabaseQueue serializes all access, but using it after close() crashes inside SQLite.
    // `lock` guards `closed` for the whole of each access (the queue is serial anyway), so a
    // close() can never slip between the check and the use. Hence @unchecked Sendable.
    private let queue: DatabaseQueue
    private let lock = NSRecursiveLock()
    private var closed = false
    public let path: String

    /// Opens or creates the database at `path`.
    /// - Parameter busyTimeout: how long a write waits for another process's lock before
    ///   failing with a busy ``StoreError`` (exit 75).
    public init(path: String, busyTimeout: TimeInterval = 5, readOnly: Bool = false) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.readonly = readOnly
        configuration.journalMode = readOnly ? .default : .wal
        configuration.foreignKeysEnabled = true
        configuration.label = "mlops-store"
        // Opening sets the journal mode, which SQLite refuses at once (SQLITE_BUSY, no busy
        // handler) while another process is opening or writing the same new file: retry for
        // as long as a write would wait.
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                // Touch the file so that "not a database" shows up now, not at the first query.
                _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
                self.queue = queue
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            } catch {
                throw StoreError.wrap(error, path: path)
            }
        }
    }

    deinit {
        // Silent backstop: DatabaseQueue closes itself when released. Explicit close() reports failures.
    }

    /// The version of the SQLite library in use, e.g. "3.40.1".
    public static var libraryVersion: String {
        guard let text = sqlite3_libversion() else { return "unknown" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)
    }

    /// The journal mode in effect ("wal" for a writable store).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "unknown" }
    }

    /// Runs `body` with read access.
    public func read<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try whileOpen { queue in try queue.read(body) }
    }

    /// Runs `body` in an immediate write transaction: committed when it returns, rolled back when it throws.
    public func write<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try whileOpen { queue in
            try queue.writeWithoutTransaction { db in
                var result: Result<T, any Error>?
                try db.inTransaction(.immediate) {
                    result = .success(try body(db))
                    return .commit
                }
                guard let result else { throw InternalError("transaction on '\(path)' returned no result") }
                return try result.get()
            }
        }
    }

    /// Runs `body` outside any transaction (for PRAGMAs and statements that manage their own).
    public func writeWithoutTransaction<T>(_ body: (GRDB.Database) throws -> T) throws -> T {
        try whileOpen { queue in try queue.writeWithoutTransaction(body) }
    }

    /// Applies `migrator`'s migrations not yet applied, each in its own transaction, and
    /// records them in the database (GRDB's `grdb_migrations` table).
    public func migrate(_ migrator: DatabaseMigrator) throws {
        try whileOpen { queue in try migrator.migrate(queue) }
    }

    /// Closes the connection, reporting a failure (for example statements still running). Idempotent.
    public func close() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        do { try queue.close() } catch { throw StoreError.wrap(error, path: path) }
    }

    /// Runs `body` with the queue while holding the lock, refusing once closed; GRDB errors become ``StoreError``.
    private func whileOpen<T>(_ body: (DatabaseQueue) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else {
            throw StoreError(code: SQLITE_MISUSE, detail: "the database was already closed", path: path)
        }
        do { return try body(queue) } catch { throw StoreError.wrap(error, path: path) }
    }
}
