import Foundation
import MLOpsCore

/// The metadata store on a PostgreSQL server, for CI jobs on many machines that share one
/// store (`store: postgresql://…` or `MLOPS_STORE`). The same tables, migration names and
/// answers as ``SQLiteMetadataStore``; only the column types differ (`BIGSERIAL` ids,
/// `DOUBLE PRECISION` times).
///
/// Many jobs write at once: every call is one READ COMMITTED transaction whose rows are its
/// own, ids come from sequences, the one read-modify-write (a run's properties) locks its
/// row, and migrations take an advisory lock so that two jobs opening an empty database do
/// not both create the tables.
public final class PostgresMetadataStore: SQLMetadataStore, @unchecked Sendable {
    let session: PostgresSession

    /// The migrations in order, with SQLiteMetadataStore's names; each lands whole or not at
    /// all (PostgreSQL's DDL is transactional).
    static let migrations: [(id: String, statements: [String])] = [
        (
            "v1-metadata",
            [
                """
                CREATE TABLE contexts (
                    id BIGSERIAL PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
                    properties TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL, UNIQUE (type, name))
                """,
                """
                CREATE TABLE artifacts (
                    id BIGSERIAL PRIMARY KEY, type TEXT NOT NULL, uri TEXT NOT NULL, fingerprint TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('LIVE', 'DELETED')),
                    properties TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE executions (
                    id BIGSERIAL PRIMARY KEY, component TEXT NOT NULL, component_version TEXT NOT NULL,
                    state TEXT NOT NULL, cache_key TEXT NOT NULL, manifest TEXT, git_commit TEXT,
                    reason TEXT, error TEXT, host TEXT, pid BIGINT, staging TEXT,
                    started_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION,
                    cached_from BIGINT REFERENCES executions(id))
                """,
                "CREATE INDEX executions_by_key ON executions(cache_key, state)",
                "CREATE INDEX executions_by_component ON executions(component, id)",
                """
                CREATE TABLE events (
                    id BIGSERIAL PRIMARY KEY,
                    execution_id BIGINT NOT NULL REFERENCES executions(id),
                    artifact_id BIGINT NOT NULL REFERENCES artifacts(id),
                    type TEXT NOT NULL CHECK (type IN ('INPUT', 'OUTPUT')), name TEXT NOT NULL)
                """,
                "CREATE INDEX events_by_execution ON events(execution_id)",
                "CREATE INDEX events_by_artifact ON events(artifact_id)",
                """
                CREATE TABLE associations (
                    context_id BIGINT NOT NULL REFERENCES contexts(id),
                    execution_id BIGINT NOT NULL REFERENCES executions(id),
                    PRIMARY KEY (context_id, execution_id))
                """,
                """
                CREATE TABLE attributions (
                    context_id BIGINT NOT NULL REFERENCES contexts(id),
                    artifact_id BIGINT NOT NULL REFERENCES artifacts(id),
                    PRIMARY KEY (context_id, artifact_id))
                """,
            ]
        ),
        (
            "v2-file-hashes",
            [
                """
                CREATE TABLE file_hashes (
                    path TEXT PRIMARY KEY, size BIGINT NOT NULL, inode BIGINT NOT NULL,
                    mtime_ns BIGINT NOT NULL, ctime_ns BIGINT NOT NULL, digest TEXT NOT NULL,
                    recorded_at DOUBLE PRECISION NOT NULL)
                """
            ]
        ),
        (
            "v3-run-tracking",
            [
                """
                CREATE TABLE run_params (
                    run_id BIGINT NOT NULL REFERENCES contexts(id), key TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (run_id, key))
                """,
                """
                CREATE TABLE run_tags (
                    run_id BIGINT NOT NULL REFERENCES contexts(id), key TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (run_id, key))
                """,
                """
                CREATE TABLE run_files (
                    run_id BIGINT NOT NULL REFERENCES contexts(id), path TEXT NOT NULL, location TEXT NOT NULL,
                    PRIMARY KEY (run_id, path))
                """,
                """
                CREATE TABLE execution_params (
                    execution_id BIGINT NOT NULL REFERENCES executions(id), key TEXT NOT NULL, value TEXT NOT NULL,
                    PRIMARY KEY (execution_id, key))
                """,
                """
                CREATE TABLE execution_metrics (
                    execution_id BIGINT NOT NULL REFERENCES executions(id), key TEXT NOT NULL, step BIGINT NOT NULL,
                    value DOUBLE PRECISION, timestamp DOUBLE PRECISION NOT NULL, PRIMARY KEY (execution_id, key, step))
                """,
                """
                CREATE TABLE tracking_outbox (
                    id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('run', 'registry')),
                    subject TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '{}',
                    state TEXT NOT NULL CHECK (state IN ('pending', 'sent')), remote_id TEXT,
                    attempts BIGINT NOT NULL DEFAULT 0, last_error TEXT, created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL, UNIQUE (kind, subject))
                """,
                """
                CREATE TABLE run_metrics (
                    run_id BIGINT NOT NULL REFERENCES contexts(id), key TEXT NOT NULL, step BIGINT NOT NULL,
                    value DOUBLE PRECISION, timestamp DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (run_id, key, step, timestamp))
                """,
                "CREATE INDEX run_tags_by_value ON run_tags(key, value)",
                "CREATE TABLE store_identity (id TEXT PRIMARY KEY)",
                "INSERT INTO store_identity (id) VALUES (md5(random()::text || clock_timestamp()::text))",
            ]
        ),
        (
            "v4-delivery-claims",
            [
                "ALTER TABLE tracking_outbox ADD COLUMN claimed_by TEXT",
                "ALTER TABLE tracking_outbox ADD COLUMN claimed_until DOUBLE PRECISION",
            ]
        ),
    ]

    /// Any fixed number: the key of the advisory lock migrations take (per database).
    static let migrationLock: Int64 = 7_260_024

    /// Connects to the server at `address` and brings its tables up to date.
    /// - Parameters:
    ///   - busyTimeout: how long to wait for another job's lock before failing busy (75).
    ///   - create: whether an empty database gets the tables; without, it is an error saying
    ///     to train first (as a missing SQLite file is).
    public init(address: PostgresAddress, busyTimeout: TimeInterval = 5, create: Bool = true) throws {
        session = try PostgresSession(address: address, busyTimeout: busyTimeout)
        super.init(backend: session, shared: true)
        do { try migrate(create: create) } catch {
            try? session.close()
            throw error
        }
    }

    /// The migrations recorded in the database; nil when it has none at all.
    private func appliedMigrations(_ db: any SQLTransaction) throws -> Set<String>? {
        guard try db.row("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")?.int("present") == 1 else {
            return nil
        }
        return Set(try db.rows("SELECT identifier FROM schema_migrations").map { try $0.text("identifier") })
    }

    private func migrate(create: Bool) throws {
        let known = Self.migrations.map(\.id)
        let applied = try session.read { db in try appliedMigrations(db) }
        if let applied, Set(known).isSubset(of: applied) {
            return try Self.refuseNewer(applied, known: known, location: location)
        }
        if applied == nil, !create { throw MetadataStoreError(.empty, path: location) }
        try session.write { db in
            // One job migrates; the others wait here, then find the work done.
            try db.execute(
                "SELECT count(*) AS held FROM (SELECT pg_advisory_xact_lock(?)) AS locked", .integer(Self.migrationLock)
            )
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    identifier TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)
                """)
            let applied = try appliedMigrations(db) ?? []
            try Self.refuseNewer(applied, known: known, location: location)
            for migration in Self.migrations where !applied.contains(migration.id) {
                for statement in migration.statements { try db.execute(statement) }
                try db.execute(
                    "INSERT INTO schema_migrations (identifier, applied_at) VALUES (?, ?)", .text(migration.id),
                    .real(Date().timeIntervalSince1970))
            }
        }
    }
}
