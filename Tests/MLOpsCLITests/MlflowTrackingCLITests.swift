import Foundation
import MLOpsTestSupport
import Metadata
import ProjectTestSupport
import Testing
import Tracking

/// The MLflow mirror against a real `mlflow server` (PyPI mlflow 3.17.2), checked with MLflow's
/// own Python client: runs with their params, metric histories, tags and artifacts; releases as
/// model versions with the channels as aliases; a server that is down loses nothing and gets
/// nothing twice; values MLflow would refuse or store wrongly; import.
@Suite(.serialized) struct MlflowTrackingCLITests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    /// What MLflow's client reads from `url`.
    func check(_ url: String, _ arguments: [String]) throws -> [String: Any] {
        let result = try PythonTool.mlflow.run("mlflow_check.py", [url] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        // MLflow's client prints a line per run it ends ("View run … at: …"); the JSON is last.
        return try json(String(result.stdout.split(separator: "\n").last ?? ""))
    }

    func runs(_ url: String, _ experiment: String, metrics: [String] = []) throws -> [[String: Any]] {
        try #require(try check(url, ["runs", experiment] + metrics)["runs"] as? [[String: Any]])
    }

    /// The taxi project with its own experiment and registered model on the shared server.
    func project(url: String) throws -> (TestRepository, [String: String], String) {
        let repo = try TaxiProject.make()
        let model = "taxi-" + UUID().uuidString.prefix(8).lowercased()
        let yaml = try String(contentsOf: repo.directory.url.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml + "\ntracking:\n  mlflow_uri: \(url)\n  registered_model: \(model)\n")
        _ = try repo.commitAll("mirror runs to MLflow")
        let experiment = "taxi-" + UUID().uuidString.prefix(8).lowercased()
        return (repo, ["MLFLOW_EXPERIMENT_NAME": experiment, "USER": "ci-bot"], model)
    }

    @Test func trainGateReleaseAndPromoteShowUpInMLflow() throws {
        let url = try MLflowTestServer.shared()
        let (repo, environment, model) = try project(url: url)
        let dir = repo.directory.url
        let experiment = environment["MLFLOW_EXPERIMENT_NAME"] ?? ""
        let train = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(train.status == 0, "\(train.stderr)")
        #expect(
            train.stdout.contains("run 2 → MLflow in the background (pid ")
                && train.stdout.contains("experiment \(experiment);"), "\(train.stdout)")
        let gate = try MLOpsProcess.run(["gate"], in: dir, environment: environment)
        #expect(gate.status == 0, "\(gate.stderr)")
        // The detached senders may still be at it: a sync waits for them, then nothing waits.
        let synced = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(synced.status == 0 && synced.stdout.contains(", 0 waiting"), "\(synced.stdout)\n\(synced.stderr)")

        let mirrored = try runs(url, experiment, metrics: ["eval-auc", "auc", "infra/p99_ms"])
        #expect(mirrored.map { $0["run_name"] as? String ?? "" } == ["train-2", "gate-3"])
        let gateRun = try #require(mirrored.last)
        let shown = try json(try MLOpsProcess.run(["runs", "show", "3", "--json"], in: dir).stdout)
        let result = try #require(shown["result"] as? [String: Any])
        // Every param as mlops recorded it; MLflow's own tags for what its UI shows.
        #expect(gateRun["params"] as? [String: String] == result["params"] as? [String: String])
        let tags = try #require(gateRun["tags"] as? [String: String])
        let ownTags = try #require(result["tags"] as? [String: String])
        #expect(tags["mlflow.source.git.commit"] == ownTags["git.commit"] && ownTags["git.commit"]?.count == 40)
        #expect(tags["mlflow.user"] == "ci-bot" && tags["mlflow.source.git.branch"] == "main")
        #expect(tags["gate.verdict"] == "blessed" && tags["mlops.run_id"] == "3")
        #expect(tags["mlops.run_key"]?.hasSuffix(":3") == true)
        #expect(gateRun["status"] as? String == "FINISHED")
        let start = try #require(gateRun["start_time"] as? Int)
        let end = try #require(gateRun["end_time"] as? Int)
        #expect(start > 1_700_000_000_000 && end >= start)
        // The metric history by step, as `mlops runs show` has it (the Trainer's reused curve).
        let histories = try #require(gateRun["histories"] as? [String: [[Any]]])
        let steps = histories["eval-auc"]?.compactMap { $0.first as? Int } ?? []
        let ownSteps =
            (result["metrics"] as? [[String: Any]] ?? []).filter { $0["key"] as? String == "eval-auc" }
            .compactMap { $0["step"] as? Int }
        #expect(steps == ownSteps && steps.count > 5)
        #expect(histories["auc"]?.count == 1 && histories["infra/p99_ms"]?.count == 1)
        let artifacts = try #require(gateRun["artifacts"] as? [String])
        for path in [
            "reports/gate.md", "reports/junit.xml", "reports/report.html", "model/model.json",
            "evaluation/evaluation.json", "infra/infra.json",
        ] {
            #expect(artifacts.contains(path), "\(path) not in \(artifacts)")
        }

        // A release is a model version of the gate's run; the channels are aliases.
        let release = try MLOpsProcess.run(["release"], in: dir, environment: environment)
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stdout.contains("@0.1.0 → model version 1"), "\(release.stdout)")
        for channel in ["staging", "production"] {
            let promote = try MLOpsProcess.run(
                ["promote", "taxi@0.1.0", "--to", channel], in: dir, environment: environment)
            #expect(promote.status == 0, "\(promote.stderr)")
            #expect(promote.stdout.contains("alias \(channel) → taxi version 1"), "\(promote.stdout)")
        }
        let alias = try check(url, ["alias", model, "production"])
        #expect(alias["version"] as? String == "1" && alias["status"] as? String == "READY")
        let releaseRun = try #require(try runs(url, experiment).last)
        #expect(alias["run_id"] as? String == releaseRun["run_id"] as? String)
        #expect(
            (alias["source"] as? String)?.hasSuffix("/\(releaseRun["run_id"] as? String ?? "")/artifacts/model") == true
        )
        #expect(alias["aliases"] as? [String: String] == ["production": "1", "staging": "1"])
        #expect((alias["tags"] as? [String: String])?["mlops.version"] == "0.1.0")
        // A rollback moves the alias back: production had nothing before, so it is refused by
        // the ledger; staging → production → (rollback production) is covered by the ledger tests.

        // Nothing waits; a second sync sends nothing.
        let sync = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(
            sync.status == 0 && sync.stdout.contains("0 sent to \(url), 0 waiting (nothing waited)"), "\(sync.stdout)")
    }

    @Test func aServerThatIsDownLosesNothingAndGetsNothingTwice() throws {
        let server = try MLflowTestServer()
        let (repo, environment, _) = try project(url: server.url)
        let dir = repo.directory.url
        let experiment = environment["MLFLOW_EXPERIMENT_NAME"] ?? ""
        let train = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(train.status == 0 && train.stdout.contains("→ MLflow in the background"), "\(train.stderr)")
        let delivered = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(delivered.status == 0 && delivered.stdout.contains(", 0 waiting"), "\(delivered.stdout)")

        try server.stop(keep: true)
        // The gate finishes at once: its detached sender finds the server down, and the run waits.
        let gate = try MLOpsProcess.run(["gate"], in: dir, environment: environment)
        #expect(gate.status == 0 && !gate.stderr.contains("tracking:"), "\(gate.stderr)")
        let down = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(down.status == 74 && down.stderr.contains("cannot be reached"), "\(down.stderr)")
        // With tracking.required the command fails (74) after recording its run, which waits too.
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml", yaml.replacingOccurrences(of: "tracking:\n", with: "tracking:\n  required: true\n"))
        let required = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(required.status == 74 && required.stderr.contains("cannot be reached"), "\(required.stderr)")
        let waiting = try MLOpsProcess.run(["runs", "sync", "--dry-run", "--json"], in: dir, environment: environment)
        let pending = try #require(try json(waiting.stdout)["result"] as? [[String: Any]])
        #expect(pending.map { $0["subject"] as? String ?? "" } == ["3", "4"])
        // The gate's run was tried by the sync and the train (which stopped there), and by the
        // gate's detached sender unless the sync held it first (the sender then leaves it).
        #expect(
            (2...3).contains(pending.first?["attempts"] as? Int ?? 0)
                && (pending.first?["last_error"] as? String)?.contains("cannot be reached") == true, "\(pending)")
        #expect(pending.allSatisfy { $0["claimed_by"] is NSNull }, "\(pending)")
        // The next command that sends in the background says once what waits, and finishes.
        _ = try repo.write("mlops.yaml", yaml)
        let next = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(
            next.stderr.contains("2 earlier deliveries wait in the store's outbox")
                && next.stderr.contains("cannot be reached"), "\(next.stderr)")
        #expect(next.stderr.components(separatedBy: "tracking:").count == 2, "\(next.stderr)")

        // Back on the same port with its data. A delivery cut off after runs/create left an
        // MLflow run with the key: it is found and finished, not made again.
        let restarted = try MLflowTestServer(port: server.port, directory: server.directory)
        let first = try #require(try runs(restarted.url, experiment).first)
        let key = try #require((first["tags"] as? [String: String])?["mlops.run_key"])
        let identity = String(key.dropLast(":2".count))
        let seeded = try check(restarted.url, ["seed", experiment, "\(identity):3"])
        let sync = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(
            sync.status == 0 && sync.stdout.contains("3 sent to \(restarted.url), 0 waiting"),
            "\(sync.stdout)\n\(sync.stderr)")
        let again = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(again.status == 0 && again.stdout.contains("0 sent"), "\(again.stdout)")
        let all = try runs(restarted.url, experiment)
        let keys = all.compactMap { ($0["tags"] as? [String: String])?["mlops.run_key"] }
        #expect(keys.sorted() == ["\(identity):2", "\(identity):3", "\(identity):4", "\(identity):5"])
        let resumed = try #require(all.first { ($0["tags"] as? [String: String])?["mlops.run_key"] == "\(identity):3" })
        #expect(resumed["run_id"] as? String == seeded["run_id"] as? String)
        #expect(
            resumed["status"] as? String == "FINISHED" && (resumed["params"] as? [String: String])?.isEmpty == false)
        try restarted.stop()
    }

    @Test func detachedSendersAndTheNextCommandNeverSendARunTwice() throws {
        let url = try MLflowTestServer.shared()
        let (repo, environment, _) = try project(url: url)
        let dir = repo.directory.url
        let experiment = environment["MLFLOW_EXPERIMENT_NAME"] ?? ""
        // Three commands in a row, each with a detached sender, and a sync right after them.
        for command in [["train"], ["gate"], ["train"]] {
            let result = try MLOpsProcess.run(command, in: dir, environment: environment)
            #expect(result.status == 0 && result.stdout.contains("→ MLflow in the background"), "\(result.stderr)")
        }
        let sync = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: environment)
        #expect(sync.status == 0 && sync.stdout.contains(", 0 waiting"), "\(sync.stdout)\n\(sync.stderr)")
        #expect(try runs(url, experiment).map { $0["run_name"] as? String ?? "" } == ["train-2", "gate-3", "train-4"])
        // Each run was sent by exactly one process: a detached sender (its log) or the sync.
        let log = try String(
            contentsOf: dir.appendingPathComponent(".mlops/tracking/sync.log"), encoding: .utf8)
        for run in 2...4 {
            let line = "run \(run) → MLflow run "
            #expect(
                log.components(separatedBy: line).count + sync.stdout.components(separatedBy: line).count == 3,
                "run \(run):\n\(log)\n\(sync.stdout)")
        }

        // A sender elsewhere holds a delivery: the detached kind leaves it, a sync waits for its
        // hold to run out; a holder on this machine that is gone is replaced at once.
        let store = try SQLiteMetadataStore(path: dir.appendingPathComponent(".mlops/store.sqlite").path)
        defer { try? store.close() }
        let held = try store.beginRun(pipeline: "taxi", properties: ["command": "train"], params: [:], tags: [:])
        let queued = try store.enqueueDelivery(kind: .run, subject: String(held), payload: "{}")
        let holdEnds = Date().addingTimeInterval(3)
        _ = try store.claimDelivery(queued.id, holder: "elsewhere:1", until: holdEnds, stale: nil)
        let mirror = MLflowMirror(
            settings: TrackingSettings(
                server: MLflowServer(uri: url, credentials: nil), experiment: experiment, required: false,
                registeredModel: nil),
            store: store, root: dir)
        let left = try mirror.sync(othersSending: .leave)
        #expect(left.outcomes.isEmpty && left.leftToOthers == 1 && left.pending == 1)
        var announced: [String] = []
        let waited = try mirror.sync { announced.append($0.claimedBy ?? "") }
        #expect(announced == ["elsewhere:1"] && waited.outcomes.map(\.subject) == [String(held)])
        // It waited for the hold to run out, then sent it once.
        #expect(Date() >= holdEnds)
        let sent = try #require(try store.delivery(kind: .run, subject: String(held)))
        #expect(sent.state == .sent && sent.attempts == 1 && sent.claimedBy == nil)
        let gone = try store.beginRun(pipeline: "taxi", properties: ["command": "train"], params: [:], tags: [:])
        let orphan = try store.enqueueDelivery(kind: .run, subject: String(gone), payload: "{}")
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let host = MLflowMirror.holder.prefix { $0 != ":" }
        let holder = "\(host):\(finished.processIdentifier) (\(MLflowMirror.kernel))"
        _ = try store.claimDelivery(orphan.id, holder: holder, until: Date().addingTimeInterval(600), stale: nil)
        announced = []
        let replaced = try mirror.sync { announced.append($0.claimedBy ?? "") }
        #expect(announced.isEmpty && replaced.outcomes.map(\.subject) == [String(gone)] && replaced.pending == 0)
    }

    @Test func valuesMLflowWouldRefuseOrStoreWronglyAreSentAsItsClientSendsThem() throws {
        let url = try MLflowTestServer.shared()
        let dir = try TemporaryDirectory()
        let store = try SQLiteMetadataStore(path: dir.appending("store.sqlite").path)
        defer { try? store.close() }
        let long = String(repeating: "p", count: 7000)
        let run = try store.beginRun(
            pipeline: "hostile", properties: ["command": "train", "status": "complete", "seconds": "1.5"],
            params: ["trainer.note": long, "slice=a,b@c": "v", "n": "6"],
            tags: ["tag": String(repeating: "t", count: 9000)])
        let manifest = KeyManifest(component: "Trainer", version: "1", parameters: [:], inputs: [:], paths: [:])
        let execution = try store.startExecution(
            run: run, component: "Trainer", version: "1", cacheKey: "k", manifest: manifest, commit: nil,
            staging: dir.appending("s").path, reason: "r", inputs: [])
        _ = try store.completeExecution(
            execution, outputs: [],
            record: ExecutionRecord(
                metrics: [
                    TrackedMetric(key: "nan", value: .nan, timestamp: 1_800_000_000),
                    TrackedMetric(key: "inf", value: .infinity, timestamp: 1_800_000_000),
                    TrackedMetric(key: "slice/payment_type=Cash, Card/auc", value: 0.5, timestamp: 1_800_000_000),
                    TrackedMetric(key: String(repeating: "k", count: 300), value: 1, timestamp: 1_800_000_000),
                ]
                    + (0..<1500).map {
                        TrackedMetric(key: "curve", step: Int64($0), value: Double($0), timestamp: 1_800_000_000)
                    }))
        try store.enqueueDelivery(kind: .run, subject: String(run), payload: "{}")
        let experiment = "hostile-" + UUID().uuidString.prefix(8).lowercased()
        let mirror = MLflowMirror(
            settings: TrackingSettings(
                server: MLflowServer(uri: url, credentials: nil), experiment: experiment, required: true,
                registeredModel: nil),
            store: store, root: dir.url)
        let report = try mirror.sync()
        #expect(report.failure == nil && report.pending == 0, "\(report.failure?.message ?? "")")
        let sent = try #require(try runs(url, experiment, metrics: ["nan", "inf", "curve"]).first)
        let params = try #require(sent["params"] as? [String: String])
        #expect(params["trainer.note"]?.count == 6000 && params["slice:a-b_c"] == "v" && params["n"] == "6")
        #expect((sent["tags"] as? [String: String])?["tag"]?.count == 8000)
        let metrics = try #require(sent["metrics"] as? [String: Any])
        // NaN stays NaN; infinity is what MLflow's SQL store keeps for it (the largest double).
        #expect(metrics["nan"] as? String == "NaN")
        #expect((metrics["inf"] as? Double).map { $0 > 1e308 } == true)
        #expect(metrics["slice/payment_type:Cash-Card/auc"] as? Double == 0.5)
        #expect(metrics.keys.contains { $0.count == 250 && $0.hasPrefix("kkkk") })
        // 1500 values went in two batches (MLflow takes 1000 per call); timestamps kept.
        let curve = try #require((sent["histories"] as? [String: [[Any]]])?["curve"])
        #expect(curve.count == 1500 && curve.allSatisfy { $0.last as? Int == 1_800_000_000_000 })
        #expect(sent["status"] as? String == "FINISHED")

        // An unreachable server is 74; the delivery waits.
        let unreachable = MLflowMirror(
            settings: TrackingSettings(
                server: MLflowServer(uri: "http://127.0.0.1:9", credentials: nil), experiment: experiment,
                required: true, registeredModel: nil),
            store: store, root: dir.url)
        let second = try store.beginRun(pipeline: "hostile", properties: ["command": "train"], params: [:], tags: [:])
        try store.enqueueDelivery(kind: .run, subject: String(second), payload: "{}")
        let failed = try unreachable.sync()
        #expect(failed.failure?.exitStatus == .ioError && failed.pending == 1)
    }

    @Test func anMLflowExperimentIsImportedOnceAndComparedWithTheRest() throws {
        let url = try MLflowTestServer.shared()
        let (repo, environment, _) = try project(url: url)
        let dir = repo.directory.url
        let experiment = "old-" + UUID().uuidString.prefix(8).lowercased()
        let logged = try #require(try check(url, ["log", experiment])["runs"] as? [String])
        let imported = try MLOpsProcess.run(
            ["runs", "import", "--from-mlflow", experiment], in: dir, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("2 runs imported from '\(experiment)'"), "\(imported.stdout)")
        let again = try MLOpsProcess.run(
            ["runs", "import", "--from-mlflow", experiment], in: dir, environment: environment)
        #expect(again.stdout.contains("0 runs imported from '\(experiment)', 2 already here"), "\(again.stdout)")
        let list = try MLOpsProcess.run(
            ["runs", "--json", "--filter", "params.lr = '0.3' and metrics.val_auc > 0.8"], in: dir)
        let rows = try #require(try json(list.stdout)["result"] as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect((row["tags"] as? [String: String])?["mlflow.run_id"] == logged.last)
        #expect((row["params"] as? [String: String])?["max_depth"] == "8")
        #expect((row["metrics"] as? [String: Any])?["rmse"] as? String == "NaN")
        let id = try #require((row["run"] as? [String: Any])?["id"] as? Int)
        let plot = try MLOpsProcess.run(
            ["runs", "plot", "val_auc", "--over", "rounds", "--run", String(id), "-o", "c.html"], in: dir)
        #expect(plot.status == 0, "\(plot.stderr)")
        let missing = try MLOpsProcess.run(
            ["runs", "import", "--from-mlflow", "no-such-\(experiment)"], in: dir, environment: environment)
        #expect(missing.status == 66 && missing.stderr.contains("no-such-\(experiment)"), "\(missing.stderr)")
        // Without a server configured, sync and import say how to name one (78).
        let none = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: ["MLFLOW_TRACKING_URI": ""])
        #expect(none.status == 78 && none.stderr.contains("no MLflow tracking server is configured"), "\(none.stderr)")
        // The CI templates' last step: nothing to do, and no failure, when tracking is off.
        let off = try MLOpsProcess.run(
            ["runs", "sync", "--if-configured"], in: dir, environment: ["MLFLOW_TRACKING_URI": ""])
        #expect(off.status == 0 && off.stdout.contains("tracking is off"), "\(off.stderr)")
        let bad = try MLOpsProcess.run(["train"], in: dir, environment: ["MLFLOW_TRACKING_URI": "ftp://host/x"])
        #expect(bad.status == 78 && bad.stderr.contains("MLFLOW_TRACKING_URI") && !bad.stdout.contains("ExampleGen"))
    }

    @Test func credentialsAreSentAsMLflowsClientSendsThemAndRefusalsFailWhenRequired() throws {
        // MLflow's own basic-auth app: user and password.
        let password = "Mlops-test-Passw0rd!"
        let server = try MLflowTestServer(adminPassword: password)
        let (repo, environment, _) = try project(url: server.url)
        let dir = repo.directory.url
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml", yaml.replacingOccurrences(of: "tracking:\n", with: "tracking:\n  required: true\n"))
        let anonymous = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(anonymous.status == 78 && anonymous.stderr.contains("(401)"), "\(anonymous.stderr)")
        #expect(anonymous.stderr.contains("MLFLOW_TRACKING_USERNAME"))
        var basic = environment
        basic["MLFLOW_TRACKING_USERNAME"] = "admin"
        basic["MLFLOW_TRACKING_PASSWORD"] = password
        let signedIn = try MLOpsProcess.run(["train"], in: dir, environment: basic)
        #expect(signedIn.status == 0, "\(signedIn.stderr)")
        // The refused run went too, once the credentials were right.
        #expect(signedIn.stdout.components(separatedBy: "→ MLflow run ").count == 3, "\(signedIn.stdout)")
        try server.stop()

        // A token, as a proxy that checks bearer tokens in front of MLflow sees it.
        let shared = try MLflowTestServer.shared()
        let proxy = try FaultProxy(upstream: shared, .bearer, argument: "s3cr3t-token")
        var bearer = environment
        bearer["MLFLOW_TRACKING_URI"] = proxy.endpoint.absoluteString
        bearer["MLFLOW_TRACKING_TOKEN"] = "wrong"
        let wrong = try MLOpsProcess.run(["train"], in: dir, environment: bearer)
        #expect(wrong.status == 78 && wrong.stderr.contains("(401)"), "\(wrong.stderr)")
        bearer["MLFLOW_TRACKING_TOKEN"] = "s3cr3t-token"
        let right = try MLOpsProcess.run(["runs", "sync"], in: dir, environment: bearer)
        #expect(right.status == 0 && right.stdout.contains("1 sent"), "\(right.stdout)\n\(right.stderr)")

        // A server answering 503 twice is tried again, as MLflow's client does.
        let flaky = try FaultProxy(upstream: shared, .slowDown, argument: "2")
        var retried = environment
        retried["MLFLOW_TRACKING_URI"] = flaky.endpoint.absoluteString
        let train = try MLOpsProcess.run(["train"], in: dir, environment: retried)
        #expect(train.status == 0 && train.stdout.contains("→ MLflow run "), "\(train.stderr)")
        #expect(flaky.requests().prefix(2).allSatisfy { $0.contains("-> 503 (injected)") })
    }
}
