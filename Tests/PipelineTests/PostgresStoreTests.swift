import Foundation
import MLOpsCore
import MLOpsTestSupport
import Metadata
import Pipeline
import Testing

/// The metadata store on PostgreSQL (the test server .ci/run starts): the same answers as the
/// SQLite store, migrations, many writers at once, and every way the server can say no.
@Suite struct PostgresStoreTests {
    /// What a run's questions answer, without times, names or ids that differ by backend.
    struct Answers: Equatable {
        var runs: [[String]] = []
        var executions: [[String]] = []
        var lineage: [String] = []
    }

    func answers(_ fixture: RunnerFixture) throws -> Answers {
        let store = fixture.store
        var answers = Answers()
        for run in try store.runs().reversed() {
            answers.runs.append(
                [run.properties["pipeline"] ?? "-", run.states.sorted { $0.key < $1.key }.description])
            for execution in try store.executions(run: run.id) {
                answers.executions.append([
                    execution.component, execution.state.rawValue, execution.cacheKey, execution.reason ?? "-",
                    execution.error ?? "-", execution.cachedFrom == nil ? "-" : "from",
                    (try store.execution(execution.id)?.run).map { $0 == run.id ? "own run" : "other run" } ?? "none",
                ])
            }
        }
        let validator = try #require(try store.lastSuccessful(component: Component.exampleValidator.rawValue))
        let statistics = try #require(try store.artifacts(of: validator.id, "INPUT")["statistics"])
        // By an upper-case prefix of its digest: both backends ignore the case.
        let digest = statistics.fingerprint.dropFirst("sha256:".count).prefix(10).uppercased()
        let found = try #require(try store.findArtifact(String(digest)))
        #expect(found == statistics)
        answers.lineage =
            try store.producers(of: found.id).map { "\($0.component) \($0.state.rawValue)" }
            + store.consumers(of: found.id).map { "→ \($0.component) \($0.state.rawValue)" }
        return answers
    }

    @Test func theSameRunsGetTheSameAnswersFromBothBackends() throws {
        var results: [StoreBackend: Answers] = [:]
        for backend in StoreBackend.allCases {
            let fixture = try RunnerFixture(backend)
            _ = try fixture.dir.write("data.txt", "one")
            _ = try fixture.run(fixture.chain())
            _ = try fixture.run(fixture.chain())
            _ = try fixture.dir.write("data.txt", "two")
            #expect(throws: FileError.self) { try fixture.run(fixture.chain(failStatistics: true)) }
            _ = try fixture.run(fixture.chain())
            results[backend] = try answers(fixture)
        }
        let sqlite = try #require(results[.sqlite])
        #expect(sqlite.executions.count == 14)
        #expect(sqlite.lineage.count >= 2)
        #expect(results[.postgres] == sqlite)
    }

    @Test func migrationsAreRecordedOnceAndANewerStoreIsRefused() throws {
        let database = try PostgresTestDatabase()
        try PostgresMetadataStore(address: database.address).close()
        try PostgresMetadataStore(address: database.address).close()
        #expect(
            try database.execute("SELECT identifier FROM schema_migrations ORDER BY 1") == [
                "v1-metadata", "v2-file-hashes", "v3-run-tracking", "v4-delivery-claims",
            ])
        try database.execute("INSERT INTO schema_migrations VALUES ('v99-future', 0)")
        let error = try #require(throws: MetadataStoreError.self) {
            _ = try PostgresMetadataStore(address: database.address)
        }
        #expect(error.message.contains("was made by a newer mlops"))
        #expect(error.message.contains("v99-future"))
        #expect(error.exitStatus == .ioError)
        #expect(try database.execute("SELECT count(*) FROM schema_migrations") == ["5"])
    }

    @Test func eightJobsOpeningOneEmptyDatabaseAtOnceCreateItsTablesOnce() throws {
        let database = try PostgresTestDatabase()
        let address = database.address
        let outcomes = try concurrently(8) { _ -> String in
            do {
                try PostgresMetadataStore(address: address).close()
                return "ok"
            } catch { return "\(error)" }
        }
        #expect(outcomes == Array(repeating: "ok", count: 8))
        #expect(try database.execute("SELECT count(*) FROM schema_migrations") == ["4"])
    }

    @Test func eightWritersAtOnceRecordEveryRunAndExecution() throws {
        let database = try PostgresTestDatabase()
        try PostgresMetadataStore(address: database.address).close()
        let address = database.address
        let manifest = KeyManifest(component: "Trainer", version: "1", parameters: [:], inputs: [:], paths: [:])
        let outcomes = try concurrently(8) { index -> String in
            do {
                let store = try PostgresMetadataStore(address: address)
                defer { try? store.close() }
                for round in 0..<3 {
                    let run = try store.beginRun(pipeline: "shared", properties: ["job": "\(index)"])
                    let execution = try store.startExecution(
                        run: run, component: "Trainer", version: "1", cacheKey: "key-\(index)-\(round)",
                        manifest: manifest, commit: nil, staging: "tmp/\(index)", reason: "test", inputs: [])
                    let outputs = try store.completeExecution(
                        execution,
                        outputs: [
                            NewArtifact(
                                name: "model", type: "Model", uri: "artifacts/\(index)/\(round)",
                                fingerprint: "sha256:\(index)\(round)", properties: [:])
                        ])
                    try store.updateRun(run, ["status": "complete"])
                    guard try store.cacheHit(for: "key-\(index)-\(round)")?.outputs == outputs else {
                        return "no cache hit for job \(index)"
                    }
                    try store.recordFileDigest(
                        path: "data.csv",
                        stamp: FileStamp(size: 1, inode: UInt64.max - 1, modifiedNanoseconds: 2, changedNanoseconds: 3),
                        digest: "sha256:d")
                }
                return "ok"
            } catch { return "\(error)" }
        }
        #expect(outcomes == Array(repeating: "ok", count: 8))
        #expect(try database.execute("SELECT count(*) FROM contexts WHERE type = 'pipeline'") == ["1"])
        #expect(try database.execute("SELECT count(*) FROM contexts WHERE type = 'run'") == ["24"])
        #expect(try database.execute("SELECT count(DISTINCT name) FROM contexts WHERE type = 'run'") == ["24"])
        #expect(try database.execute("SELECT count(*) FROM executions WHERE state = 'COMPLETE'") == ["24"])
        // Every execution is in its run and in the pipeline; every run finished.
        #expect(try database.execute("SELECT count(*) FROM associations") == ["48"])
        #expect(
            try database.execute("SELECT count(*) FROM contexts WHERE properties LIKE '%\"status\":\"complete\"%'")
                == ["24"])
        // One remembered digest for the path, its inode kept whole.
        let store = try PostgresMetadataStore(address: address)
        defer { try? store.close() }
        #expect(
            try store.fileDigest(
                for: "data.csv",
                stamp: FileStamp(size: 1, inode: UInt64.max - 1, modifiedNanoseconds: 2, changedNanoseconds: 3))
                == "sha256:d")
    }

    @Test func aWrongPasswordOrDatabaseIsRefusedWithoutShowingThePassword() throws {
        let database = try PostgresTestDatabase()
        let server = database.server
        let wrong = try PostgresAddress(
            parsing: server.url(database: database.name, password: "not-the-password-4711"), environment: [:])
        let error = try #require(throws: MetadataStoreError.self) { _ = try PostgresMetadataStore(address: wrong) }
        #expect(error.exitStatus == .configError)
        #expect(error.message.contains("28P01"), "\(error.message)")
        #expect(!error.message.contains("not-the-password-4711"))
        #expect(!(error.hint ?? "").contains("not-the-password-4711"))
        #expect(error.message.contains("postgresql://\(server.address.user)@127.0.0.1"))
        let missing = try PostgresAddress(parsing: server.url(database: "no_such_database_x"), environment: [:])
        let missingError = try #require(throws: MetadataStoreError.self) {
            _ = try PostgresMetadataStore(address: missing)
        }
        #expect(missingError.exitStatus == .configError)
        #expect(missingError.message.contains("3D000"))
        #expect(missingError.hint?.contains("createdb no_such_database_x") == true)
        #expect(!missingError.message.contains(server.address.password ?? "?"))
    }

    @Test func aServerThatIsNotThereIsUnreachable() throws {
        // A port nothing listens on: bound and closed again.
        let port = try freePort()
        let address = try PostgresAddress(
            parsing: "postgresql://mlops@127.0.0.1:\(port)/db?sslmode=disable&connect_timeout=5", environment: [:])
        let error = try #require(throws: MetadataStoreError.self) { _ = try PostgresMetadataStore(address: address) }
        #expect(error.exitStatus == .ioError)
        #expect(error.message.contains("cannot be reached"))
        #expect(error.message.contains("127.0.0.1:\(port)"))
    }

    @Test func aRowAnotherJobHoldsMakesTheCallBusyAfterTheTimeout() throws {
        let database = try PostgresTestDatabase()
        let store = try PostgresMetadataStore(address: database.address, busyTimeout: 0.3)
        defer { try? store.close() }
        let run = try store.beginRun(pipeline: "p", properties: [:])
        let other = try database.server.connect(database: database.name)
        defer { other.close() }
        try other.execute("BEGIN")
        try other.execute("SELECT id FROM contexts WHERE id = \(run) FOR UPDATE")
        let started = Date()
        let error = try #require(throws: MetadataStoreError.self) { try store.updateRun(run, ["status": "complete"]) }
        #expect(error.exitStatus == .temporaryFailure)
        #expect(error.message.contains("55P03"), "\(error.message)")
        #expect(error.hint?.contains("MLOPS_BUSY_TIMEOUT") == true)
        #expect(Date().timeIntervalSince(started) < 5)
        try other.execute("ROLLBACK")
        // Once it is free the same call goes through, on the same store.
        try store.updateRun(run, ["status": "complete"])
        #expect(try store.run(run)?.properties["status"] == "complete")
    }

    @Test func aUserWhoMayNotCreateTablesIsRefusedWithWhatToGrant() throws {
        let database = try PostgresTestDatabase()
        let role = "reader_\(database.name.suffix(8))"
        try database.server.execute("CREATE ROLE \(role) LOGIN PASSWORD 'reader-pw'")
        defer { _ = try? database.server.execute("DROP ROLE IF EXISTS \(role)") }
        defer { _ = try? database.execute("DROP OWNED BY \(role)") }
        let address = try PostgresAddress(
            parsing: database.server.url(database: database.name, user: role, password: "reader-pw"), environment: [:])
        let error = try #require(throws: MetadataStoreError.self) { _ = try PostgresMetadataStore(address: address) }
        #expect(error.exitStatus == .configError)
        #expect(error.message.contains("42501"), "\(error.message)")
        #expect(error.hint?.contains("GRANT CREATE ON SCHEMA public") == true)
        #expect(try database.execute("SELECT to_regclass('schema_migrations') IS NULL") == ["true"])
    }

    @Test func anEmptyDatabaseIsNotCreatedByAQuestion() throws {
        let database = try PostgresTestDatabase()
        let error = try #require(throws: MetadataStoreError.self) {
            _ = try PostgresMetadataStore(address: database.address, create: false)
        }
        #expect(error.exitStatus == .noInput)
        #expect(error.hint == "run `mlops train` first")
        #expect(try database.execute("SELECT to_regclass('schema_migrations') IS NULL") == ["true"])
    }

    @Test func aConnectionTheServerDroppedIsOpenedAgainAtTheNextCall() throws {
        let database = try PostgresTestDatabase()
        let store = try PostgresMetadataStore(address: database.address)
        defer { try? store.close() }
        let run = try store.beginRun(pipeline: "p", properties: [:])
        let ended = try database.server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database.name)' AND application_name = 'mlops'"
        )
        #expect(ended == ["true"])
        // pg_terminate_backend only signals: wait until the server process is gone.
        for _ in 0..<100 {
            let left = try database.server.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database.name)' AND application_name = 'mlops'"
            )
            if left == ["0"] { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        // A call that meets the closed socket at its start reconnects; one that meets it midway
        // fails as unreachable (74), and the next one reconnects.
        var failures = 0
        for _ in 0..<2 {
            do {
                #expect(try store.run(run)?.id == run)
                break
            } catch let error as MetadataStoreError {
                #expect(error.exitStatus == .ioError, "\(error.message)")
                failures += 1
            }
        }
        #expect(failures <= 1)
        #expect(try store.run(run)?.id == run)
    }
}

/// The `postgresql://` URIs mlops reads, as libpq reads them.
@Suite struct PostgresAddressTests {
    @Test func theURIsPartsAndLibpqsVariablesFillTheAddress() throws {
        let full = try PostgresAddress(
            parsing: "postgresql://ci%40team:p%3Ass@db.internal:6543/ml%20ops?sslmode=require&application_name=ci",
            environment: ["PGPASSWORD": "ignored"])
        #expect(full.user == "ci@team")
        #expect(full.password == "p:ss")
        #expect(full.passwordInURI)
        #expect(full.host == "db.internal")
        #expect(full.port == 6543)
        #expect(full.database == "ml ops")
        #expect(full.sslMode == .require)
        #expect(full.applicationName == "ci")
        #expect(full.description == "postgresql://ci@team@db.internal:6543/ml ops")
        #expect(!full.description.contains("p:ss"))

        let sparse = try PostgresAddress(
            parsing: "postgres://",
            environment: ["PGHOST": "pg", "PGPORT": "5433", "PGUSER": "u", "PGPASSWORD": "secret", "PGDATABASE": "d"])
        #expect([sparse.host, String(sparse.port), sparse.user, sparse.database] == ["pg", "5433", "u", "d"])
        #expect(sparse.password == "secret")
        #expect(!sparse.passwordInURI)
        #expect(sparse.sslMode == .prefer)

        let socket = try PostgresAddress(
            parsing: "postgresql:///mlops?host=/run/postgresql", environment: ["USER": "me"])
        #expect(socket.socketFolder == "/run/postgresql")
        #expect(socket.user == "me")
        let ipv6 = try PostgresAddress(parsing: "postgresql://u@[::1]:5000/d", environment: [:])
        #expect(ipv6.host == "::1" && ipv6.port == 5000)
        #expect(ipv6.description == "postgresql://u@[::1]:5000/d")
    }

    @Test func passwordsAreShownAsStarsWhereverTheyAre() throws {
        #expect(
            PostgresAddress.redacting("postgresql://u:p%40ss@h:5/d?sslmode=disable")
                == "postgresql://u:***@h:5/d?sslmode=disable")
        #expect(PostgresAddress.redacting("postgres://u:p?ss@h/d") == "postgres://u:***@h/d")
        #expect(
            PostgresAddress.redacting("postgresql://h/d?sslmode=require&password=pw&user=u")
                == "postgresql://h/d?sslmode=require&password=***&user=u")
        #expect(PostgresAddress.redacting("postgresql://u@h/d") == "postgresql://u@h/d")
        // A '?' in the password (libpq reads the credentials up to the first '@') is not a parameter.
        let address = try PostgresAddress(parsing: "postgresql://u:p?ss@h/d", environment: [:])
        #expect(address.password == "p?ss" && address.host == "h" && address.database == "d")
        // A raw '/' in it makes a broken URI whose message repeats none of it.
        do {
            _ = try PostgresAddress(parsing: "postgresql://u:se/cret@h/d", environment: [:])
            Issue.record("a broken URI was accepted")
        } catch { #expect(!error.reason.contains("se") || error.reason.contains("seconds"), "\(error.reason)") }
    }

    @Test(arguments: [
        ("mysql://u@h/d", "does not start with postgresql://"),
        ("postgresql://u@h:99999/d", "the port is not a number"),
        ("postgresql://u@h1,h2/d", "several hosts"),
        ("postgresql://u@h/d?sslmode=sometimes", "sslmode must be one of"),
        ("postgresql://u@h/d?options=-c%20x", "unknown parameter 'options'"),
        ("postgresql://u:pw%zz@h/d", "broken %-escape"),
    ])
    func aBrokenURIIsRefusedSayingWhy(_ text: String, _ reason: String) {
        do {
            _ = try PostgresAddress(parsing: text, environment: [:])
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    @Test func theStoreSettingIsTakenFromTheEnvironmentThenMlopsYaml() throws {
        let root = URL(fileURLWithPath: "/repo")
        let configured = try StoreLocation(
            configured: "postgresql://a@h/d", environment: [:], root: root)
        #expect(configured.source == "store in mlops.yaml")
        #expect(configured.description == "postgresql://a@h:5432/d")
        let overridden = try StoreLocation(
            configured: "postgresql://a@h/d", environment: ["MLOPS_STORE": "state/store.sqlite"], root: root)
        #expect(overridden.source == "MLOPS_STORE")
        #expect(overridden.description == "/repo/state/store.sqlite")
        let fallback = try StoreLocation(configured: nil, environment: ["MLOPS_STORE": ""], root: root)
        #expect(fallback.description == "/repo/.mlops/store.sqlite")
        do {
            _ = try StoreLocation(configured: nil, environment: ["MLOPS_STORE": "mysql://u:hunter2@h/d"], root: root)
            Issue.record("a MySQL URI was accepted")
        } catch {
            #expect(error.exitStatus == .configError)
            #expect(error.message.hasPrefix("MLOPS_STORE: "))
            #expect(!error.message.contains("hunter2"))
        }
    }
}
