import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// `mlops component run NAME` as an orchestrator's tasks run it: each component in a fresh
/// clone of its own, sharing only the remote cache (moto's S3) and the metadata store
/// (PostgreSQL), with Kubeflow Pipelines' executor contract checked by the kfp packages.
@Suite struct ComponentRunCLITests {
    static let order = [
        "ExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator", "Transform", "Trainer", "Evaluator",
        "InfraValidator",
    ]

    func run(_ arguments: [String], _ repo: TestRepository, _ environment: [String: String]) throws
        -> MLOpsProcess.Result
    {
        try MLOpsProcess.run(arguments, in: repo.directory.url, environment: environment)
    }

    /// The stage line of `component` in a run's output: its outcome word (`ran`, `pulled`, …).
    func outcome(_ component: String, _ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix(component + " ") }?.split(separator: " ").dropFirst()
            .first.map(String.init)
    }

    func json(_ url: URL) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test func eachComponentInAFreshCloneOfItsOwnGivesWhatALocalGateGives() throws {
        let bucket = try S3TestBucket()
        let database = try PostgresTestDatabase()
        let env = bucket.sharedStorage(store: database.url)
        let origin = try TaxiProject.make()
        let outputs = try TemporaryDirectory("mlops-task-outputs")
        var parameters: [String: [String: Any]] = [:]
        for (index, component) in Self.order.enumerated() {
            let clone = try TestRepository(cloning: origin)
            let folder = outputs.appending(component)
            var arguments = ["component", "run", component]
            if component == "Evaluator" {
                // Kubeflow Pipelines' contract: the ExecutorInput names where everything goes.
                let input: [String: Any] = [
                    "inputs": ["parameterValues": [:] as [String: Any]],
                    "outputs": [
                        "parameters": ["blessed": ["outputFile": folder.appendingPathComponent("blessed").path]],
                        "artifacts": [
                            "evaluation": [
                                "artifacts": [
                                    [
                                        "name": "evaluation", "type": ["schemaTitle": "system.Artifact"],
                                        "uri": "s3://kfp-root/run/Evaluator/evaluation", "metadata": [:],
                                    ] as [String: Any]
                                ]
                            ]
                        ],
                        "outputFile": folder.appendingPathComponent("executor_output.json").path,
                    ] as [String: Any],
                ]
                let text = String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self)
                arguments += ["--executor-input", text]
            } else {
                arguments += ["--output-dir", folder.path]
            }
            let result = try run(arguments, clone, env)
            #expect(result.status == 0, "\(component): \(result.stderr)")
            #expect(outcome(component, result.stdout) == "ran", "\(component): \(result.stdout)")
            // Everything upstream was pulled from the remote cache, never run again.
            let others = result.stdout.split(separator: "\n").compactMap { line -> String? in
                let name = line.split(separator: " ").first.map(String.init) ?? ""
                return Self.order.contains(name) && name != component ? name : nil
            }
            for other in others {
                #expect(outcome(other, result.stdout) == "pulled", "\(component) ← \(other): \(result.stdout)")
            }
            #expect(others.allSatisfy { Self.order.prefix(index).contains($0) })
            if component == "Evaluator" {
                #expect(try String(contentsOf: folder.appendingPathComponent("blessed"), encoding: .utf8) == "true")
                let checked = try PythonTool.kfp.run(
                    "kfp_check.py", ["executor-output", folder.appendingPathComponent("executor_output.json").path])
                #expect(checked.status == 0, "\(checked.stderr)")
                let output = try #require(
                    JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any])
                #expect((output["parameterValues"] as? [String: Any])?["blessed"] as? Bool == true)
                let artifact = try #require(
                    ((output["artifacts"] as? [String: Any])?["evaluation"] as? [String: Any])?["artifacts"]
                        as? [[String: Any]]
                ).first
                // The URI is the output's folder in the remote cache, with its files under it.
                let uri = try #require(artifact?["uri"] as? String)
                #expect(uri.hasPrefix("s3://\(bucket.name)/cache/") && uri.hasSuffix("/evaluation/"), "\(uri)")
                #expect(!(try bucket.keys(String(uri.dropFirst("s3://\(bucket.name)/".count)))).isEmpty, "\(uri)")
                #expect((artifact?["metadata"] as? [String: Any])?["component"] as? String == "Evaluator")
            } else {
                parameters[component] = try json(folder.appendingPathComponent("return.json"))
                #expect(parameters[component]?["outcome"] as? String == "ran")
                #expect(
                    try String(contentsOf: folder.appendingPathComponent("outcome"), encoding: .utf8) == "ran")
            }
        }
        #expect(parameters["InfraValidator"]?["blessed"] as? String == "true")
        #expect(parameters["ExampleValidator"]?["verdict"] as? String == "pass")

        // A task run again: its own key is a hit, so it says so and fetches nothing of its own.
        let again = try TestRepository(cloning: origin)
        let cached = try run(["component", "run", "Trainer"], again, env)
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(outcome("Trainer", cached.stdout) == "cached", "\(cached.stdout)")
        #expect(cached.stdout.contains("its outputs are in the remote cache"), "\(cached.stdout)")
        #expect(cached.stdout.contains("nothing to do"))
        #expect(!again.directory.exists(".mlops/artifacts/Trainer"))

        // The same commit gated locally, sharing nothing: the same model and the same verdict.
        let local = try TestRepository(cloning: origin)
        let gated = try run(["gate", "--no-remote-cache"], local, [:])
        #expect(gated.status == 0, "\(gated.stderr)")
        let trained = try run(["train", "--json", "--no-remote-cache"], local, [:])
        let document = try #require(
            JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as? [String: Any])
        let stages = try #require(
            ((document["result"] as? [String: Any])?["report"] as? [String: Any])?["stages"] as? [[String: Any]])
        let model = (stages.first { $0["component"] as? String == "Trainer" }?["outputs"] as? [String: Any])?["model"]
        #expect(model as? String != nil)
        let taskModel = try #require(cached.stdout.split(separator: "\n").first { $0.hasPrefix("Trainer: cached") })
        #expect(taskModel.contains("key "), "\(taskModel)")
        let json = try run(["component", "run", "Trainer", "--json"], again, env)
        let taskDocument = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let artifacts = try #require((taskDocument["result"] as? [String: Any])?["artifacts"] as? [[String: Any]])
        #expect(artifacts.first { $0["name"] as? String == "model" }?["fingerprint"] as? String == model as? String)
    }

    @Test func anUpstreamComponentNotYetRunIsExit66NamingIt() throws {
        let bucket = try S3TestBucket()
        let env = bucket.sharedStorage()
        let origin = try TaxiProject.make()
        let clone = try TestRepository(cloning: origin)
        let result = try run(["component", "run", "Trainer"], clone, env)
        #expect(result.status == 66, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "Trainer cannot run yet: the outputs of ExampleGen it depends on are not in the store nor in the remote cache (s3://\(bucket.name)/cache)"
            ), "\(result.stderr)")
        #expect(result.stderr.contains("run `mlops component run ExampleGen` first"))
        #expect(!clone.directory.exists(".mlops/artifacts/Trainer"))
        // Nothing was pushed for it.
        #expect(try bucket.keys("cache/").allSatisfy { !$0.hasSuffix("/record.json") })

        // Without a remote cache the message says what to set.
        let alone = try run(["component", "run", "Transform", "--no-remote-cache"], clone, [:])
        #expect(alone.status == 66, "\(alone.stderr)")
        #expect(alone.stderr.contains("no remote cache is configured"), "\(alone.stderr)")
        #expect(alone.stderr.contains("with cache.remote (or MLOPS_CACHE) set"), "\(alone.stderr)")
    }

    @Test func aBadExecutorInputOrAnUnknownComponentIsAUsageErrorBeforeAnythingRuns() throws {
        let origin = try TaxiProject.make()
        let clone = try TestRepository(cloning: origin)
        let broken = try run(["component", "run", "ExampleGen", "--executor-input", "{\"outputs\": "], clone, [:])
        #expect(broken.status == 64, "\(broken.stderr)")
        #expect(broken.stderr.contains("--executor-input is not KFP's ExecutorInput JSON"), "\(broken.stderr)")
        #expect(!clone.directory.exists(".mlops"))

        let wrongType = try run(
            ["component", "run", "ExampleGen", "--executor-input", "{\"outputs\": {\"parameters\": []}}"], clone, [:])
        #expect(wrongType.status == 64, "\(wrongType.stderr)")
        #expect(wrongType.stderr.contains("at outputs.parameters"), "\(wrongType.stderr)")

        let asksTooMuch = try run(
            [
                "component", "run", "ExampleGen", "--executor-input",
                "{\"outputs\": {\"parameters\": {\"blessed\": {\"outputFile\": \"/tmp/x\"}}}}",
            ], clone, [:])
        #expect(asksTooMuch.status == 64, "\(asksTooMuch.stderr)")
        #expect(
            asksTooMuch.stderr.contains("asks for output parameter 'blessed', which ExampleGen does not give"),
            "\(asksTooMuch.stderr)")
        #expect(!clone.directory.exists(".mlops/artifacts"))

        // A task's checkout: a revision the repository does not have, or --revision alone.
        let elsewhere = try TemporaryDirectory("mlops-task-cwd")
        let noRevision = try MLOpsProcess.run(
            ["component", "run", "ExampleGen", "--repository", origin.path, "--revision", "no-such-branch"],
            in: elsewhere.url)
        #expect(noRevision.status == 64, "\(noRevision.stderr)")
        #expect(
            noRevision.stderr.contains("--revision 'no-such-branch' is not a commit, branch or tag of \(origin.path)"),
            "\(noRevision.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        // --workdir must be new or empty: a folder with files in it is refused and left alone.
        try elsewhere.write("used/notes.txt", "mine")
        let used = try MLOpsProcess.run(
            ["component", "run", "ExampleGen", "--repository", origin.path, "--workdir", "used"], in: elsewhere.url)
        #expect(used.status == 74, "\(used.stderr)")
        #expect(used.stderr.contains("is not empty; --workdir takes an empty or new folder"), "\(used.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.appending("used").path) == ["notes.txt"])
        let alone = try run(["component", "run", "ExampleGen", "--revision", "main"], clone, [:])
        #expect(alone.status == 64 && alone.stderr.contains("--revision and --workdir go with --repository"))

        let unknown = try run(["component", "run", "Trainr"], clone, [:])
        #expect(unknown.status == 64, "\(unknown.stderr)")
        // The taxi pipeline has no tuner section: its Tuner is a configuration error.
        let notConfigured = try run(["component", "run", "Tuner"], clone, [:])
        #expect(notConfigured.status == 78, "\(notConfigured.stderr)")
        #expect(notConfigured.stderr.contains("Tuner is not part of this pipeline"), "\(notConfigured.stderr)")
    }

    /// The Tuner fanned out: each trial a task of its own in its own clone, four at once, then
    /// the Tuner gathers them; the same hyperparameters, byte for byte, as the in-process Tuner.
    @Test func theTunersTrialsAloneThenGatheredGiveWhatTheInProcessTunerGives() throws {
        let bucket = try S3TestBucket()
        let env = bucket.sharedStorage()
        let origin = try TaxiProject.make()
        try TaxiProject.tune(origin, trials: 4)
        _ = try origin.commitAll("tune")

        let local = try TestRepository(cloning: origin)
        let trained = try run(["train", "--json", "--no-remote-cache"], local, [:])
        #expect(trained.status == 0, "\(trained.stderr)")
        let document = try #require(JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as? [String: Any])
        let stages = try #require(
            ((document["result"] as? [String: Any])?["report"] as? [String: Any])?["stages"] as? [[String: Any]])
        let inProcess = try #require(
            (stages.first { $0["component"] as? String == "Tuner" }?["outputs"] as? [String: String])?[
                "best_hyperparameters"])

        for component in ["ExampleGen", "ImportSchemaGen", "StatisticsGen", "ExampleValidator", "Transform"] {
            let result = try run(["component", "run", component], try TestRepository(cloning: origin), env)
            #expect(result.status == 0, "\(component): \(result.stderr)")
        }
        let clones = try (1...4).map { _ in try TestRepository(cloning: origin) }
        let trials = try concurrently(4) { index in
            try MLOpsProcess.run(
                ["component", "run", "Tuner", "--trial", String(index + 1), "--json"], in: clones[index].directory.url,
                environment: env)
        }
        for (index, result) in trials.enumerated() {
            #expect(result.status == 0, "trial \(index + 1): \(result.stderr)")
            let outcome = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let parameters = (outcome["result"] as? [String: Any])?["parameters"] as? [String: String]
            #expect(parameters?["trial"] == String(index + 1))
            #expect(parameters?["outcome"] == "ran")
        }
        let kept = try bucket.keys("cache/").filter { $0.contains("/trials/") }
        #expect(kept.count == 4, "\(kept)")
        // Only the trials: no Tuner record yet.
        #expect(try bucket.keys("cache/").filter { $0.hasSuffix("/record.json") }.count == 5)

        let gatherer = try TestRepository(cloning: origin)
        let gathered = try run(["component", "run", "Tuner", "--json"], gatherer, env)
        #expect(gathered.status == 0, "\(gathered.stderr)")
        #expect(gathered.stderr.contains("4 of 4 trials gathered from their own tasks"), "\(gathered.stderr)")
        let outcome = try #require(JSONSerialization.jsonObject(with: Data(gathered.stdout.utf8)) as? [String: Any])
        let artifacts = try #require((outcome["result"] as? [String: Any])?["artifacts"] as? [[String: Any]])
        #expect(artifacts.first?["fingerprint"] as? String == inProcess)

        // A trial the plan does not have, or --trial on another component: usage errors.
        let beyond = try run(["component", "run", "Tuner", "--trial", "5"], try TestRepository(cloning: origin), env)
        #expect(beyond.status == 64, "\(beyond.stderr)")
        #expect(beyond.stderr.contains("--trial 5: the Tuner's search plan has trials 1 to 4"), "\(beyond.stderr)")
        let other = try run(["component", "run", "Trainer", "--trial", "1"], gatherer, env)
        #expect(other.status == 64 && other.stderr.contains("--trial goes with the Tuner"), "\(other.stderr)")
    }
}
