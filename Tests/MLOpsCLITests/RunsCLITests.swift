import Foundation
import MLOpsTestSupport
import Testing

/// `mlops runs` as a reviewer uses it after `mlops train` and `mlops gate`: parameters,
/// metrics by step and tags recorded, filtered and sorted in MLflow's syntax, shown, compared
/// and plotted; a cached run carries the numbers of the executions it reused.
@Suite struct RunsCLITests {
    func json(_ result: MLOpsProcess.Result) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
    }

    @Test func trainAndGateRecordWhatReviewersCompare() throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        let environment = [
            "GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "team/taxi", "GITHUB_RUN_ID": "42",
            "GITHUB_ACTOR": "reviewer",
        ]
        let train = try MLOpsProcess.run(["train"], in: dir, environment: environment)
        #expect(train.status == 0, "\(train.stderr)")
        let gate = try MLOpsProcess.run(["gate"], in: dir, environment: environment)
        #expect(gate.status == 0, "\(gate.stderr)")

        // The gate's run: settings as params, the Trainer's curve by round (reused from the
        // train run's execution), the Evaluator's and InfraValidator's figures, tags, reports.
        let ids = try #require(
            try json(try MLOpsProcess.run(["runs", "--json"], in: dir))["result"] as? [[String: Any]]
        )
        .compactMap { ($0["run"] as? [String: Any])?["id"] as? Int }
        #expect(ids.count == 2)
        let (trainRun, gateRun) = (ids.last ?? 0, ids.first ?? 0)
        let show = try MLOpsProcess.run(["runs", "show", String(gateRun), "--json"], in: dir)
        #expect(show.status == 0, "\(show.stderr)")
        let result = try #require(try json(show)["result"] as? [String: Any])
        let params = try #require(result["params"] as? [String: String])
        #expect(params["trainer.max_depth"] == "6" && params["trainer.eta"] == "0.1")
        #expect(params["trainer.rounds"] == "100" && params["evaluation.thresholds.0.metric"] == "auc")
        #expect(params["infra.max_p99_ms"] == "5000")
        let tags = try #require(result["tags"] as? [String: String])
        #expect(tags["ci.url"] == "https://github.example/team/taxi/actions/runs/42")
        #expect(tags["user"] == "reviewer" && tags["git.branch"] == "main" && tags["git.dirty"] == "false")
        #expect(tags["mlops.command"] == "gate" && tags["gate.verdict"] == "blessed")
        #expect(tags["git.commit"]?.count == 40)
        let metrics = try #require(result["metrics"] as? [[String: Any]])
        let curve = metrics.filter { $0["key"] as? String == "eval-auc" }.compactMap { $0["step"] as? Int }
        #expect(curve.count > 5 && curve == Array(0..<curve.count))
        let keys = Set(metrics.compactMap { $0["key"] as? String })
        for key in ["auc", "log_loss", "infra/p99_ms", "best_round", "slice/payment_type:Cash/auc"] {
            #expect(keys.contains(key), "\(key) missing from \(keys.sorted())")
        }
        let files = try #require(result["files"] as? [[String: String]])
        #expect(
            files.map { $0["path"] ?? "" } == [
                "reports/gate.json", "reports/gate.md", "reports/junit.xml", "reports/report.html",
            ])
        for file in files {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file["location"] ?? "").path))
        }

        // The train run has the same curve (it ran the Trainer); the gate's reused it.
        let list = try MLOpsProcess.run(
            [
                "runs", "--columns", "metrics.auc,params.trainer.max_depth", "--columns", "metrics.eval-auc", "--sort",
                "metrics.auc desc",
            ], in: dir)
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.first?.hasSuffix("metrics.auc  params.trainer.max_depth  metrics.eval-auc") == true, "\(list.stdout)")
        #expect(lines.count == 3 && lines[1].hasPrefix("\(gateRun) ") && lines[2].hasPrefix("\(trainRun) "))
        #expect(lines[2].contains(" – ") && lines[1].split(separator: " ").last == lines[2].split(separator: " ").last)

        let filtered = try MLOpsProcess.run(
            [
                "runs", "--json", "--filter",
                "metrics.auc > 0.9 and params.trainer.max_depth = 6 and tags.user = 'reviewer'",
            ],
            in: dir)
        let rows = try #require(try json(filtered)["result"] as? [[String: Any]])
        #expect(rows.count == 1 && (rows.first?["run"] as? [String: Any])?["id"] as? Int == gateRun)
        let none = try MLOpsProcess.run(["runs", "--filter", "metrics.auc > 0.999"], in: dir)
        #expect(none.status == 0 && none.stdout.contains("no run matches the filter"))

        let bad = try MLOpsProcess.run(["runs", "--filter", "metrics.auc >> 0.9"], in: dir)
        #expect(bad.status == 64 && bad.stderr.contains("at character 14") && bad.stderr.contains("expected a number"))
        let badColumn = try MLOpsProcess.run(["runs", "--columns", "metricz.auc"], in: dir)
        #expect(badColumn.status == 64 && badColumn.stderr.contains("did you mean 'metrics'"), "\(badColumn.stderr)")
        let missing = try MLOpsProcess.run(["runs", "show", "99"], in: dir)
        #expect(missing.status == 66 && missing.stderr.contains("run 99"))

        let diff = try MLOpsProcess.run(["runs", "diff", String(trainRun), String(gateRun)], in: dir)
        #expect(diff.status == 0, "\(diff.stderr)")
        let slices = diff.stdout.split(separator: "\n").first { $0.hasPrefix("evaluation.min_slice_size ") }
        #expect(slices?.split(separator: " ").dropFirst().map(String.init) == ["–", "30"], "\(diff.stdout)")
        #expect(
            diff.stdout.contains("metric") && diff.stdout.contains("per-slice and baseline metrics: --all lists them"))
        let evalLine = diff.stdout.split(separator: "\n").first { $0.hasPrefix("eval-auc ") }
        #expect(evalLine?.split(separator: " ", omittingEmptySubsequences: true).count == 4, "\(evalLine ?? "")")  // same value: change 0

        let plot = try MLOpsProcess.run(["runs", "plot", "eval-auc", "--over", "rounds", "-o", "curve.html"], in: dir)
        #expect(plot.status == 0, "\(plot.stderr)")
        let page = try String(contentsOf: dir.appendingPathComponent("curve.html"), encoding: .utf8)
        #expect(
            page.contains("<svg") && page.contains("run \(trainRun)") && page.contains("run \(gateRun)")
                && !page.contains("<script"))
        let unknown = try MLOpsProcess.run(["runs", "plot", "aucc"], in: dir)
        #expect(unknown.status == 66 && unknown.stderr.contains("did you mean 'auc'?"))
    }

    @Test func theTestSampleRunIsRecordedAsARun() throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        let test = try MLOpsProcess.run(["test"], in: dir)
        #expect(test.status == 0, "\(test.stderr)")
        let rows = try #require(
            try json(try MLOpsProcess.run(["runs", "--json"], in: dir))["result"] as? [[String: Any]])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect((row["run"] as? [String: Any])?["properties"] as? [String: String] != nil)
        let properties = try #require((row["run"] as? [String: Any])?["properties"] as? [String: String])
        #expect(properties["command"] == "test" && properties["status"] == "complete")
        #expect((row["tags"] as? [String: String])?["mlops.sample"] == "2000 rows per file")
        // The sample's own settings: the Trainer's rounds cut to 10 for the sample.
        #expect((row["params"] as? [String: String])?["trainer.rounds"] == "10")
        #expect(((row["metrics"] as? [String: Any])?["eval-auc"] as? Double).map { $0 > 0.5 } == true)
    }
}
