import Foundation
import GRDB
import MLOpsCore
import MLOpsTestSupport
import Metadata
import Pipeline
import SQLiteKit
import Testing

/// A component made for the tests: writes `value` (and its inputs' contents) into its output,
/// fails when told to, and can return a failing verdict.
struct FakeComponent: PipelineComponent {
    struct Parameters: Codable, Hashable, Sendable {
        var value: String
        var fail = false
        var verdict = "pass"
    }

    let id: Component
    let version = "1"
    var parameters: Parameters
    var inputs: [String: InputBinding] = [:]
    var outputs = ["out": "Fake"]
    var paths: [String] = []
    var runsAfter: [Component] = []
    /// Called as the executor starts (to interrupt the run from inside, say).
    var onExecute: @Sendable () -> Void = {}
    /// Checks for cancellation after `onExecute`, as a trainer does between rounds.
    var checksCancellation = false

    func readPaths(root: URL) throws -> [String] { paths }

    func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        onExecute()
        if checksCancellation { try context.checkCancellation() }
        if parameters.fail { throw FileError(.io, path: "fake", detail: "\(id.rawValue) was told to fail") }
        var text = parameters.value
        for name in inputs.keys.sorted() {
            text +=
                "|"
                + (try String(
                    contentsOf: try context.input(name).url.appendingPathComponent("value.txt"), encoding: .utf8))
        }
        for path in paths {
            text += "|" + ((try? String(contentsOf: context.root.appendingPathComponent(path), encoding: .utf8)) ?? "")
        }
        let folder = context.output("out")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: folder.appendingPathComponent("value.txt"))
        return ExecutorOutput(
            properties: ["out": ["verdict": parameters.verdict, "findings": "fail \(id.rawValue): told so"]],
            summary: text)
    }
}

/// The two metadata store backends, for tests that must hold for both.
enum StoreBackend: String, CaseIterable, Sendable {
    case sqlite, postgres
}

/// A store of one test's own: an SQLite file in `dir`, or a database of its own on the
/// PostgreSQL test server.
struct TestStore {
    let store: any MetadataStore
    let database: PostgresTestDatabase?

    init(_ backend: StoreBackend, in dir: TemporaryDirectory) throws {
        switch backend {
        case .sqlite:
            try FileManager.default.createDirectory(at: dir.appending(".mlops"), withIntermediateDirectories: true)
            store = try SQLiteMetadataStore(path: dir.appending(".mlops/store.sqlite").path)
            database = nil
        case .postgres:
            let database = try PostgresTestDatabase()
            store = try PostgresMetadataStore(address: database.address)
            self.database = database
        }
    }

    /// Runs SQL straight on the database, behind the store's back (as another process would).
    func execute(_ sql: String) throws {
        if let database {
            try database.execute(sql)
        } else {
            let raw = try SQLiteDatabase(path: store.location)
            try raw.write { db in try db.execute(sql: sql) }
            try raw.close()
        }
    }
}

struct RunnerFixture {
    let dir: TemporaryDirectory
    let testStore: TestStore
    var store: any MetadataStore { testStore.store }

    init(_ backend: StoreBackend = .sqlite) throws {
        dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appending(".mlops"), withIntermediateDirectories: true)
        testStore = try TestStore(backend, in: dir)
    }

    /// A chain ExampleGen → StatisticsGen → ExampleValidator of fakes; ExampleGen reads `data.txt`.
    func chain(value: String = "a", failStatistics: Bool = false, verdict: String = "pass") -> [any PipelineComponent] {
        [
            FakeComponent(id: .exampleGen, parameters: .init(value: value), paths: ["data.txt"]),
            FakeComponent(
                id: .statisticsGen, parameters: .init(value: "s", fail: failStatistics),
                inputs: ["examples": InputBinding(.exampleGen, "out")]),
            FakeComponent(
                id: .exampleValidator, parameters: .init(value: "v", verdict: verdict),
                inputs: ["statistics": InputBinding(.statisticsGen, "out")]),
            FakeComponent(
                id: .transform, parameters: .init(value: "t"), inputs: ["examples": InputBinding(.exampleGen, "out")],
                runsAfter: [.exampleValidator]),
        ]
    }

    func runner(_ components: [any PipelineComponent]) -> PipelineRunner {
        let root = dir.url
        return PipelineRunner(
            root: root, store: store, components: components, commit: nil,
            fingerprint: { path in
                guard let data = FileManager.default.contents(atPath: root.appendingPathComponent(path).path) else {
                    return nil
                }
                return "content:" + String(decoding: data, as: UTF8.self)
            })
    }

    func run(_ components: [any PipelineComponent], _ options: PipelineRunner.Options = .init()) throws -> RunReport {
        try runner(components).run(pipeline: "test", properties: [:], options: options)
    }
}

extension RunReport {
    func outcome(_ component: Component) -> StageReport.Outcome? {
        stage(component)?.outcome
    }
}

@Suite struct RunnerTests {
    @Test(arguments: StoreBackend.allCases) func aSecondRunIsCachedAndAChangedPathRerunsOnlyWhatDependsOnIt(
        _ backend: StoreBackend
    ) throws {
        let fixture = try RunnerFixture(backend)
        _ = try fixture.dir.write("data.txt", "one")
        let first = try fixture.run(fixture.chain())
        #expect(first.stages.map(\.outcome) == [.ran, .ran, .ran, .ran])
        #expect(first.stages.allSatisfy { $0.reason == "ran because there is no earlier execution" })

        let second = try fixture.run(fixture.chain())
        #expect(second.stages.map(\.outcome) == [.cached, .cached, .cached, .cached])

        _ = try fixture.dir.write("data.txt", "two")
        let third = try fixture.run(fixture.chain())
        #expect(third.stages.map(\.outcome) == [.ran, .ran, .ran, .ran])
        #expect(third.stages[0].reason == "ran because data.txt changed: content:one → content:two")
        #expect(third.stages[1].reason.hasPrefix("ran because input examples changed: sha256:"))

        // A parameter change reruns the component and everything after it, not what is before.
        let fourth = try fixture.run(fixture.chain(value: "b"))
        #expect(fourth.stages.map(\.outcome) == [.ran, .ran, .ran, .ran])
        #expect(fourth.stages[0].reason == #"ran because parameter value changed: "a" → "b""#)
        var changedValidator = fixture.chain(value: "b")
        changedValidator[2] = FakeComponent(
            id: .exampleValidator, parameters: .init(value: "v2"),
            inputs: ["statistics": InputBinding(.statisticsGen, "out")])
        let fifth = try fixture.run(changedValidator)
        #expect(fifth.stages.map(\.component) == [.exampleGen, .statisticsGen, .exampleValidator, .transform])
        #expect(fifth.stages.map(\.outcome) == [.cached, .cached, .ran, .cached])

        var options = PipelineRunner.Options()
        options.force = [.statisticsGen]
        let forced = try fixture.run(changedValidator, options)
        #expect(forced.outcome(.statisticsGen) == .ran)
        #expect(
            forced.stage(.statisticsGen)?.reason == "ran because of --force StatisticsGen")
        // The same output again: downstream stays cached (outputs are addressed by content).
        #expect(forced.outcome(.exampleValidator) == .cached)
        options = PipelineRunner.Options()
        options.noCache = true
        #expect(try fixture.run(changedValidator, options).stages.allSatisfy { $0.outcome == .ran })
    }

    @Test(arguments: StoreBackend.allCases) func aFailedExecutionIsRecordedNeverCachedAndStopsWhatDependsOnIt(
        _ backend: StoreBackend
    ) throws {
        let fixture = try RunnerFixture(backend)
        _ = try fixture.dir.write("data.txt", "one")
        #expect(throws: FileError.self) { try fixture.run(fixture.chain(failStatistics: true)) }
        let executions = try fixture.store.allExecutions()
        #expect(executions.map(\.state) == [.complete, .failed])
        // Transform waits for ExampleValidator, which never ran: neither is recorded.
        #expect(executions[1].error?.contains("StatisticsGen was told to fail") == true)
        // No staging folder is left, and nothing of the failed execution is published.
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.appending(".mlops/tmp").path).isEmpty)
        #expect(!fixture.dir.exists(".mlops/artifacts/StatisticsGen"))
        // The next run reruns it (a failure is never a cache entry) and reuses ExampleGen.
        let next = try fixture.run(fixture.chain())
        #expect(next.stages.map(\.outcome) == [.cached, .ran, .ran, .ran])
    }

    /// Outputs missing from .mlops: in a store of its own they are gone (marked DELETED, the
    /// component runs); in a shared store they may be in another checkout (left LIVE).
    @Test(arguments: StoreBackend.allCases) func outputsMissingFromMlopsAreRemadeAndOnlyAnOwnStoreForgetsThem(
        _ backend: StoreBackend
    ) throws {
        let fixture = try RunnerFixture(backend)
        _ = try fixture.dir.write("data.txt", "one")
        _ = try fixture.run(fixture.chain())
        try FileManager.default.removeItem(at: fixture.dir.appending(".mlops/artifacts/StatisticsGen"))
        let again = try fixture.run(fixture.chain())
        #expect(again.outcome(.statisticsGen) == .ran)
        let reason = again.stage(.statisticsGen)?.reason ?? ""
        let execution = try #require(again.stage(.statisticsGen)?.execution)
        let key = try #require(try fixture.store.execution(execution)?.cacheKey)
        switch backend {
        case .sqlite:
            #expect(reason == "ran because the outputs of execution 2 are gone from .mlops", "\(reason)")
            #expect(try fixture.store.cacheHits(for: key).map(\.execution) == [execution])
        case .postgres:
            #expect(reason.hasPrefix("ran because the outputs of execution 2 are in another checkout"), "\(reason)")
            #expect(try fixture.store.cacheHits(for: key).map(\.execution) == [execution, 2])
        }
        // The same content again: the next run is cached either way.
        #expect(try fixture.run(fixture.chain()).stages.allSatisfy { $0.outcome == .cached })
    }

    @Test func aFailedVerdictStopsTheComponentsAfterIt() throws {
        let fixture = try RunnerFixture()
        _ = try fixture.dir.write("data.txt", "one")
        let report = try fixture.run(fixture.chain(verdict: "fail"))
        #expect(report.stoppedBy == .exampleValidator)
        #expect(report.outcome(.exampleValidator) == .ran)
        #expect(report.outcome(.transform) == .skipped)
        #expect(
            report.stage(.exampleValidator)?.findings == ["fail ExampleValidator: told so"])
        // Cached, the verdict still stops the run.
        let again = try fixture.run(fixture.chain(verdict: "fail"))
        #expect(again.outcome(.exampleValidator) == .cached && again.stoppedBy == .exampleValidator)
        #expect(again.outcome(.transform) == .skipped)
    }

    /// Runs the chain and cancels it as SIGINT would, while ExampleGen executes; ExampleGen
    /// checks for cancellation afterwards when `checked`, as the Trainer does between rounds.
    func interruptDuringExampleGen(_ fixture: RunnerFixture, checked: Bool) throws {
        _ = try fixture.dir.write("data.txt", "one")
        final class Holder: @unchecked Sendable { var runner: PipelineRunner? }
        let holder = Holder()
        var components = fixture.chain()
        var source = try #require(components[0] as? FakeComponent)
        source.onExecute = { holder.runner?.cancel() }
        source.checksCancellation = checked
        components[0] = source
        let runner = fixture.runner(components)
        holder.runner = runner
        #expect(throws: CancellationError.self) {
            try runner.run(pipeline: "test", properties: [:], options: .init())
        }
    }

    @Test func anInterruptedRunFinishesWhatRunsAndStartsNothingMore() throws {
        let fixture = try RunnerFixture()
        try interruptDuringExampleGen(fixture, checked: false)
        let executions = try fixture.store.allExecutions()
        #expect(executions.map(\.component) == ["ExampleGen"])
        #expect(executions.map(\.state) == [.complete])
        #expect(try fixture.store.runs().first?.properties["status"] == "interrupted")
        // The next run picks up where it stopped.
        let next = try fixture.run(fixture.chain())
        #expect(next.stages.map(\.outcome) == [.cached, .ran, .ran, .ran])
    }

    @Test func aComponentThatStopsWhenAskedEndsTheRunAsInterrupted() throws {
        let fixture = try RunnerFixture()
        try interruptDuringExampleGen(fixture, checked: true)
        let executions = try fixture.store.allExecutions()
        #expect(executions.map(\.component) == ["ExampleGen"])
        #expect(executions.map(\.state) == [.failed])
        #expect(try fixture.store.runs().first?.properties["status"] == "interrupted")
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.appending(".mlops/tmp").path).isEmpty)
    }

    @Test func aPublishThatFailsLeavesNothingHalfPublished() throws {
        let fixture = try RunnerFixture()
        _ = try fixture.dir.write("data.txt", "one")
        // StatisticsGen's artifact folder cannot be made: a file is in the way (as a full or
        // read-only disk would refuse it).
        _ = try fixture.dir.write(".mlops/artifacts/StatisticsGen", "in the way")
        #expect(throws: (any Error).self) { try fixture.run(fixture.chain()) }
        let executions = try fixture.store.allExecutions()
        #expect(executions.map(\.state) == [.complete, .failed])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.dir.appending(".mlops/tmp").path).isEmpty)
        #expect(try fixture.dir.read(".mlops/artifacts/StatisticsGen") == "in the way")
        try FileManager.default.removeItem(at: fixture.dir.appending(".mlops/artifacts/StatisticsGen"))
        let next = try fixture.run(fixture.chain())
        #expect(next.stages.map(\.outcome) == [.cached, .ran, .ran, .ran])
    }

    @Test func anInvalidGraphIsRefused() throws {
        let fixture = try RunnerFixture()
        let orphan = FakeComponent(
            id: .statisticsGen, parameters: .init(value: "s"), inputs: ["examples": InputBinding(.exampleGen, "out")])
        #expect(throws: PipelineError.self) { try fixture.runner([orphan]).validate() }
        let cycleA = FakeComponent(
            id: .exampleGen, parameters: .init(value: "a"), inputs: ["x": InputBinding(.statisticsGen, "out")])
        let cycleB = FakeComponent(
            id: .statisticsGen, parameters: .init(value: "b"), inputs: ["x": InputBinding(.exampleGen, "out")])
        do {
            _ = try fixture.runner([cycleA, cycleB]).validate()
            Issue.record("a cycle was accepted")
        } catch let error as PipelineError {
            #expect(error.message == "the pipeline cannot run: a cycle among ExampleGen, StatisticsGen")
            #expect(error.exitStatus == .configError)
        }
    }

    @Test(arguments: StoreBackend.allCases) func anExecutionLeftRunningByADeadProcessIsAbandonedAndItsStagingRemoved(
        _ backend: StoreBackend
    ) throws {
        let fixture = try RunnerFixture(backend)
        _ = try fixture.dir.write("data.txt", "one")
        _ = try fixture.run(fixture.chain())
        // What a SIGKILL mid-run leaves: a RUNNING execution of a process that is gone, and its staging folder.
        let staging = fixture.dir.appending(".mlops/tmp/StatisticsGen-killed")
        try FileManager.default.createDirectory(
            at: staging.appendingPathComponent("out"), withIntermediateDirectories: true)
        _ = try fixture.dir.write(".mlops/tmp/StatisticsGen-killed/out/value.txt", "half")
        let host = ProcessInfo.processInfo.hostName
        try fixture.testStore.execute(
            """
            INSERT INTO executions (component, component_version, state, cache_key, host, pid, staging, started_at)
            VALUES ('StatisticsGen', '1', 'RUNNING', 'k', '\(host)', 999999999, '\(staging.path)', 0)
            """)
        // Another machine's executions: a recent one may still be running there; an old one is not.
        let now = Date().timeIntervalSince1970
        try fixture.testStore.execute(
            """
            INSERT INTO executions (component, component_version, state, cache_key, host, pid, started_at)
            VALUES ('Trainer', '1', 'RUNNING', 'recent', 'elsewhere', 1, \(now)),
                   ('Trainer', '1', 'RUNNING', 'old', 'elsewhere', 1, \(now - 3 * 86400))
            """)
        let report = try fixture.run(fixture.chain())
        #expect(report.stages.allSatisfy { $0.outcome == .cached })
        #expect(!FileManager.default.fileExists(atPath: staging.path))
        let states = try fixture.store.allExecutions().filter { $0.cacheKey == "k" }.map(\.state)
        #expect(states == [.abandoned])
        let foreign = try fixture.store.allExecutions().filter { $0.component == "Trainer" }
        #expect(foreign.map(\.cacheKey) == ["recent", "old"])
        #expect(foreign.map(\.state) == [.running, .abandoned])
    }
}

@Suite struct MetadataStoreTests {
    @Test func migrationsAreRecordedAndANewerStoreIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("store.sqlite").path
        try SQLiteMetadataStore(path: path).close()
        let database = try SQLiteDatabase(path: path)
        let applied = try database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(applied == ["v1-metadata", "v2-file-hashes", "v3-run-tracking", "v4-delivery-claims"])
        try database.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
        }
        try database.close()
        do {
            _ = try SQLiteMetadataStore(path: path)
            Issue.record("a newer store was opened")
        } catch let error as MetadataStoreError {
            #expect(error.message.contains("was made by a newer mlops"))
            #expect(error.message.contains("v9-from-the-future"))
            #expect(error.exitStatus == .ioError)
        }
        // Nothing was migrated or changed: the migrations are as they were.
        let after = try SQLiteDatabase(path: path)
        #expect(
            try after.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY 1") }
                == ["v1-metadata", "v2-file-hashes", "v3-run-tracking", "v4-delivery-claims", "v9-from-the-future"])
        try after.close()
    }

    @Test func aFileThatIsNotADatabaseIsRefusedAndLeftAlone() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("store.sqlite", "this is not a database, but someone's notes\n")
        do {
            _ = try SQLiteMetadataStore(path: file.path)
            Issue.record("a text file was opened as a store")
        } catch let error as StoreError {
            #expect(error.isCorrupt)
            #expect(error.exitStatus == .ioError)
        }
        #expect(try dir.read("store.sqlite") == "this is not a database, but someone's notes\n")
    }

    @Test func aTruncatedStoreIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("store.sqlite").path
        let store = try SQLiteMetadataStore(path: path)
        _ = try store.beginRun(pipeline: "p", properties: [:])
        try store.close()
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(100).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try? FileManager.default.removeItem(atPath: path + "-shm")
        #expect(throws: StoreError.self) { try SQLiteMetadataStore(path: path) }
    }
}

@Suite struct ContentHashCacheTests {
    /// Counts lookups and hits over the store's cache.
    final class Counting: ContentHashCache, @unchecked Sendable {
        let inner: StoreHashCache
        var hits = 0
        var records = 0
        init(_ inner: StoreHashCache) { self.inner = inner }
        func digest(for path: String, stamp: FileStamp) -> String? {
            let found = inner.digest(for: path, stamp: stamp)
            if found != nil { hits += 1 }
            return found
        }
        func record(path: String, stamp: FileStamp, digest: String) {
            records += 1
            inner.record(path: path, stamp: stamp, digest: digest)
        }
    }

    @Test func aModifiedFileIsHashedOnceUntilItChangesAgain() throws {
        let repo = try TestRepository()
        try repo.write("data.csv", "a,b\n1,2\n")
        _ = try repo.commitAll("data")
        let file = repo.directory.appending("data.csv")
        try "a,b\n1,3\n".write(to: file, atomically: false, encoding: .utf8)
        // Old enough not to be "racily clean".
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: file.path)
        let store = try SQLiteMetadataStore(path: repo.directory.appending("store.sqlite").path)
        defer { try? store.close() }
        let cache = Counting(StoreHashCache(store: store))
        func fingerprint() throws -> String? {
            try RepositorySnapshot(repository: repo.repository, cache: cache).fingerprint("data.csv")
        }
        let first = try fingerprint()
        #expect(first?.hasPrefix("sha256:") == true)
        #expect(cache.records == 1 && cache.hits == 0)
        #expect(try fingerprint() == first)
        #expect(cache.hits == 1 && cache.records == 1)
        // Same size, new content: the stamp differs, so it is hashed again.
        try "a,b\n1,4\n".write(to: file, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -30)], ofItemAtPath: file.path)
        let third = try fingerprint()
        #expect(third != first)
        #expect(cache.records == 2 && cache.hits == 1)
        // Written just now: hashed, and not remembered (it could change again within the tick).
        try "a,b\n1,5\n".write(to: file, atomically: false, encoding: .utf8)
        _ = try fingerprint()
        #expect(cache.records == 2)
    }
}
