import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// The story the demo tells, through the built binary: test, train, gate, release, promote
/// to staging and production, serve production; then a pull request with drifted data and
/// one with a worse model.
@Suite struct EndToEndTests {
    @Test func theWholeLoopOnTheTaxiTemplate() async throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        let reports = dir.appendingPathComponent(".mlops/reports")
        func run(_ arguments: [String]) throws -> MLOpsProcess.Result { try MLOpsProcess.run(arguments, in: dir) }
        func read(_ name: String) throws -> String {
            try String(contentsOf: reports.appendingPathComponent(name), encoding: .utf8)
        }

        let test = try run(["test"])
        #expect(test.status == 0, "\(test.stdout)")
        #expect(try read("test.md").contains("## ✅ mlops test: "))
        let train = try run(["train"])
        #expect(train.status == 0 && train.stdout.contains("Trainer           ran"), "\(train.stderr)")
        let gate = try run(["gate"])
        #expect(gate.status == 0 && gate.stdout.contains("Trainer           cached"), "\(gate.stdout)")
        #expect(try read("gate.md").contains("## ✅ mlops gate: blessed"))
        let release = try run(["release"])
        #expect(release.status == 0 && release.stdout.contains("released taxi@0.1.0  sha256:"), "\(release.stderr)")
        #expect(try run(["promote", "taxi@0.1.0", "--to", "staging"]).status == 0)
        #expect(try run(["promote", "taxi@0.1.0", "--to", "production"]).status == 0)
        try await ReleaseCLITests().serveAnswers("taxi@production", repo)

        // A pull request with drifted data: fares up 80%, no cash payments.
        try repo.repository.createBranch("drifted-data", at: try repo.repository.resolveCommit("main"))
        try repo.repository.checkout(branch: "drifted-data")
        try TaxiProject.driftData(repo)
        _ = try repo.commitAll("new data")
        // The template's drift thresholds fail it, in `mlops test` and in `mlops gate` (issue 22:
        // this exited 0 before).
        let drift = try run(["test", "--base", "main"])
        #expect(drift.status == 1, "\(drift.stdout)")
        #expect(drift.stdout.contains("✗ data: data/data.csv: drift against data/data.csv@"), "\(drift.stdout)")
        #expect(drift.stdout.contains("largest distances: payment_type L∞ 0.66"), "\(drift.stdout)")
        #expect(try read("test.md").contains("drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1"))
        let driftGate = try run(["gate"])
        #expect(driftGate.status == 1, "\(driftGate.stdout)")
        #expect(
            driftGate.stdout.contains(
                "✗ mlops.gate.data: train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1 — Jensen-Shannon divergence (shared buckets) against the data at the merge-base "
            ), "\(driftGate.stdout)")
        #expect(try read("gate.md").contains("Drift: the train split against the data at the merge-base "))

        // A pull request with a worse model: the gate compares it with production and refuses it.
        try repo.repository.checkout(branch: "main")
        try repo.repository.createBranch("worse-model", at: try repo.repository.resolveCommit("main"))
        try repo.repository.checkout(branch: "worse-model")
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(of: "  rounds: 100", with: "  rounds: 1")
                .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1"))
        _ = try repo.commitAll("one stump")
        let worse = try run(["gate"])
        #expect(worse.status == 1, "\(worse.stdout)")
        #expect(worse.stdout.contains("baseline: the production channel: taxi@0.1.0"), "\(worse.stdout)")
        let markdown = try read("gate.md")
        #expect(markdown.contains("## ❌ mlops gate: not blessed"))
        #expect(markdown.contains("- **auc change >= -0.01 vs baseline** (`mlops.gate.evaluation.overall`): auc 0."))
        let junit = try #require(GateCLITests.JUnit.read(reports.appendingPathComponent("junit.xml")))
        #expect(junit.failed.contains("mlops.gate.evaluation.overall auc change >= -0.01 vs baseline"))
        // Nothing worse reaches the registry.
        #expect(try run(["release"]).status == 1)
        #expect(try run(["releases", "list"]).stdout.contains("0.1.1") == false)
    }
}
