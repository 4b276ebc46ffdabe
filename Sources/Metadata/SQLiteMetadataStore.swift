import Foundation
import GRDB
import MLOpsCore
import SQLiteKit

/// The embedded metadata store: an SQLite file (WAL, busy timeout) in `.mlops`, the default.
/// Its questions and records are ``SQLMetadataStore``'s; this class opens the file and owns
/// the connection.
///
/// The schema is built by named, ordered migrations recorded in the store; a store that
/// holds a migration this mlops does not know was made by a newer mlops and is refused,
/// never migrated backwards.
public final class SQLiteMetadataStore: SQLMetadataStore, @unchecked Sendable {
    public static let fileName = "store.sqlite"
    let database: SQLiteDatabase
    public var path: String { database.path }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-metadata") { db in
            try db.execute(
                sql: """
                    CREATE TABLE contexts (
                        id INTEGER PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
                        properties TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, UNIQUE (type, name));
                    CREATE TABLE artifacts (
                        id INTEGER PRIMARY KEY, type TEXT NOT NULL, uri TEXT NOT NULL, fingerprint TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('LIVE', 'DELETED')),
                        properties TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
                    CREATE TABLE executions (
                        id INTEGER PRIMARY KEY, component TEXT NOT NULL, component_version TEXT NOT NULL,
                        state TEXT NOT NULL, cache_key TEXT NOT NULL, manifest TEXT, git_commit TEXT,
                        reason TEXT, error TEXT, host TEXT, pid INTEGER, staging TEXT,
                        started_at REAL NOT NULL, finished_at REAL,
                        cached_from INTEGER REFERENCES executions(id));
                    CREATE INDEX executions_by_key ON executions(cache_key, state);
                    CREATE INDEX executions_by_component ON executions(component, id);
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY,
                        execution_id INTEGER NOT NULL REFERENCES executions(id),
                        artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
                        type TEXT NOT NULL CHECK (type IN ('INPUT', 'OUTPUT')), name TEXT NOT NULL);
                    CREATE INDEX events_by_execution ON events(execution_id);
                    CREATE INDEX events_by_artifact ON events(artifact_id);
                    CREATE TABLE associations (
                        context_id INTEGER NOT NULL REFERENCES contexts(id),
                        execution_id INTEGER NOT NULL REFERENCES executions(id),
                        PRIMARY KEY (context_id, execution_id));
                    CREATE TABLE attributions (
                        context_id INTEGER NOT NULL REFERENCES contexts(id),
                        artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
                        PRIMARY KEY (context_id, artifact_id));
                    """)
        }
        migrator.registerMigration("v2-file-hashes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE file_hashes (
                        path TEXT PRIMARY KEY, size INTEGER NOT NULL, inode INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, digest TEXT NOT NULL,
                        recorded_at REAL NOT NULL);
                    """)
        }
        migrator.registerMigration("v3-run-tracking") { db in
            try db.execute(
                sql: """
                    CREATE TABLE run_params (
                        run_id INTEGER NOT NULL REFERENCES contexts(id), key TEXT NOT NULL, value TEXT NOT NULL,
                        PRIMARY KEY (run_id, key));
                    CREATE TABLE run_tags (
                        run_id INTEGER NOT NULL REFERENCES contexts(id), key TEXT NOT NULL, value TEXT NOT NULL,
                        PRIMARY KEY (run_id, key));
                    CREATE TABLE run_files (
                        run_id INTEGER NOT NULL REFERENCES contexts(id), path TEXT NOT NULL, location TEXT NOT NULL,
                        PRIMARY KEY (run_id, path));
                    CREATE TABLE execution_params (
                        execution_id INTEGER NOT NULL REFERENCES executions(id), key TEXT NOT NULL,
                        value TEXT NOT NULL, PRIMARY KEY (execution_id, key));
                    CREATE TABLE execution_metrics (
                        execution_id INTEGER NOT NULL REFERENCES executions(id), key TEXT NOT NULL,
                        step INTEGER NOT NULL, value REAL, timestamp REAL NOT NULL,
                        PRIMARY KEY (execution_id, key, step));
                    CREATE TABLE tracking_outbox (
                        id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('run', 'registry')),
                        subject TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '{}',
                        state TEXT NOT NULL CHECK (state IN ('pending', 'sent')), remote_id TEXT,
                        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL,
                        updated_at REAL NOT NULL, UNIQUE (kind, subject));
                    CREATE TABLE run_metrics (
                        run_id INTEGER NOT NULL REFERENCES contexts(id), key TEXT NOT NULL,
                        step INTEGER NOT NULL, value REAL, timestamp REAL NOT NULL,
                        PRIMARY KEY (run_id, key, step, timestamp));
                    CREATE INDEX run_tags_by_value ON run_tags(key, value);
                    CREATE TABLE store_identity (id TEXT PRIMARY KEY);
                    INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))));
                    """)
        }
        migrator.registerMigration("v4-delivery-claims") { db in
            // Who is sending a delivery (`HOST:PID`) and until when the hold lasts, so a detached
            // `mlops runs sync` and the next command never send the same run at once.
            try db.execute(
                sql: """
                    ALTER TABLE tracking_outbox ADD COLUMN claimed_by TEXT;
                    ALTER TABLE tracking_outbox ADD COLUMN claimed_until REAL;
                    """)
        }
        return migrator
    }

    /// Opens (creating when absent) the store at `path`.
    /// - Parameter shared: whether other checkouts use the same file (it is not this
    ///   checkout's own `.mlops/store.sqlite`), so their artifacts are not taken as gone.
    public init(path: String, busyTimeout: TimeInterval = 5, shared: Bool = false) throws {
        database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
        super.init(backend: SQLiteBackend(database), shared: shared)
        do {
            let known = Self.migrator.migrations
            var applied = try appliedMigrations()
            if !Set(known).isSubset(of: applied) {
                // Two processes opening a new store at once must not both apply a migration:
                // they take turns on a lock file beside it (never a second descriptor on the
                // database itself, which would drop SQLite's own locks when closed).
                let lock = open(path + ".migrating", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                if lock >= 0 { flock(lock, LOCK_EX) }
                defer {
                    if lock >= 0 {
                        flock(lock, LOCK_UN)
                        Glibc.close(lock)
                    }
                }
                applied = try appliedMigrations()
                try Self.refuseNewer(applied, known: known, location: path)
                try database.migrate(Self.migrator)
            } else {
                try Self.refuseNewer(applied, known: known, location: path)
            }
        } catch {
            try? database.close()
            throw error
        }
    }

    private func appliedMigrations() throws -> Set<String> {
        try database.read { db -> Set<String> in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        }
    }

}

/// ``SQLiteMetadataStore``'s database: one GRDB queue; writes are immediate transactions
/// (the whole file is locked while one runs, up to the busy timeout).
final class SQLiteBackend: SQLBackend, @unchecked Sendable {
    let database: SQLiteDatabase

    init(_ database: SQLiteDatabase) { self.database = database }

    var location: String { database.path }
    var lockingRead: String { "" }

    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try database.write { db in try body(Transaction(db: db)) }
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try database.read { db in try body(Transaction(db: db)) }
    }

    func close() throws { try database.close() }

    struct Transaction: SQLTransaction {
        let db: GRDB.Database

        func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            let values: [DatabaseValue] = arguments.map { value in
                switch value {
                case .null: .null
                case .integer(let number): number.databaseValue
                case .real(let number): number.databaseValue
                case .text(let text): text.databaseValue
                }
            }
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                SQLRow(
                    columns: Array(row.columnNames),
                    values: row.databaseValues.map { value in
                        switch value.storage {
                        case .null: .null
                        case .int64(let number): .integer(number)
                        case .double(let number): .real(number)
                        case .string(let text): .text(text)
                        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
                        }
                    })
            }
        }
    }
}
