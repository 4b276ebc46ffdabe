import Foundation
import GRDB
import MLOpsCore
import SQLiteKit

extension SQLiteMetadataStore {
    // MARK: - Questions: runs and lineage

    /// Every run, newest first (at most `limit`).
    public func runs(limit: Int = 50) throws -> [RunSummary] {
        try database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM contexts WHERE type = 'run' ORDER BY id DESC LIMIT ?", arguments: [limit]
            ).map { row in try Self.runSummary(db, row) }
        }
    }

    /// One run by id.
    public func run(_ id: Int64) throws -> RunSummary? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM contexts WHERE type = 'run' AND id = ?", arguments: [id])
                .map { row in try Self.runSummary(db, row) }
        }
    }

    private static func runSummary(_ db: Database, _ row: Row) throws -> RunSummary {
        let id: Int64 = row["id"]
        var states: [String: Int] = [:]
        let counts = try Row.fetchAll(
            db,
            sql: """
                SELECT executions.state AS state, count(*) AS n FROM executions
                JOIN associations ON associations.execution_id = executions.id
                WHERE associations.context_id = ? GROUP BY executions.state
                """, arguments: [id])
        for count in counts { states[count["state"]] = count["n"] }
        return RunSummary(
            id: id, name: row["name"], started: Date(timeIntervalSince1970: row["created_at"]),
            properties: properties(row["properties"]), states: states)
    }

    /// An artifact by id, or by a prefix of its fingerprint's digest (`sha256:` optional).
    public func findArtifact(_ reference: String) throws -> StoredArtifact? {
        try database.read { db in
            let row: Row?
            if let id = Int64(reference) {
                row = try Row.fetchOne(db, sql: "SELECT * FROM artifacts WHERE id = ?", arguments: [id])
            } else {
                let digest = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
                row = try Row.fetchOne(
                    db, sql: "SELECT * FROM artifacts WHERE fingerprint LIKE ? ORDER BY id DESC LIMIT 1",
                    arguments: ["sha256:" + digest + "%"])
            }
            return row.map(Self.artifact)
        }
    }

    /// The executions that made the artifact (its OUTPUT events), oldest first; the first
    /// ran, the rest reused its outputs.
    public func producers(of artifact: Int64) throws -> [StoredExecution] {
        try executions(linkedTo: artifact, event: "OUTPUT")
    }

    /// The executions that read the artifact (its INPUT events), oldest first.
    public func consumers(of artifact: Int64) throws -> [StoredExecution] {
        try executions(linkedTo: artifact, event: "INPUT")
    }

    private func executions(linkedTo artifact: Int64, event: String) throws -> [StoredExecution] {
        try database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT executions.* FROM executions JOIN events ON events.execution_id = executions.id
                    WHERE events.artifact_id = ? AND events.type = ? ORDER BY executions.id
                    """, arguments: [artifact, event]
            ).map(Self.execution)
        }
    }

    /// The latest execution of `component` in any state.
    public func lastExecution(component: String) throws -> StoredExecution? {
        try database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM executions WHERE component = ? ORDER BY id DESC LIMIT 1",
                arguments: [component]
            ).map(Self.execution)
        }
    }

    /// One execution by id, with its run.
    public func execution(_ id: Int64) throws -> StoredExecution? {
        try database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT executions.*,
                        (SELECT MIN(context_id) FROM associations JOIN contexts ON contexts.id = context_id
                         WHERE execution_id = executions.id AND contexts.type = 'run') AS run
                    FROM executions WHERE id = ?
                    """, arguments: [id]
            ).map(Self.execution)
        }
    }

    // MARK: - Content hashes of modified files

    /// The remembered SHA-256 of `path` when its stamp is unchanged.
    public func fileDigest(for path: String, stamp: FileStamp) throws -> String? {
        try database.read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT digest FROM file_hashes
                    WHERE path = ? AND size = ? AND inode = ? AND mtime_ns = ? AND ctime_ns = ?
                    """,
                arguments: [
                    path, stamp.size, Int64(bitPattern: stamp.inode), stamp.modifiedNanoseconds,
                    stamp.changedNanoseconds,
                ])
        }
    }

    public func recordFileDigest(path: String, stamp: FileStamp, digest: String) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO file_hashes (path, size, inode, mtime_ns, ctime_ns, digest, recorded_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    path, stamp.size, Int64(bitPattern: stamp.inode), stamp.modifiedNanoseconds,
                    stamp.changedNanoseconds, digest, Date().timeIntervalSince1970,
                ])
        }
    }

    // MARK: - Helpers

    static let host = ProcessInfo.processInfo.hostName

    static func link(_ db: Database, execution: Int64, run: Int64, inputs: [(name: String, artifact: Int64)])
        throws
    {
        try db.execute(
            sql: "INSERT INTO associations (context_id, execution_id) VALUES (?, ?)", arguments: [run, execution])
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO associations (context_id, execution_id)
                SELECT contexts.id, ? FROM contexts WHERE contexts.type = 'pipeline'
                AND contexts.name = (SELECT json_extract(properties, '$.pipeline') FROM contexts WHERE id = ?)
                """,
            arguments: [execution, run])
        for input in inputs {
            try db.execute(
                sql: "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'INPUT', ?)",
                arguments: [execution, input.artifact, input.name])
        }
    }

    static func artifacts(_ db: Database, execution: Int64, type: String) throws
        -> [String: (artifact: StoredArtifact, state: String)]
    {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT events.name AS event_name, artifacts.* FROM events
                JOIN artifacts ON artifacts.id = events.artifact_id
                WHERE events.execution_id = ? AND events.type = ?
                """,
            arguments: [execution, type])
        var result: [String: (StoredArtifact, String)] = [:]
        for row in rows { result[row["event_name"]] = (artifact(row), row["state"]) }
        return result
    }

    static func artifact(_ row: Row) -> StoredArtifact {
        StoredArtifact(
            id: row["id"], type: row["type"], uri: row["uri"], fingerprint: row["fingerprint"],
            properties: properties(row["properties"]))
    }

    static func execution(_ row: Row) throws -> StoredExecution {
        let manifestText: String? = row["manifest"]
        let finished: Double? = row["finished_at"]
        return StoredExecution(
            id: row["id"], run: row.hasColumn("run") ? row["run"] : nil, component: row["component"],
            componentVersion: row["component_version"],
            state: ExecutionState(rawValue: row["state"]) ?? .failed, cacheKey: row["cache_key"],
            manifest: try manifestText.map { try KeyManifest.decode($0) }, gitCommit: row["git_commit"],
            reason: row["reason"], error: row["error"],
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            finishedAt: finished.map { Date(timeIntervalSince1970: $0) }, cachedFrom: row["cached_from"])
    }

    static func json(_ properties: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(properties)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func properties(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}
