import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// The exported pipeline run end to end as its orchestrator runs it (Tests/Tools/run_export.py):
/// for KFP the `kfp` package builds each task's ExecutorInput and resolves its command line;
/// for Argo the template's parameters are substituted. Each task is its own process with its
/// own clone, sharing only moto's S3 (cache and registry) and PostgreSQL (the store). One task
/// is killed with SIGKILL while its component runs, and the orchestrator's retry finishes it.
@Suite struct OrchestratedRunCLITests {
    /// A line of run_export.py's log: a task's attempt (its status and output) or a skip.
    struct Attempt: Decodable {
        let task: String
        let attempt: Int?
        let status: Int?
        let skipped: String?
        let stdout: String?
        let stderr: String?
    }

    /// Exports the pipeline of `origin` to `format` and runs it with run_export.py against the
    /// shared storage in `env` (killing `kill`'s first attempt when given): the script's result
    /// and every attempt and skip it logged.
    func exportAndRun(
        _ format: String, _ origin: TestRepository, _ env: [String: String], kill: String? = nil
    ) throws -> (result: MLOpsProcess.Result, attempts: [Attempt]) {
        let scratch = try TemporaryDirectory("mlops-orchestrated")
        let file = scratch.appending("pipeline-\(format).yaml")
        let exported = try MLOpsProcess.run(
            ["pipeline", "export", "--to", format, "-o", file.path], in: origin.directory.url)
        #expect(exported.status == 0, "\(exported.stderr)")
        let log = scratch.appending("attempts.jsonl")
        var runEnv = MLOpsProcess.environment(env)
        runEnv["MLOPS_BINARY"] = MLOpsProcess.binary.path
        let tool = format == "kfp" ? PythonTool.kfp : PythonTool.ciTools
        let result = try tool.run(
            "run_export.py",
            [format, file.path, "--param", "repository=\(origin.path)", "--param", "revision=main", "--log", log.path]
                + (kill.map { ["--kill", $0] } ?? []), environment: runEnv)
        let attempts = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Attempt.self, from: Data($0.utf8))
        }.filter { $0.attempt != nil || $0.skipped != nil }
        return (result, attempts)
    }

    @Test(arguments: ["kfp", "argo"])
    func theExportRunAsItsOrchestratorWouldGivesTheLocalGatesModelAndVerdict(format: String) throws {
        let bucket = try S3TestBucket()
        let database = try PostgresTestDatabase()
        let env = bucket.sharedStorage(store: database.url)
        let origin = try TaxiProject.make()
        let (ran, attempts) = try exportAndRun(format, origin, env, kill: "infra-validator")
        #expect(ran.status == 0, "\(ran.stdout)\(ran.stderr)\n\(attempts.map { "\($0.task): \($0.stderr ?? "")" })")

        // Every task once, in an order the DAG allows; the killed one twice.
        let tasks = [
            "example-gen", "import-schema-gen", "statistics-gen", "example-validator", "transform", "trainer",
            "evaluator", "infra-validator", "release",
        ]
        for task in tasks {
            let mine = attempts.filter { $0.task == task }
            if task == "infra-validator" {
                #expect(mine.map(\.status) == [-9, 0], "\(mine)")
            } else {
                #expect(mine.map(\.status) == [0], "\(task): \(mine)")
            }
        }
        #expect(attempts.allSatisfy { $0.skipped == nil }, "\(attempts)")

        // Nothing duplicated: the killed execution ABANDONED by its retry, one complete run of
        // it, one remote cache entry per component, one release.
        let infra = try database.execute(
            "SELECT state FROM executions WHERE component = 'InfraValidator' AND reason LIKE 'ran %' ORDER BY id")
        #expect(infra == ["ABANDONED", "COMPLETE"], "\(infra)")
        #expect(try database.execute("SELECT count(*) FROM executions WHERE state = 'RUNNING'") == ["0"])
        let records = try bucket.keys("cache/").filter { $0.hasSuffix("/record.json") }
        #expect(records.count == 8, "\(records)")
        let versions = Set(
            try bucket.keys("registry/").compactMap { key -> String? in
                let parts = key.split(separator: "/")
                guard let index = parts.firstIndex(of: "versions"), index + 1 < parts.count else { return nil }
                return String(parts[index + 1])
            })
        #expect(versions == ["0.1.0"], "\(versions)")

        // The same commit gated locally, sharing nothing: the same model, blessed.
        let local = try TestRepository(cloning: origin)
        let gated = try MLOpsProcess.run(["gate", "--no-remote-cache"], in: local.directory.url)
        #expect(gated.status == 0, "\(gated.stderr)")
        let models = try FileManager.default.contentsOfDirectory(
            atPath: local.directory.appending(".mlops/artifacts/Trainer").path)
        let model = try #require(models.first { $0.hasPrefix("model-") }).dropFirst("model-".count)
        let shared = try database.execute("SELECT DISTINCT fingerprint FROM artifacts WHERE type = 'Model'")
        #expect(shared.count == 1 && shared.first?.dropFirst("sha256:".count).hasPrefix(model) == true, "\(shared)")
        let blessings = try database.execute(
            "SELECT DISTINCT properties FROM artifacts WHERE type IN ('ModelBlessing', 'InfraBlessing')")
        #expect(!blessings.isEmpty && blessings.allSatisfy { $0.contains("\"blessed\":\"1\"") }, "\(blessings)")
    }

    /// With a Tuner, KFP's ParallelFor: each trial task gets its trial number from kfp's own
    /// ExecutorInput, and the Tuner task gathers all of them instead of training any.
    @Test func theKFPExportFansTheTunersTrialsOutAndTheTunerGathersThem() throws {
        let bucket = try S3TestBucket()
        let env = bucket.sharedStorage()
        let origin = try TaxiProject.make()
        try TaxiProject.tune(origin, trials: 3)
        _ = try origin.commitAll("tune")
        let (ran, entries) = try exportAndRun("kfp", origin, env)
        #expect(ran.status == 0, "\(ran.stderr)\n\(entries.map { "\($0.task): \($0.stderr ?? "")" })")
        let trials = entries.filter { $0.task == "tuner-trial" }
        #expect(trials.count == 3 && trials.allSatisfy { $0.status == 0 }, "\(trials)")
        for number in 1...3 {
            #expect(
                trials.contains { $0.stdout?.contains("trial \(number) trained alone") == true },
                "trial \(number): \(trials.map { $0.stdout ?? "" })")
        }
        let tuner = try #require(entries.first { $0.task == "tuner" })
        #expect(tuner.stderr?.contains("3 of 3 trials gathered from their own tasks") == true, "\(tuner)")
        #expect(entries.first { $0.task == "release" }?.status == 0)
    }
}
