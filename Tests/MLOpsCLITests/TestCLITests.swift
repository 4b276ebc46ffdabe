import Foundation
import MLOpsTestSupport
import Testing

/// `mlops test`, the fast CI stage, on the taxi template in a repository built with libgit2.
@Suite struct TestCLITests {
    func run(_ arguments: [String], _ repo: TestRepository) throws -> MLOpsProcess.Result {
        try MLOpsProcess.run(arguments, in: repo.directory.url)
    }

    func report(_ repo: TestRepository) throws -> String {
        try String(contentsOf: repo.directory.url.appendingPathComponent(".mlops/reports/test.md"), encoding: .utf8)
    }

    @Test func everyCheckRunsWithoutABaseAndTheReportsSayWhat() throws {
        let repo = try TrainCLITests().project()
        let result = try run(["test"], repo)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("✓ config: mlops.yaml is valid"))
        // The template's policy warns about the curated schema's complaints.
        #expect(result.stdout.contains("! data: data/data.csv: company ENUM_TYPE_UNEXPECTED_STRING_VALUES"))
        #expect(
            result.stdout.contains(
                "✓ sample: the transform fits on a sample — 2000 rows × 16 features, no infinite value"))
        #expect(
            result.stdout.contains(
                "✓ sample: the trainer trains and predicts on a sample — 10 rounds, every prediction finite"))
        let markdown = try report(repo)
        #expect(markdown.hasPrefix("<!-- mlops-test-report -->\n## ✅ mlops test: "))
        #expect(markdown.contains("Base: none (no --base"))
        let junit = try #require(
            GateCLITests.JUnit.read(repo.directory.url.appendingPathComponent(".mlops/reports/test-junit.xml")))
        #expect(
            junit.cases.contains("mlops.test.sample the trainer trains and predicts on a sample")
                && junit.failed.isEmpty)
        // The sample project is gone; the project's store holds the sample's run and nothing else.
        #expect(
            !FileManager.default.fileExists(
                atPath: repo.directory.url.appendingPathComponent(".mlops/test-sample").path))
        #expect(
            !FileManager.default.fileExists(atPath: repo.directory.url.appendingPathComponent(".mlops/artifacts").path))
        let runs = try MLOpsProcess.run(["runs", "--json"], in: repo.directory.url)
        let listed = try JSONSerialization.jsonObject(with: Data(runs.stdout.utf8)) as? [String: Any]
        let rows = listed?["result"] as? [[String: Any]] ?? []
        #expect(rows.count == 1 && ((rows.first?["tags"] as? [String: String])?["mlops.command"]) == "test")
    }

    /// The output of a run with a base; drift against the base is TestRunTests'.
    @Test func aThresholdChangeSkipsTheDataChecksAndAMissingBaseWarns() throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        try repo.repository.createBranch("threshold", at: try repo.repository.resolveCommit("main"))
        try repo.repository.checkout(branch: "threshold")
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml.replacingOccurrences(of: "lower_bound: 0.75", with: "lower_bound: 0.8"))
        _ = try repo.commitAll("raise the AUC floor")
        let threshold = try run(["test", "--base", "main"], repo)
        #expect(threshold.status == 0, "\(threshold.stderr)")
        #expect(
            threshold.stdout.contains("- data: data sources parse and validate — nothing changed since "),
            "\(threshold.stdout)")
        #expect(threshold.stdout.contains("affects ExampleGen or ExampleValidator"))
        #expect(
            threshold.stdout.contains("- sample: the transform and trainer run on a sample — nothing changed since "))
        #expect(try report(repo).contains("| ➖ `mlops.test.data` data sources parse and validate | skipped |"))

        // A base that does not exist: a warning, and every check runs.
        let nowhere = try run(["test", "--base", "no-such-branch"], repo)
        #expect(nowhere.stderr.contains("warning: no usable base: "), "\(nowhere.stderr)")
        #expect(nowhere.stdout.contains("✓ sample: the transform fits on a sample"))
    }

    /// Bad data and failing tests are TestRunTests'; a broken configuration is exit 78.
    @Test func aBrokenConfigurationIsExit78AndTheFirstFailedCheck() throws {
        let repo = try TrainCLITests().project()
        let yaml = try String(contentsOf: repo.directory.url.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml.replacingOccurrences(of: "  rounds: 100", with: "  roundz: 100"))
        let broken = try run(["test"], repo)
        #expect(broken.status == 78)
        #expect(broken.stderr.contains("unknown key 'roundz' in 'trainer'"))
        #expect(try report(repo).contains("| ❌ `mlops.test.config` mlops.yaml is valid | failed |"))
    }

    @Test func mlopsRunTestsGatesAndReleasesACleanTreeOnly() throws {
        let repo = try TrainCLITests().gateableProject()
        let clean = try run(["run"], repo)
        #expect(clean.status == 0, "\(clean.stdout)\n\(clean.stderr)")
        #expect(clean.stdout.contains("mlops test  taxi @ ") && clean.stdout.contains("passed  "))
        #expect(clean.stdout.contains("mlops release  taxi @ ") && clean.stdout.contains("released taxi@0.1.0"))
        _ = try repo.write("notes.txt", "uncommitted\n")
        let dirty = try run(["run"], repo)
        #expect(dirty.status == 0, "\(dirty.stderr)")
        #expect(dirty.stdout.contains("mlops gate  taxi @ ") && dirty.stdout.contains("blessed  reports: "))
        #expect(dirty.stdout.contains("release left out: the working tree has uncommitted changes"))
        // A failing step stops the rest with its status.
        let yaml = try String(contentsOf: repo.directory.url.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml + "tests:\n  - exit 4\n")
        let failing = try run(["run"], repo)
        #expect(failing.status == 1 && !failing.stdout.contains("mlops gate  taxi"), "\(failing.stdout)")
    }

    @Test func theExternalTrainerCommandRunsOnTheSample() throws {
        // A program that writes a valid model: the built-in trainer's, copied.
        let builtIn = try TrainCLITests().project()
        #expect(try MLOpsProcess.run(["train"], in: builtIn.directory.url).status == 0)
        let folder = builtIn.directory.appending(".mlops/artifacts/Trainer")
        let model = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).first)
        let source = folder.appendingPathComponent(model).appendingPathComponent("model.json").path
        let repo = try ExternalTrainerCLITests().project(
            script: "echo sample trainer\n" + ExternalTrainerCLITests.modelPath + "\ncp '\(source)' \"$model\"\n")
        let result = try run(["test"], repo)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(
            result.stdout.contains(
                "✓ sample: the trainer trains and predicts on a sample — the external command's model, every prediction finite"
            ),
            "\(result.stdout)")
        let crash = try ExternalTrainerCLITests().project(script: "echo 'Traceback: boom' >&2\nexit 3\n")
        let crashed = try run(["test"], crash)
        #expect(crashed.status == 1)
        #expect(
            crashed.stdout.contains(
                "✗ sample: the trainer trains and predicts on a sample — Trainer failed on the sample: "),
            "\(crashed.stdout)")
        #expect(crashed.stdout.contains("Traceback: boom"))
    }
}
