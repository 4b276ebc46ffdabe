import Foundation
import MLOpsCore
import MLOpsTestSupport
import Metadata
import Pipeline
import Testing

/// What a run records for tracking (parameters, tags, metrics by step, files) and the
/// outbox of the MLflow mirror, the same in both store backends.
@Suite struct TrackingStoreTests {
    static let manifest = KeyManifest(component: "Trainer", version: "1", parameters: [:], inputs: [:], paths: [:])

    /// A run with one Trainer execution reporting `record`, and a second run reusing it.
    func twoRuns(_ store: any MetadataStore, record: ExecutionRecord) throws -> (Int64, Int64) {
        let first = try store.beginRun(
            pipeline: "p", properties: ["command": "train"], params: ["trainer.rounds": "50"],
            tags: ["git.branch": "main", "bad=key,@": "kept"])
        let execution = try store.startExecution(
            run: first, component: "Trainer", version: "1", cacheKey: "k", manifest: Self.manifest, commit: nil,
            staging: "/tmp/x", reason: "first", inputs: [])
        let outputs = try store.completeExecution(
            execution,
            outputs: [
                NewArtifact(
                    name: "model", type: "Model", uri: "Trainer/model/a", fingerprint: "sha256:aa", properties: [:])
            ],
            record: record)
        let second = try store.beginRun(
            pipeline: "p", properties: ["command": "train"], params: ["trainer.rounds": "50"], tags: [:])
        _ = try store.recordCached(
            run: second, component: "Trainer", version: "1", cacheKey: "k", manifest: Self.manifest, commit: nil,
            from: execution, inputs: [], outputs: outputs)
        return (first, second)
    }

    @Test(arguments: StoreBackend.allCases)
    func aCachedExecutionHasTheMetricsOfTheOneItReuses(_ backend: StoreBackend) throws {
        let dir = try TemporaryDirectory()
        let testStore = try TestStore(backend, in: dir)
        let store = testStore.store
        defer { withExtendedLifetime(testStore) { try? store.close() } }
        let long = String(repeating: "x", count: 7000)
        let record = ExecutionRecord(
            params: ["trainer.max_depth": "6", "trainer.note": long],
            metrics: [
                TrackedMetric(key: "eval-auc", step: 0, value: 0.7, timestamp: 100),
                TrackedMetric(key: "eval-auc", step: 1, value: 0.8, timestamp: 101),
                TrackedMetric(key: "slice/payment_type=Cash/auc", value: .nan, timestamp: 102),
                TrackedMetric(key: "infra/p99_ms", value: .infinity, timestamp: 103),
            ])
        let (first, second) = try twoRuns(store, record: record)
        let a = try #require(try store.tracking(run: first))
        let b = try #require(try store.tracking(run: second))
        #expect(a.metrics == b.metrics)
        #expect(a.metrics.count == 4)
        #expect(a.history("eval-auc").map(\.value) == [0.7, 0.8])
        #expect(a.latestMetrics["eval-auc"] == 0.8)
        // MLflow's key rules: `=` reads `:`, other refused characters `_`.
        #expect(a.latestMetrics["slice/payment_type:Cash/auc"]?.isNaN == true)
        #expect(a.latestMetrics["infra/p99_ms"] == .infinity)
        #expect(a.params["trainer.max_depth"] == "6" && b.params["trainer.max_depth"] == "6")
        #expect(a.params["trainer.rounds"] == "50")
        // Cut as MLflow's server cuts a parameter value.
        #expect(a.params["trainer.note"]?.count == TrackingKey.paramValueLimit)
        #expect(a.tags == ["git.branch": "main", "bad:key-_": "kept"])
        #expect(b.tags.isEmpty)
        #expect(try store.trackings(limit: 10).map(\.run.id) == [second, first])
        #expect(try store.tracking(run: 999) == nil)
        try store.recordRunTracking(
            first, params: [:], tags: ["gate.verdict": "blessed"],
            files: [RunFile(path: "reports/gate.md", location: ".mlops/runs/1/reports/gate.md")])
        let again = try #require(try store.tracking(run: first))
        #expect(again.tags["gate.verdict"] == "blessed")
        #expect(again.files == [RunFile(path: "reports/gate.md", location: ".mlops/runs/1/reports/gate.md")])
    }

    @Test(arguments: StoreBackend.allCases)
    func theOutboxKeepsEachDeliveryOnceUntilItIsSent(_ backend: StoreBackend) throws {
        let dir = try TemporaryDirectory()
        let testStore = try TestStore(backend, in: dir)
        let store = testStore.store
        defer { withExtendedLifetime(testStore) { try? store.close() } }
        let queued = try store.enqueueDelivery(kind: .run, subject: "7", payload: "{}")
        #expect(queued.state == .pending && queued.attempts == 0)
        let again = try store.enqueueDelivery(kind: .run, subject: "7", payload: "{\"x\":1}")
        #expect(again.id == queued.id && again.payload == "{\"x\":1}")
        try store.enqueueDelivery(kind: .registry, subject: "alias:taxi:production", payload: "{}")
        try store.noteDelivery(queued.id, sent: false, remoteID: "abc", error: "connection refused")
        var pending = try store.deliveries(pendingOnly: true, limit: 10)
        #expect(pending.map(\.subject) == ["7", "alias:taxi:production"])
        #expect(
            pending[0].attempts == 1 && pending[0].remoteID == "abc" && pending[0].lastError == "connection refused")
        try store.noteDelivery(queued.id, sent: true, remoteID: nil, error: nil)
        pending = try store.deliveries(pendingOnly: true, limit: 10)
        #expect(pending.map(\.subject) == ["alias:taxi:production"])
        let sent = try #require(try store.delivery(kind: .run, subject: "7"))
        #expect(sent.state == .sent && sent.remoteID == "abc" && sent.attempts == 2 && sent.lastError == nil)
        // Queued again once sent: kept as sent, its payload unchanged.
        let resent = try store.enqueueDelivery(kind: .run, subject: "7", payload: "{\"y\":2}")
        #expect(resent.state == .sent && resent.payload == "{\"x\":1}")
        #expect(try store.deliveries(pendingOnly: false, limit: 10).count == 2)
    }

    @Test(arguments: StoreBackend.allCases)
    func aDeliveryIsHeldByOneSenderAtATime(_ backend: StoreBackend) throws {
        let dir = try TemporaryDirectory()
        let testStore = try TestStore(backend, in: dir)
        let store = testStore.store
        defer { withExtendedLifetime(testStore) { try? store.close() } }
        let queued = try store.enqueueDelivery(kind: .run, subject: "7", payload: "{}")
        let later = Date().addingTimeInterval(600)
        let first = try #require(try store.claimDelivery(queued.id, holder: "a:1", until: later, stale: nil))
        #expect(first.claimedBy == "a:1")
        // Held: another sender does not get it, unless it knows the holder is gone.
        let refused = try #require(try store.claimDelivery(queued.id, holder: "b:2", until: later, stale: nil))
        #expect(refused.claimedBy == "a:1")
        #expect(try store.claimDelivery(queued.id, holder: "b:2", until: later, stale: "c:3")?.claimedBy == "a:1")
        #expect(try store.claimDelivery(queued.id, holder: "a:1", until: later, stale: nil)?.claimedBy == "a:1")
        #expect(try store.claimDelivery(queued.id, holder: "b:2", until: later, stale: "a:1")?.claimedBy == "b:2")
        // Keeping the MLflow run's id keeps the hold and counts no attempt.
        try store.noteRemoteID(queued.id, remoteID: "r1")
        var now = try #require(try store.delivery(kind: .run, subject: "7"))
        #expect(now.claimedBy == "b:2" && now.remoteID == "r1" && now.attempts == 0)
        // An attempt lets go of it; a hold that ran out is anyone's.
        try store.noteDelivery(queued.id, sent: false, remoteID: nil, error: "down")
        now = try #require(try store.delivery(kind: .run, subject: "7"))
        #expect(now.claimedBy == nil && now.claimedUntil == nil && now.attempts == 1)
        _ = try store.claimDelivery(queued.id, holder: "a:1", until: Date().addingTimeInterval(-1), stale: nil)
        #expect(try store.claimDelivery(queued.id, holder: "b:2", until: later, stale: nil)?.claimedBy == "b:2")
        // Once sent, nobody takes it.
        try store.noteDelivery(queued.id, sent: true, remoteID: nil, error: nil)
        let sent = try #require(try store.claimDelivery(queued.id, holder: "a:1", until: later, stale: nil))
        #expect(sent.state == .sent && sent.claimedBy == nil)
        #expect(try store.claimDelivery(999, holder: "a:1", until: later, stale: nil) == nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func sendersRacingForADeliveryHoldItOneAtATime(_ backend: StoreBackend) throws {
        let dir = try TemporaryDirectory()
        let testStore = try TestStore(backend, in: dir)
        let store = testStore.store
        defer { withExtendedLifetime(testStore) { try? store.close() } }
        // Six senders, each with a connection of its own, take and let go of one delivery in a
        // loop: whoever reads its own name in the row is the only one inside.
        let senders: [any MetadataStore] = try (0..<6).map { _ in
            if let database = testStore.database { return try PostgresMetadataStore(address: database.address) }
            return try SQLiteMetadataStore(path: store.location)
        }
        defer { for sender in senders { try? sender.close() } }
        let queued = try store.enqueueDelivery(kind: .run, subject: "7", payload: "{}")
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var inside = 0
            var most = 0
            var turns = 0
            var failures: [String] = []
        }
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: senders.count) { index in
            let holder = "host:\(index)"
            var mine = 0
            while mine < 5 {
                do {
                    let seen = try senders[index].claimDelivery(
                        queued.id, holder: holder, until: Date().addingTimeInterval(600), stale: nil)
                    guard seen?.claimedBy == holder else { continue }
                    tally.lock.withLock {
                        tally.inside += 1
                        tally.most = max(tally.most, tally.inside)
                        tally.turns += 1
                    }
                    usleep(500)
                    tally.lock.withLock { tally.inside -= 1 }
                    try senders[index].noteDelivery(
                        queued.id, sent: false, remoteID: nil, error: "turn", holder: holder)
                    mine += 1
                } catch {
                    tally.lock.withLock { tally.failures.append("\(error)") }
                    return
                }
            }
        }
        #expect(tally.failures.isEmpty, "\(tally.failures)")
        #expect(tally.most == 1 && tally.turns == 30)
        let after = try #require(try store.delivery(kind: .run, subject: "7"))
        #expect(after.attempts == 30 && after.claimedBy == nil && after.state == .pending)
        // A sender whose hold was taken over lets go of nothing, and a sent delivery stays sent.
        _ = try store.claimDelivery(queued.id, holder: "late:1", until: Date().addingTimeInterval(-1), stale: nil)
        _ = try store.claimDelivery(queued.id, holder: "new:2", until: Date().addingTimeInterval(600), stale: nil)
        try store.noteDelivery(queued.id, sent: false, remoteID: nil, error: "late", holder: "late:1")
        #expect(try store.delivery(kind: .run, subject: "7")?.claimedBy == "new:2")
        try store.noteDelivery(queued.id, sent: true, remoteID: "r", error: nil, holder: "new:2")
        try store.noteDelivery(queued.id, sent: false, remoteID: nil, error: "later still", holder: "late:1")
        #expect(try store.delivery(kind: .run, subject: "7")?.state == .sent)
    }

    @Test func keysAreMadeWhatMLflowAccepts() {
        #expect(TrackingKey.clean("slice/payment_type=Cash/auc") == "slice/payment_type:Cash/auc")
        #expect(TrackingKey.clean("slice/trip_start_hour=[12, 18)/auc") == "slice/trip_start_hour:12-18/auc")
        #expect(TrackingKey.clean("/a//b/../c/") == "a/b/_/c")
        #expect(TrackingKey.clean("a@b,c") == "a_b-c")
        #expect(TrackingKey.clean("") == "_")
        let long = TrackingKey.clean(String(repeating: "k", count: 300) + "1")
        let other = TrackingKey.clean(String(repeating: "k", count: 300) + "2")
        #expect(long.count == TrackingKey.keyLimit && other.count == TrackingKey.keyLimit && long != other)
    }

    func run(
        _ id: Int64, params: [String: String] = [:], tags: [String: String] = [:], metrics: [String: Double] = [:],
        status: String = "complete"
    ) -> RunTracking {
        RunTracking(
            run: RunSummary(
                id: id, name: "r\(id)", started: Date(timeIntervalSince1970: Double(id)),
                properties: ["status": status], states: [:]),
            params: params, tags: tags,
            metrics: metrics.map { TrackedMetric(key: $0.key, value: $0.value, timestamp: 0) }, files: [],
            executions: [])
    }

    @Test func filtersFollowMLflowsSearchSyntax() throws {
        let runs = [
            run(
                1, params: ["trainer.max_depth": "6", "trainer.eta": "0.1"], tags: ["git.branch": "main"],
                metrics: ["auc": 0.95]),
            run(2, params: ["trainer.max_depth": "4"], tags: ["git.branch": "feature/x"], metrics: ["auc": 0.85]),
            run(3, params: ["trainer.max_depth": "6"], metrics: ["auc": .nan], status: "failed"),
            run(4),
        ]
        func ids(_ text: String) throws -> [Int64] { try runs.filter(RunFilter(text).matches).map(\.run.id) }
        #expect(try ids("metrics.auc > 0.9 and params.trainer.max_depth = 6") == [1])
        #expect(try ids("params.trainer.max_depth = '6'") == [1, 3])
        #expect(try ids("params.`trainer.max_depth` != \"6\"") == [2])
        #expect(try ids("tags.git.branch LIKE 'feat%'") == [2])
        #expect(try ids("tags.git.branch ILIKE 'MAIN'") == [1])
        #expect(try ids("metrics.auc <= 0.85") == [2])
        #expect(try ids("attributes.status = 'failed'") == [3])
        #expect(try ids("attributes.run_id >= 3") == [3, 4])
        #expect(try ids("METRICS.auc>0.8 AND params.trainer.eta='0.1'") == [1])
        // Runs without the metric or with NaN never match a comparison.
        #expect(try ids("metrics.auc < 1") == [1, 2])
        for (text, reason) in [
            ("metrics.auc > 0.9 or metrics.auc < 0.1", "`or` is not supported"),
            ("metric.auc >", "expected a value"),
            ("metrics.auc > abc", "expected a number or a quoted value"),
            ("metricz.auc > 1", "did you mean 'metrics'"),
            ("metrics.auc ~ 1", "expected a comparison"),
            ("metrics.auc = 'high'", "compare it with a number"),
            ("params.x = 'unclosed", "never closed"),
            ("attributes.colour = 'red'", "attributes are run_id"),
            ("auc > 0.9", "expected a field"),
        ] {
            let error = try #require(throws: RunQueryError.self) { try RunFilter(text) }
            #expect(error.message.contains(reason), "\(text): \(error.message)")
            #expect(error.exitStatus == .usage)
        }
        #expect(try RunOrder("metrics.auc desc").sort(runs).map(\.run.id) == [1, 2, 4, 3])
        #expect(try RunOrder("metrics.auc").sort(runs).map(\.run.id) == [2, 1, 4, 3])
        #expect(try RunOrder("params.trainer.max_depth DESC").sort(runs).map(\.run.id) == [3, 1, 2, 4])
        #expect(throws: RunQueryError.self) { try RunOrder("metrics.auc downwards") }
    }
}
