import Foundation
import MLOpsCore

/// The metadata store over a relational database, written once for both backends: the
/// embedded SQLite file (``SQLiteMetadataStore``) and a PostgreSQL server shared by many jobs
/// (``PostgresMetadataStore``). Each call is one transaction; the statements use only the SQL
/// both databases speak (`RETURNING id`, `ON CONFLICT`), so the two answer every question
/// alike. The subclasses open the database and apply its migrations.
public class SQLMetadataStore: MetadataStore, @unchecked Sendable {
    let backend: any SQLBackend

    init(backend: any SQLBackend, shared: Bool) {
        self.backend = backend
        self.shared = shared
    }

    public var location: String { backend.location }

    /// Whether other checkouts record into it too (a server, or an SQLite file named in
    /// `store`/`MLOPS_STORE` rather than the checkout's own `.mlops/store.sqlite`).
    public var isShared: Bool { shared }
    let shared: Bool

    public func close() throws { try backend.close() }

    // MARK: - Runs

    /// The pipeline's context (created once) and a new run context; returns the run's id.
    public func beginRun(
        pipeline: String, properties: [String: String], params: [String: String], tags: [String: String]
    ) throws -> Int64 {
        try backend.write { db in
            let now = Date().timeIntervalSince1970
            // Looked up first: an INSERT that finds a conflict would still use up an id.
            if try db.row("SELECT id FROM contexts WHERE type = 'pipeline' AND name = ?", .text(pipeline)) == nil {
                try db.execute(
                    "INSERT INTO contexts (type, name, created_at) VALUES ('pipeline', ?, ?) ON CONFLICT DO NOTHING",
                    .text(pipeline), .real(now))
            }
            // Unique across processes and hosts sharing a server, and threads in one process.
            let name =
                "\(pipeline)-\(Int(now * 1000))-\(ProcessInfo.processInfo.processIdentifier)-"
                + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            var properties = properties
            properties["pipeline"] = pipeline
            let run = try db.insert(
                "INSERT INTO contexts (type, name, properties, created_at) VALUES ('run', ?, ?, ?)", .text(name),
                .text(Self.json(properties)), .real(now))
            try Self.recordTracking(db, run: run, params: params, tags: tags, files: [])
            return run
        }
    }

    /// Adds to a run's properties (its status, when it finished).
    public func updateRun(_ run: Int64, _ properties: [String: String]) throws {
        try backend.write { db in
            let current = try db.row(
                "SELECT properties FROM contexts WHERE id = ?" + backend.lockingRead, .integer(run))
            var merged = Self.properties(try current?.optionalText("properties"))
            merged.merge(properties) { _, new in new }
            try db.execute("UPDATE contexts SET properties = ? WHERE id = ?", .text(Self.json(merged)), .integer(run))
        }
    }

    /// Every run, newest first (at most `limit`).
    public func runs(limit: Int = 50) throws -> [RunSummary] {
        try backend.read { db in
            try db.rows("SELECT * FROM contexts WHERE type = 'run' ORDER BY id DESC LIMIT ?", SQLValue(limit))
                .map { row in try Self.runSummary(db, row) }
        }
    }

    /// One run by id.
    public func run(_ id: Int64) throws -> RunSummary? {
        try backend.read { db in
            try db.row("SELECT * FROM contexts WHERE type = 'run' AND id = ?", .integer(id))
                .map { row in try Self.runSummary(db, row) }
        }
    }

    private static func runSummary(_ db: any SQLTransaction, _ row: SQLRow) throws -> RunSummary {
        let id = try row.int("id")
        var states: [String: Int] = [:]
        let counts = try db.rows(
            """
            SELECT executions.state AS state, count(*) AS n FROM executions
            JOIN associations ON associations.execution_id = executions.id
            WHERE associations.context_id = ? GROUP BY executions.state
            """, .integer(id))
        for count in counts { states[try count.text("state")] = Int(try count.int("n")) }
        return RunSummary(
            id: id, name: try row.text("name"), started: Date(timeIntervalSince1970: try row.real("created_at")),
            properties: properties(try row.optionalText("properties")), states: states)
    }

    // MARK: - Executions

    /// Records an execution about to run (RUNNING, with this process's host and pid, and its
    /// staging folder, so an abandoned one can be found and cleaned up).
    public func startExecution(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        staging: String, reason: String, inputs: [(name: String, artifact: Int64)]
    ) throws -> Int64 {
        let manifest = try manifest.json()
        return try backend.write { db in
            let id = try db.insert(
                """
                INSERT INTO executions (component, component_version, state, cache_key, manifest, git_commit,
                    reason, host, pid, staging, started_at)
                VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)
                """, .text(component), .text(version), .text(cacheKey), .text(manifest), SQLValue(commit),
                .text(reason), .text(Self.host), SQLValue(Int(ProcessInfo.processInfo.processIdentifier)),
                .text(staging), .real(Date().timeIntervalSince1970))
            try Self.link(db, execution: id, run: run, inputs: inputs)
            return id
        }
    }

    /// Marks an execution COMPLETE and records its outputs, in one transaction.
    public func completeExecution(_ id: Int64, outputs: [NewArtifact], record: ExecutionRecord) throws
        -> [String: StoredArtifact]
    {
        try backend.write { db in
            try Self.upsert(
                db, "execution_params", columns: ["execution_id", "key", "value"], keyColumns: 2,
                rows: record.params.sorted(by: { $0.key < $1.key }).map {
                    [.integer(id), .text($0.key), .text($0.value)]
                })
            try Self.upsert(
                db, "execution_metrics", columns: ["execution_id", "key", "step", "value", "timestamp"],
                keyColumns: 3,
                rows: record.metrics.map { metric in
                    [
                        .integer(id), .text(metric.key), .integer(metric.step),
                        metric.value.isNaN ? .null : .real(metric.value), .real(metric.timestamp),
                    ]
                })
            var stored: [String: StoredArtifact] = [:]
            let now = Date().timeIntervalSince1970
            for output in outputs {
                let artifact = try db.insert(
                    """
                    INSERT INTO artifacts (type, uri, fingerprint, state, properties, created_at)
                    VALUES (?, ?, ?, 'LIVE', ?, ?)
                    """, .text(output.type), .text(output.uri), .text(output.fingerprint),
                    .text(Self.json(output.properties)), .real(now))
                try db.execute(
                    "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'OUTPUT', ?)",
                    .integer(id), .integer(artifact), .text(output.name))
                try db.execute(
                    """
                    INSERT INTO attributions (context_id, artifact_id)
                    SELECT context_id, ? FROM associations WHERE execution_id = ? ON CONFLICT DO NOTHING
                    """, .integer(artifact), .integer(id))
                stored[output.name] = StoredArtifact(
                    id: artifact, type: output.type, uri: output.uri, fingerprint: output.fingerprint,
                    properties: output.properties)
            }
            try db.execute(
                "UPDATE executions SET state = 'COMPLETE', finished_at = ?, staging = NULL WHERE id = ?", .real(now),
                .integer(id))
            return stored
        }
    }

    /// Marks an execution FAILED with the error; it records no outputs and is never a cache hit.
    public func failExecution(_ id: Int64, error: String) throws {
        try backend.write { db in
            try db.execute(
                "UPDATE executions SET state = 'FAILED', error = ?, finished_at = ?, staging = NULL WHERE id = ?",
                .text(error), .real(Date().timeIntervalSince1970), .integer(id))
        }
    }

    /// Records a CACHED execution that reuses `from`'s outputs.
    public func recordCached(
        run: Int64, component: String, version: String, cacheKey: String, manifest: KeyManifest, commit: String?,
        from: Int64, inputs: [(name: String, artifact: Int64)], outputs: [String: StoredArtifact]
    ) throws -> Int64 {
        let manifest = try manifest.json()
        return try backend.write { db in
            let now = Date().timeIntervalSince1970
            let id = try db.insert(
                """
                INSERT INTO executions (component, component_version, state, cache_key, manifest, git_commit,
                    reason, host, pid, started_at, finished_at, cached_from)
                VALUES (?, ?, 'CACHED', ?, ?, ?, 'inputs unchanged', ?, ?, ?, ?, ?)
                """, .text(component), .text(version), .text(cacheKey), .text(manifest), SQLValue(commit),
                .text(Self.host), SQLValue(Int(ProcessInfo.processInfo.processIdentifier)), .real(now), .real(now),
                .integer(from))
            try Self.link(db, execution: id, run: run, inputs: inputs)
            for (name, artifact) in outputs.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'OUTPUT', ?)",
                    .integer(id), .integer(artifact.id), .text(name))
            }
            return id
        }
    }

    /// The outputs of the latest COMPLETE executions with `cacheKey` whose outputs are all
    /// still LIVE, newest first (at most 20: in a shared store, other checkouts' come first).
    public func cacheHits(for cacheKey: String) throws -> [(execution: Int64, outputs: [String: StoredArtifact])] {
        try backend.read { db in
            let candidates = try db.rows(
                "SELECT id FROM executions WHERE cache_key = ? AND state = 'COMPLETE' ORDER BY id DESC LIMIT 20",
                .text(cacheKey))
            var hits: [(execution: Int64, outputs: [String: StoredArtifact])] = []
            for candidate in candidates {
                let execution = try candidate.int("id")
                let outputs = try Self.artifacts(db, execution: execution, type: "OUTPUT")
                if !outputs.isEmpty, outputs.values.allSatisfy({ $0.state == "LIVE" }) {
                    hits.append((execution, outputs.mapValues(\.artifact)))
                }
            }
            return hits
        }
    }

    /// Marks an artifact DELETED (its files are gone), so it is never a cache hit again.
    public func markDeleted(_ artifact: Int64) throws {
        try backend.write { db in
            try db.execute("UPDATE artifacts SET state = 'DELETED' WHERE id = ?", .integer(artifact))
        }
    }

    /// RUNNING executions left by a process that is gone (killed, or on another machine):
    /// marked ABANDONED and returned, so their staging folders can be removed.
    ///
    /// On this host a process is gone when its pid is not alive. A RUNNING execution from
    /// another host (a shared store, or `.mlops` restored from a CI cache) cannot be checked:
    /// it is taken as abandoned only once it is older than `foreignAge` seconds. Two processes
    /// abandoning the same execution at once: one wins (the update checks it is still RUNNING).
    public func abandonStale(
        isAlive: (Int32) -> Bool, foreignAge: TimeInterval = 24 * 3600
    ) throws -> [(execution: StoredExecution, staging: String?)] {
        try backend.write { db in
            let rows = try db.rows("SELECT * FROM executions WHERE state = 'RUNNING' ORDER BY id")
            var abandoned: [(StoredExecution, String?)] = []
            let now = Date().timeIntervalSince1970
            for row in rows {
                let host = try row.optionalText("host")
                let pid = try row.optionalInt("pid")
                if host == Self.host, let pid, isAlive(Int32(truncatingIfNeeded: pid)) { continue }
                if host != Self.host, now - (try row.real("started_at")) < foreignAge { continue }
                let execution = try Self.execution(row)
                let won = try db.rows(
                    """
                    UPDATE executions SET state = 'ABANDONED', finished_at = ?,
                        error = 'the process running it stopped before it finished' WHERE id = ? AND state = 'RUNNING'
                    RETURNING id
                    """, .real(now), .integer(execution.id))
                if !won.isEmpty { abandoned.append((execution, try row.optionalText("staging"))) }
            }
            return abandoned
        }
    }

    // MARK: - Questions

    /// The latest COMPLETE or CACHED execution of `component`, to compare today's key with.
    public func lastSuccessful(component: String) throws -> StoredExecution? {
        try backend.read { db in
            try db.row(
                """
                SELECT * FROM executions WHERE component = ? AND state IN ('COMPLETE', 'CACHED')
                ORDER BY id DESC LIMIT 1
                """, .text(component)
            ).map(Self.execution)
        }
    }

    /// The latest execution of `component` in any state.
    public func lastExecution(component: String) throws -> StoredExecution? {
        try backend.read { db in
            try db.row("SELECT * FROM executions WHERE component = ? ORDER BY id DESC LIMIT 1", .text(component))
                .map(Self.execution)
        }
    }

    /// One execution by id, with its run.
    public func execution(_ id: Int64) throws -> StoredExecution? {
        try backend.read { db in
            try db.row(
                """
                SELECT executions.*,
                    (SELECT MIN(context_id) FROM associations JOIN contexts ON contexts.id = context_id
                     WHERE execution_id = executions.id AND contexts.type = 'run') AS run
                FROM executions WHERE id = ?
                """, .integer(id)
            ).map(Self.execution)
        }
    }

    /// The executions of a run, in the order they were recorded.
    public func executions(run: Int64) throws -> [StoredExecution] {
        try backend.read { db in try Self.executions(db, run: run) }
    }

    /// The executions of run `run`, oldest first, inside a transaction.
    static func executions(_ db: any SQLTransaction, run: Int64) throws -> [StoredExecution] {
        try db.rows(
            """
            SELECT executions.* FROM executions JOIN associations ON associations.execution_id = executions.id
            WHERE associations.context_id = ? ORDER BY executions.id
            """, .integer(run)
        ).map(Self.execution)
    }

    /// Every execution, oldest first.
    public func allExecutions() throws -> [StoredExecution] {
        try backend.read { db in try db.rows("SELECT * FROM executions ORDER BY id").map(Self.execution) }
    }

    /// The input or output artifacts of an execution, by event name.
    public func artifacts(of execution: Int64, _ type: String) throws -> [String: StoredArtifact] {
        try backend.read { db in try Self.artifacts(db, execution: execution, type: type).mapValues(\.artifact) }
    }

    /// An artifact by id, or by a prefix of its fingerprint's digest (`sha256:` optional, any case).
    public func findArtifact(_ reference: String) throws -> StoredArtifact? {
        try backend.read { db in
            let row: SQLRow?
            if let id = Int64(reference) {
                row = try db.row("SELECT * FROM artifacts WHERE id = ?", .integer(id))
            } else {
                let digest = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
                // lower() on both sides: SQLite's LIKE ignores case and PostgreSQL's does not.
                row = try db.row(
                    "SELECT * FROM artifacts WHERE lower(fingerprint) LIKE lower(?) ORDER BY id DESC LIMIT 1",
                    .text("sha256:" + digest + "%"))
            }
            return try row.map(Self.artifact)
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
        try backend.read { db in
            try db.rows(
                """
                SELECT DISTINCT executions.* FROM executions JOIN events ON events.execution_id = executions.id
                WHERE events.artifact_id = ? AND events.type = ? ORDER BY executions.id
                """, .integer(artifact), .text(event)
            ).map(Self.execution)
        }
    }

    // MARK: - Tracking

    public func recordRunTracking(
        _ run: Int64, params: [String: String], tags: [String: String], files: [RunFile]
    ) throws {
        try backend.write { db in try Self.recordTracking(db, run: run, params: params, tags: tags, files: files) }
    }

    private static func recordTracking(
        _ db: any SQLTransaction, run: Int64, params: [String: String], tags: [String: String], files: [RunFile]
    ) throws {
        for (table, values, limit) in [
            ("run_params", params, TrackingKey.paramValueLimit), ("run_tags", tags, TrackingKey.tagValueLimit),
        ] {
            try upsert(
                db, table, columns: ["run_id", "key", "value"], keyColumns: 2,
                rows: values.sorted(by: { $0.key < $1.key }).map {
                    [.integer(run), .text(TrackingKey.clean($0.key)), .text(TrackingKey.clip($0.value, limit))]
                })
        }
        try upsert(
            db, "run_files", columns: ["run_id", "path", "location"], keyColumns: 2,
            rows: files.map { [.integer(run), .text($0.path), .text($0.location)] })
    }

    /// Inserts `rows` into `table`, a row whose first `keyColumns` values are already there
    /// replacing the rest: a few statements of many rows each (a run records tens of params and
    /// hundreds of metric values; one statement per row was most of recording's store time). A
    /// key given twice keeps its last row, as row-by-row upserts would (PostgreSQL refuses one
    /// statement that updates a row twice).
    static func upsert(
        _ db: any SQLTransaction, _ table: String, columns: [String], keyColumns: Int, rows: [[SQLValue]]
    ) throws {
        guard !rows.isEmpty else { return }
        var last: [[SQLValue]: Int] = [:]
        for (index, row) in rows.enumerated() { last[Array(row.prefix(keyColumns))] = index }
        let unique = rows.indices.filter { last[Array(rows[$0].prefix(keyColumns))] == $0 }.map { rows[$0] }
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let keys = columns.prefix(keyColumns).joined(separator: ", ")
        let updates = columns.dropFirst(keyColumns).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        // At most 999 bound values a statement: SQLite's limit before 3.32 (PostgreSQL's is 65535).
        let size = max(1, 999 / columns.count)
        for start in stride(from: 0, to: unique.count, by: size) {
            let chunk = unique[start..<min(start + size, unique.count)]
            try db.rows(
                "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                    + Array(repeating: tuple, count: chunk.count).joined(separator: ", ")
                    + " ON CONFLICT (\(keys)) DO UPDATE SET \(updates)", chunk.flatMap { $0 })
        }
    }

    public func identity() throws -> String {
        try backend.read { db in
            guard let row = try db.row("SELECT id FROM store_identity") else {
                throw InternalError("the store has no identity row")
            }
            return try row.text("id")
        }
    }

    public func run(taggedWith key: String, value: String) throws -> Int64? {
        try backend.read { db in
            try db.row(
                "SELECT run_id FROM run_tags WHERE key = ? AND value = ? ORDER BY run_id DESC LIMIT 1", .text(key),
                .text(value)
            )?.int("run_id")
        }
    }

    public func importRun(
        pipeline: String, started: Date, properties: [String: String], params: [String: String],
        tags: [String: String], metrics: [TrackedMetric]
    ) throws -> Int64 {
        try backend.write { db in
            let name =
                "\(pipeline)-import-\(Int(started.timeIntervalSince1970 * 1000))-" + UUID().uuidString.lowercased()
            var properties = properties
            properties["pipeline"] = pipeline
            let run = try db.insert(
                "INSERT INTO contexts (type, name, properties, created_at) VALUES ('run', ?, ?, ?)", .text(name),
                .text(Self.json(properties)), .real(started.timeIntervalSince1970))
            try Self.recordTracking(db, run: run, params: params, tags: tags, files: [])
            for metric in metrics {
                try db.execute(
                    """
                    INSERT INTO run_metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (run_id, key, step, timestamp) DO NOTHING
                    """, .integer(run), .text(metric.key), .integer(metric.step),
                    metric.value.isNaN ? .null : .real(metric.value), .real(metric.timestamp))
            }
            return run
        }
    }

    public func tracking(run: Int64) throws -> RunTracking? {
        try backend.read { db in
            try db.row("SELECT * FROM contexts WHERE type = 'run' AND id = ?", .integer(run)).map { row in
                try Self.tracking(db, try Self.runSummary(db, row))
            }
        }
    }

    public func trackings(limit: Int) throws -> [RunTracking] {
        try backend.read { db in
            try db.rows("SELECT * FROM contexts WHERE type = 'run' ORDER BY id DESC LIMIT ?", SQLValue(limit))
                .map { row in try Self.tracking(db, try Self.runSummary(db, row)) }
        }
    }

    /// A run's tracking: its own parameters and tags, and its executions' parameters and
    /// metrics, a CACHED execution's read from the execution whose outputs it reused.
    private static func tracking(_ db: any SQLTransaction, _ run: RunSummary) throws -> RunTracking {
        let id = SQLValue.integer(run.id)
        var params: [String: String] = [:]
        for row in try db.rows(
            """
            SELECT p.key AS key, p.value AS value FROM associations a
            JOIN executions e ON e.id = a.execution_id
            JOIN execution_params p ON p.execution_id = COALESCE(e.cached_from, e.id)
            WHERE a.context_id = ? ORDER BY e.id
            """, id)
        {
            params[try row.text("key")] = try row.text("value")
        }
        for row in try db.rows("SELECT key, value FROM run_params WHERE run_id = ?", id) {
            params[try row.text("key")] = try row.text("value")
        }
        var tags: [String: String] = [:]
        for row in try db.rows("SELECT key, value FROM run_tags WHERE run_id = ?", id) {
            tags[try row.text("key")] = try row.text("value")
        }
        let metrics = try db.rows(
            """
            SELECT m.key AS key, m.step AS step, m.value AS value, m.timestamp AS timestamp FROM associations a
            JOIN executions e ON e.id = a.execution_id
            JOIN execution_metrics m ON m.execution_id = COALESCE(e.cached_from, e.id)
            WHERE a.context_id = ?
            UNION ALL
            SELECT key, step, value, timestamp FROM run_metrics WHERE run_id = ?
            ORDER BY key, step, timestamp
            """, id, id
        ).map { row in
            TrackedMetric(
                key: try row.text("key"), step: try row.int("step"), value: try row.optionalReal("value") ?? .nan,
                timestamp: try row.real("timestamp"))
        }
        let files = try db.rows("SELECT path, location FROM run_files WHERE run_id = ? ORDER BY path", id).map { row in
            RunFile(path: try row.text("path"), location: try row.text("location"))
        }
        let executions = try Self.executions(db, run: run.id)
        return RunTracking(
            run: run, params: params, tags: tags, metrics: metrics, files: files, executions: executions)
    }

    @discardableResult
    public func enqueueDelivery(kind: TrackingDelivery.Kind, subject: String, payload: String) throws
        -> TrackingDelivery
    {
        try backend.write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(
                """
                INSERT INTO tracking_outbox (kind, subject, payload, state, created_at, updated_at)
                VALUES (?, ?, ?, 'pending', ?, ?)
                ON CONFLICT (kind, subject) DO UPDATE SET payload = excluded.payload
                    WHERE tracking_outbox.state = 'pending'
                """, .text(kind.rawValue), .text(subject), .text(payload), .real(now), .real(now))
            guard
                let row = try db.row(
                    "SELECT * FROM tracking_outbox WHERE kind = ? AND subject = ?", .text(kind.rawValue),
                    .text(subject))
            else { throw InternalError("the outbox lost the delivery of \(subject)") }
            return try Self.delivery(row)
        }
    }

    public func deliveries(pendingOnly: Bool, limit: Int) throws -> [TrackingDelivery] {
        try backend.read { db in
            try db.rows(
                "SELECT * FROM tracking_outbox" + (pendingOnly ? " WHERE state = 'pending'" : "")
                    + " ORDER BY id LIMIT ?", SQLValue(limit)
            ).map(Self.delivery)
        }
    }

    public func delivery(kind: TrackingDelivery.Kind, subject: String) throws -> TrackingDelivery? {
        try backend.read { db in
            try db.row(
                "SELECT * FROM tracking_outbox WHERE kind = ? AND subject = ?", .text(kind.rawValue), .text(subject)
            ).map(Self.delivery)
        }
    }

    public func noteDelivery(_ id: Int64, sent: Bool, remoteID: String?, error: String?, holder: String?) throws {
        try backend.write { db in
            try db.execute(
                """
                UPDATE tracking_outbox SET state = CASE WHEN state = 'sent' THEN 'sent' ELSE ? END,
                    remote_id = COALESCE(?, remote_id), attempts = attempts + 1, last_error = ?, updated_at = ?,
                    claimed_by = CASE WHEN claimed_by = COALESCE(?, claimed_by) THEN NULL ELSE claimed_by END,
                    claimed_until = CASE WHEN claimed_by = COALESCE(?, claimed_by) THEN NULL ELSE claimed_until END
                WHERE id = ?
                """, .text(sent ? "sent" : "pending"), SQLValue(remoteID), SQLValue(error),
                .real(Date().timeIntervalSince1970), SQLValue(holder), SQLValue(holder), .integer(id))
        }
    }

    public func noteRemoteID(_ id: Int64, remoteID: String) throws {
        try backend.write { db in
            try db.execute(
                "UPDATE tracking_outbox SET remote_id = ?, updated_at = ? WHERE id = ?", .text(remoteID),
                .real(Date().timeIntervalSince1970), .integer(id))
        }
    }

    public func claimDelivery(_ id: Int64, holder: String, until: Date, stale: String?) throws -> TrackingDelivery? {
        try backend.write { db in
            // One statement: SQLite takes writers in turn and PostgreSQL re-reads the row after a
            // concurrent update, so two claimants never both see it free.
            try db.execute(
                """
                UPDATE tracking_outbox SET claimed_by = ?, claimed_until = ?
                WHERE id = ? AND state = 'pending'
                    AND (claimed_by IS NULL OR claimed_by = ? OR claimed_by = ? OR claimed_until < ?)
                """, .text(holder), .real(until.timeIntervalSince1970), .integer(id), .text(holder),
                .text(stale ?? holder), .real(Date().timeIntervalSince1970))
            return try db.row("SELECT * FROM tracking_outbox WHERE id = ?", .integer(id)).map(Self.delivery)
        }
    }

    private static func delivery(_ row: SQLRow) throws -> TrackingDelivery {
        TrackingDelivery(
            id: try row.int("id"), kind: TrackingDelivery.Kind(rawValue: try row.text("kind")) ?? .run,
            subject: try row.text("subject"), payload: try row.text("payload"),
            state: TrackingDelivery.State(rawValue: try row.text("state")) ?? .pending,
            remoteID: try row.optionalText("remote_id"), attempts: Int(try row.int("attempts")),
            lastError: try row.optionalText("last_error"),
            createdAt: Date(timeIntervalSince1970: try row.real("created_at")),
            claimedBy: try row.optionalText("claimed_by"),
            claimedUntil: try row.optionalReal("claimed_until").map { Date(timeIntervalSince1970: $0) })
    }

    // MARK: - Content hashes of modified files

    /// The remembered SHA-256 of `path` when its stamp is unchanged.
    public func fileDigest(for path: String, stamp: FileStamp) throws -> String? {
        try backend.read { db in
            try db.row(
                """
                SELECT digest FROM file_hashes
                WHERE path = ? AND size = ? AND inode = ? AND mtime_ns = ? AND ctime_ns = ?
                """, .text(path), .integer(stamp.size), .integer(Int64(bitPattern: stamp.inode)),
                .integer(stamp.modifiedNanoseconds), .integer(stamp.changedNanoseconds)
            )?.text("digest")
        }
    }

    public func recordFileDigest(path: String, stamp: FileStamp, digest: String) throws {
        try backend.write { db in
            try db.execute(
                """
                INSERT INTO file_hashes (path, size, inode, mtime_ns, ctime_ns, digest, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (path) DO UPDATE SET size = excluded.size, inode = excluded.inode,
                    mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, digest = excluded.digest,
                    recorded_at = excluded.recorded_at
                """, .text(path), .integer(stamp.size), .integer(Int64(bitPattern: stamp.inode)),
                .integer(stamp.modifiedNanoseconds), .integer(stamp.changedNanoseconds), .text(digest),
                .real(Date().timeIntervalSince1970))
        }
    }

    // MARK: - Helpers

    /// A store holding migrations this mlops does not know was made by a newer one: refused,
    /// never migrated backwards.
    static func refuseNewer(_ applied: Set<String>, known: [String], location: String) throws {
        let unknown = applied.subtracting(known).sorted()
        guard unknown.isEmpty else { throw MetadataStoreError(.newerStore(migrations: unknown), path: location) }
    }

    static let host = ProcessInfo.processInfo.hostName

    /// Associates a new execution with its run and its pipeline, and records its inputs.
    private static func link(
        _ db: any SQLTransaction, execution: Int64, run: Int64, inputs: [(name: String, artifact: Int64)]
    ) throws {
        try db.execute(
            "INSERT INTO associations (context_id, execution_id) VALUES (?, ?)", .integer(run), .integer(execution))
        let runProperties = properties(
            try db.row("SELECT properties FROM contexts WHERE id = ?", .integer(run))?
                .optionalText("properties"))
        if let pipeline = runProperties["pipeline"] {
            try db.execute(
                """
                INSERT INTO associations (context_id, execution_id)
                SELECT id, ? FROM contexts WHERE type = 'pipeline' AND name = ? ON CONFLICT DO NOTHING
                """, .integer(execution), .text(pipeline))
        }
        for input in inputs {
            try db.execute(
                "INSERT INTO events (execution_id, artifact_id, type, name) VALUES (?, ?, 'INPUT', ?)",
                .integer(execution), .integer(input.artifact), .text(input.name))
        }
    }

    static func artifacts(_ db: any SQLTransaction, execution: Int64, type: String) throws
        -> [String: (artifact: StoredArtifact, state: String)]
    {
        let rows = try db.rows(
            """
            SELECT events.name AS event_name, artifacts.* FROM events
            JOIN artifacts ON artifacts.id = events.artifact_id
            WHERE events.execution_id = ? AND events.type = ?
            """, .integer(execution), .text(type))
        var result: [String: (StoredArtifact, String)] = [:]
        for row in rows { result[try row.text("event_name")] = (try artifact(row), try row.text("state")) }
        return result
    }

    static func artifact(_ row: SQLRow) throws -> StoredArtifact {
        StoredArtifact(
            id: try row.int("id"), type: try row.text("type"), uri: try row.text("uri"),
            fingerprint: try row.text("fingerprint"), properties: properties(try row.optionalText("properties")))
    }

    static func execution(_ row: SQLRow) throws -> StoredExecution {
        StoredExecution(
            id: try row.int("id"), run: row.has("run") ? try row.optionalInt("run") : nil,
            component: try row.text("component"), componentVersion: try row.text("component_version"),
            state: ExecutionState(rawValue: try row.text("state")) ?? .failed, cacheKey: try row.text("cache_key"),
            manifest: try row.optionalText("manifest").map { try KeyManifest.decode($0) },
            gitCommit: try row.optionalText("git_commit"), reason: try row.optionalText("reason"),
            error: try row.optionalText("error"), startedAt: Date(timeIntervalSince1970: try row.real("started_at")),
            finishedAt: try row.optionalReal("finished_at").map { Date(timeIntervalSince1970: $0) },
            cachedFrom: try row.optionalInt("cached_from"))
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
