import Foundation
import GRDB
import MLOpsCore
import SQLiteKit

/// The metadata store: SQLite (WAL, busy timeout) modelled on ML Metadata, with artifacts,
/// executions, events (inputs and outputs, with names) and contexts (the pipeline and each
/// run). One owner of the connection.
///
/// The schema is built by named, ordered migrations recorded in the store; a store that
/// holds a migration this mlops does not know was made by a newer mlops and is refused,
/// never migrated backwards.
public final class SQLiteMetadataStore: MetadataStore, @unchecked Sendable {
    public static let fileName = "store.sqlite"
    let database: SQLiteDatabase
    public var path: String { database.path }
    public var location: String { database.path }

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
        return migrator
    }

    /// Opens (creating when absent) the store at `path`.
    public init(path: String, busyTimeout: TimeInterval = 5) throws {
        database = try SQLiteDatabase(path: path, busyTimeout: busyTimeout)
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
                try refuseNewer(applied, known: known, path: path)
                try database.migrate(Self.migrator)
            } else {
                try refuseNewer(applied, known: known, path: path)
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

    private func refuseNewer(_ applied: Set<String>, known: [String], path: String) throws {
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else { throw MetadataStoreError(.newerStore(migrations: unknown), path: path) }
    }

    public func close() throws { try database.close() }

    // MARK: - Runs

    /// The pipeline's context (created once) and a new run context; returns the run's id.
    public func beginRun(pipeline: String, properties: [String: String]) throws -> Int64 {
        try database.write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: "INSERT OR IGNORE INTO contexts (type, name, created_at) VALUES ('pipeline', ?, ?)",
                arguments: [pipeline, now])
            let name = "\(pipeline)-\(Int(now * 1000))-\(ProcessInfo.processInfo.processIdentifier)"
            var properties = properties
            properties["pipeline"] = pipeline
            try db.execute(
                sql: "INSERT INTO contexts (type, name, properties, created_at) VALUES ('run', ?, ?, ?)",
                arguments: [name, Self.json(properties), now])
            return db.lastInsertedRowID
        }
    }

    /// Adds to a run's properties (its status, when it finished).
    public func updateRun(_ run: Int64, _ properties: [String: String]) throws {
        try database.write { db in
            let current = try String.fetchOne(db, sql: "SELECT properties FROM contexts WHERE id = ?", arguments: [run])
            var merged = Self.properties(current)
            merged.merge(properties) { _, new in new }
            try db.execute(
                sql: "UPDATE contexts SET properties = ? WHERE id = ?", arguments: [Self.json(merged), run])
        }
    }

    // MARK: - Executions

    /// Records an execution about to run (RUNNING, with this process's host and pid, and its
    /// staging folder, so an abandoned one can be found and cleaned up).
    public func startExecution(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        staging: String, reason: String, inputs: [(name: String, artifact: Int64)]
    ) throws -> Int64 {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO executions (component, component_version, state, cache_key, manifest, git_commit,
                        reason, host, pid, staging, started_at)
                    VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    component, version, cacheKey, try manifest.json(), commit, reason, Self.host,
                    Int(ProcessInfo.processInfo.processIdentifier), staging, Date().timeIntervalSince1970,
                ])
            let id = db.lastInsertedRowID
            try Self.link(db, execution: id, run: run, inputs: inputs)
            return id
        }
    }

    /// Marks an execution COMPLETE and records its outputs, in one transaction.
    public func completeExecution(_ id: Int64, outputs: [NewArtifact]) throws -> [String: StoredArtifact] {
        try database.write { db in
            var stored: [String: StoredArtifact] = [:]
            let now = Date().timeIntervalSince1970
            for output in outputs {
                try db.execute(
                    sql: """
                        INSERT INTO artifacts (type, uri, fingerprint, state, properties, created_at)
                        VALUES (?, ?, ?, 'LIVE', ?, ?)
                        """,
                    arguments: [output.type, output.uri, output.fingerprint, Self.json(output.properties), now])
                let artifact = db.lastInsertedRowID
                try db.execute(
                    sql: "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'OUTPUT', ?)",
                    arguments: [id, artifact, output.name])
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO attributions (context_id, artifact_id)
                        SELECT context_id, ? FROM associations WHERE execution_id = ?
                        """,
                    arguments: [artifact, id])
                stored[output.name] = StoredArtifact(
                    id: artifact, type: output.type, uri: output.uri, fingerprint: output.fingerprint,
                    properties: output.properties)
            }
            try db.execute(
                sql: "UPDATE executions SET state = 'COMPLETE', finished_at = ?, staging = NULL WHERE id = ?",
                arguments: [now, id])
            return stored
        }
    }

    /// Marks an execution FAILED with the error; it records no outputs and is never a cache hit.
    public func failExecution(_ id: Int64, error: String) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE executions SET state = 'FAILED', error = ?, finished_at = ?, staging = NULL WHERE id = ?",
                arguments: [error, Date().timeIntervalSince1970, id])
        }
    }

    /// Records a CACHED execution that reuses `from`'s outputs.
    public func recordCached(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        from: Int64, inputs: [(name: String, artifact: Int64)], outputs: [String: StoredArtifact]
    ) throws -> Int64 {
        try database.write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: """
                    INSERT INTO executions (component, component_version, state, cache_key, manifest, git_commit,
                        reason, host, pid, started_at, finished_at, cached_from)
                    VALUES (?, ?, 'CACHED', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    component, version, cacheKey, try manifest.json(), commit, "inputs unchanged", Self.host,
                    Int(ProcessInfo.processInfo.processIdentifier), now, now, from,
                ])
            let id = db.lastInsertedRowID
            try Self.link(db, execution: id, run: run, inputs: inputs)
            for (name, artifact) in outputs.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'OUTPUT', ?)",
                    arguments: [id, artifact.id, name])
            }
            return id
        }
    }

    /// The outputs of the latest COMPLETE execution with `cacheKey` whose outputs are all
    /// still LIVE; nil when there is none.
    public func cacheHit(for cacheKey: String) throws -> (execution: Int64, outputs: [String: StoredArtifact])? {
        try database.read { db in
            let candidates = try Int64.fetchAll(
                db,
                sql: "SELECT id FROM executions WHERE cache_key = ? AND state = 'COMPLETE' ORDER BY id DESC LIMIT 5",
                arguments: [cacheKey])
            for execution in candidates {
                let outputs = try Self.artifacts(db, execution: execution, type: "OUTPUT")
                if !outputs.isEmpty, outputs.values.allSatisfy({ $0.state == "LIVE" }) {
                    return (execution, outputs.mapValues(\.artifact))
                }
            }
            return nil
        }
    }

    /// Marks an artifact DELETED (its files are gone), so it is never a cache hit again.
    public func markDeleted(_ artifact: Int64) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE artifacts SET state = 'DELETED' WHERE id = ?", arguments: [artifact])
        }
    }

    /// The latest COMPLETE or CACHED execution of `component`, to compare today's key with.
    public func lastSuccessful(component: String) throws -> StoredExecution? {
        try database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM executions WHERE component = ? AND state IN ('COMPLETE', 'CACHED')
                    ORDER BY id DESC LIMIT 1
                    """,
                arguments: [component]
            ).map(Self.execution)
        }
    }

    /// The executions of a run, in the order they were recorded.
    public func executions(run: Int64) throws -> [StoredExecution] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT executions.* FROM executions JOIN associations ON associations.execution_id = executions.id
                    WHERE associations.context_id = ? ORDER BY executions.id
                    """,
                arguments: [run]
            ).map(Self.execution)
        }
    }

    /// Every execution, oldest first.
    public func allExecutions() throws -> [StoredExecution] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM executions ORDER BY id").map(Self.execution)
        }
    }

    /// The input or output artifacts of an execution, by event name.
    public func artifacts(of execution: Int64, _ type: String) throws -> [String: StoredArtifact] {
        try database.read { db in try Self.artifacts(db, execution: execution, type: type).mapValues(\.artifact) }
    }

    /// RUNNING executions left by a process that is gone (killed, or on another machine):
    /// marked ABANDONED and returned, so their staging folders can be removed.
    ///
    /// On this host a process is gone when its pid is not alive. A RUNNING execution from
    /// another host (a store on a shared disk, or `.mlops` restored from a CI cache) cannot be
    /// checked: it is taken as abandoned only once it is older than `foreignAge` seconds.
    public func abandonStale(
        isAlive: (Int32) -> Bool, foreignAge: TimeInterval = 24 * 3600
    ) throws -> [(execution: StoredExecution, staging: String?)] {
        try database.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM executions WHERE state = 'RUNNING'")
            var abandoned: [(StoredExecution, String?)] = []
            let now = Date().timeIntervalSince1970
            for row in rows {
                let host: String? = row["host"]
                let pid: Int? = row["pid"]
                let started: Double = row["started_at"]
                if host == Self.host, let pid, isAlive(Int32(pid)) { continue }
                if host != Self.host, now - started < foreignAge { continue }
                let execution = try Self.execution(row)
                try db.execute(
                    sql: """
                        UPDATE executions SET state = 'ABANDONED', finished_at = ?,
                            error = 'the process running it stopped before it finished' WHERE id = ?
                        """,
                    arguments: [Date().timeIntervalSince1970, execution.id])
                abandoned.append((execution, row["staging"]))
            }
            return abandoned
        }
    }
}
