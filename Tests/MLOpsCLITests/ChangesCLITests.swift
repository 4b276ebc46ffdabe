import Foundation
import GitKit
import MLOpsTestSupport
import Testing

/// `mlops changes` end to end, on repositories built in the test with libgit2.
@Suite struct ChangesCLITests {
    let config = """
        pipeline: {name: demo}
        data: {sources: ["data/*.csv"]}
        trainer:
          label: y
          command: python trainer/train.py
        evaluation:
          thresholds: [{metric: auc, lower_bound: 0.7}]

        """

    func project() throws -> TestRepository {
        let repo = try TestRepository()
        try repo.write("mlops.yaml", config)
        try repo.write("data/train.csv", "x,y\n1,0\n")
        try repo.write("trainer/train.py", "print(1)\n")
        try repo.commitAll("project")
        return repo
    }

    @Test func thresholdChangeOnABranchAffectsOnlyTheGate() throws {
        let repo = try project()
        let base = try repo.repository.resolveCommit("HEAD")
        try repo.repository.createBranch("tighter", at: base)
        try repo.repository.checkout(branch: "tighter")
        try repo.write("mlops.yaml", config.replacingOccurrences(of: "0.7", with: "0.75"))
        try repo.commitAll("tighter threshold")
        let result = try MLOpsProcess.run(["changes", "--base", "main"], in: repo.directory.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(
            result.stdout.contains(
                "base        merge-base \(base.short) of HEAD and 'main' (from --base, resolved as refs/heads/main)"))
        #expect(result.stdout.contains("  config (1)\n    M  mlops.yaml  committed  sections: evaluation"))
        #expect(result.stdout.contains("affected    Evaluator\n"))
        #expect(result.stdout.contains("  Evaluator  mlops.yaml: 'evaluation' changed"))
    }

    @Test func jsonReportWithFingerprints() throws {
        let repo = try project()
        try repo.write("data/train.csv", "x,y\n1,1\n")
        let result = try MLOpsProcess.run(["changes", "--json"], in: repo.directory.url)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(document["schema"] as? String == "mlops.changes/v1")
        let report = try #require(document["result"] as? [String: Any])
        let repository = try #require(report["repository"] as? [String: Any])
        #expect(repository["branch"] as? String == "main")
        #expect(repository["dirty"] as? Bool == true)
        let paths = try #require(report["paths"] as? [[String: Any]])
        #expect(paths.count == 1)
        #expect(paths.first?["path"] as? String == "data/train.csv")
        #expect(paths.first?["stages"] as? [String] == ["unstaged"])
        #expect(paths.first?["classes"] as? [String] == ["data"])
        let affected = try #require(report["affected"] as? [[String: Any]])
        #expect(affected.first?["component"] as? String == "ExampleGen")
        let fingerprints = try #require(report["fingerprints"] as? [String: [String: Any]])
        #expect(fingerprints["data"]?["file_count"] as? Int == 1)
        #expect((fingerprints["data"]?["fingerprint"] as? String)?.hasPrefix("sha256:") == true)
        #expect(fingerprints["code"]?["patterns"] as? [String] == ["trainer/train.py"])
    }

    @Test func pullRequestOnGitHubActionsEveryStageThroughTheBinary() throws {
        let repo = try project()
        let base = try repo.repository.resolveCommit("HEAD")
        try repo.repository.addRemote("origin", url: "https://x-access-token:ghs_secret@github.com/team/demo.git")
        // As actions/checkout leaves it: the target branch only as a remote-tracking ref, HEAD detached.
        try repo.repository.setReference("refs/remotes/origin/release", to: base)
        try repo.write("data/train.csv", "x,y\n1,0\n2,1\n")
        let head = try repo.commitAll("more rows")  // committed
        try repo.repository.checkout(detachedAt: head)
        try repo.write("trainer/helpers.py", "h = 1\n")
        try repo.repository.stage("trainer/helpers.py")  // staged (not a declared code path)
        try repo.write("trainer/train.py", "print(2)\n")  // unstaged
        try repo.write("notes/idea one.md", "try this\n")  // untracked
        let result = try MLOpsProcess.run(
            ["changes", "--json"], in: repo.directory.url,
            environment: ["GITHUB_BASE_REF": "release", "GITHUB_ACTIONS": "true"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let report = try #require(document["result"] as? [String: Any])
        let repository = try #require(report["repository"] as? [String: Any])
        #expect(repository["detached"] as? Bool == true)
        #expect(repository["remote_url"] as? String == "https://github.com/team/demo.git")
        let baseInfo = try #require(report["base"] as? [String: Any])
        #expect(baseInfo["source"] as? String == "GITHUB_BASE_REF")
        #expect(baseInfo["resolved_ref"] as? String == "refs/remotes/origin/release")
        #expect(baseInfo["merge_base"] as? String == base.hex)
        let paths = try #require(report["paths"] as? [[String: Any]])
        let stages = Dictionary(
            uniqueKeysWithValues: paths.compactMap { path -> (String, [String])? in
                guard let name = path["path"] as? String, let stages = path["stages"] as? [String] else { return nil }
                return (name, stages)
            })
        #expect(
            stages == [
                "data/train.csv": ["committed"], "trainer/helpers.py": ["staged"], "trainer/train.py": ["unstaged"],
                "notes/idea one.md": ["untracked"],
            ])
        let affected = try #require(report["affected"] as? [[String: Any]]).compactMap { $0["component"] as? String }
        #expect(
            affected == [
                "ExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "Trainer", "Evaluator",
                "InfraValidator",
            ])
    }

    @Test func unknownBaseWarnsAndTreatsEverythingAsChanged() throws {
        let repo = try project()
        let result = try MLOpsProcess.run(["changes", "--base", "mian"], in: repo.directory.url)
        #expect(result.status == 0)
        #expect(
            result.stderr == """
                warning: base 'mian' (from --base) does not exist in this repository; treating every path as changed
                  hint: close matches: main

                """)
        #expect(result.stdout.contains("base        none: base 'mian' (from --base) does not exist in this repository"))
        #expect(
            result.stdout.contains(
                "affected    ExampleGen, StatisticsGen, SchemaGen, ExampleValidator, Transform, Trainer, Evaluator, InfraValidator"
            ))
    }

    @Test func worksFromASubfolderOfTheRepository() throws {
        let repo = try project()
        try repo.write("trainer/train.py", "print(2)\n")
        let result = try MLOpsProcess.run(["changes"], in: repo.directory.appending("trainer"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("  code (1)\n    M  trainer/train.py  unstaged"))
        #expect(result.stdout.contains("affected    Trainer, Evaluator, InfraValidator\n"))
    }

    @Test func emptyRepositoryWarnsAndExitsZero() throws {
        let repo = try TestRepository()
        try repo.write("mlops.yaml", config)
        let result = try MLOpsProcess.run(["changes"], in: repo.directory.url)
        #expect(result.status == 0)
        #expect(result.stderr.hasPrefix("warning: the repository has no commits yet; treating every path as changed"))
        #expect(result.stdout.contains("(no commits yet)"))
    }

    @Test func notARepositoryExits66WithAHint() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mlops.yaml", config)
        let result = try MLOpsProcess.run(["changes"], in: dir.url)
        #expect(result.status == 66)
        #expect(result.stderr.contains("is not inside a git repository"))
        #expect(
            result.stderr.contains(
                "hint: run mlops inside a git repository, pass --repo PATH, or create one with `mlops init`"))
    }

    @Test func missingConfigurationExits78() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "a")
        try repo.commitAll("a")
        let result = try MLOpsProcess.run(["changes"], in: repo.directory.url)
        #expect(result.status == 78)
        #expect(result.stderr.contains("configuration file 'mlops.yaml' does not exist"))
    }

    @Test(.enabled(if: getuid() == 0, "changing a repository's owner needs root"))
    func repositoryOwnedByAnotherUserExits74WithTheFix() throws {
        let repo = try project()
        #expect(chown(repo.path, 65534, 65534) == 0)
        #expect(chown(repo.path + "/.git", 65534, 65534) == 0)
        let result = try MLOpsProcess.run(["changes"], in: repo.directory.url)
        #expect(result.status == 74)
        #expect(result.stderr.contains("is owned by another user"))
        #expect(result.stderr.contains("git config --global --add safe.directory"))
    }
}
