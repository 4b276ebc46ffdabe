import Foundation
import Gates
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import ProjectTestSupport
import Testing

/// The gate run in-process (what `mlops gate` and `mlops release` call): the baseline rule,
/// the reports, the verdict, and configuration problems, without starting `mlops` for the
/// gate itself (InfraValidator still starts the real `mlops serve`, its component's job).
@Suite struct GateRunTests {
    func options(_ baseline: BaselineRequest? = nil) -> GateRun.Options {
        var options = GateRun.Options(executable: MLOpsProcess.binary, environment: [:])
        options.baseline = baseline
        return options
    }

    /// A registry stand-in: Gates knows released models only through ``BaselineSource``.
    struct Channel: BaselineSource {
        let baseline: Baseline?
        func productionBaseline() throws -> Baseline? { baseline }
    }

    @Test func aFirstModelIsBlessedAndAWorseOneIsRefusedAgainstIt() throws {
        let repo = try TaxiProject.make()
        let first = try GateRun.perform(
            try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try first.project.store.close()
        #expect(first.gate.blessed && first.baseline == nil)
        let markdown = try String(contentsOf: first.reports.appendingPathComponent("gate.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("<!-- mlops-gate-report -->\n## ✅ mlops gate: blessed\n"))
        #expect(markdown.contains("**No baseline** (no model blessed at the merge-base "), "\(markdown)")
        #expect(
            markdown.contains(
                "or before it; nothing released to the production channel yet): change thresholds were not checked"))
        for file in ["junit.xml", "gate.json", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: first.reports.appendingPathComponent(file).path))
        }

        try TaxiProject.worsen(repo)
        let second = try GateRun.perform(
            try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try second.project.store.close()
        #expect(!second.gate.blessed)
        // The first model was blessed at this very commit, the merge-base of HEAD with main.
        #expect(
            second.baseline?.reason.hasPrefix("blessed at the merge-base ") == true,
            "\(String(describing: second.baseline))")
        let failed = second.gate.checks.filter { $0.outcome == .failed }.map(\.name)
        #expect(failed.contains("auc change >= -0.01 vs baseline"), "\(failed)")
    }

    @Test func theProductionChannelComesFirstAndEachRequestIsHonoured() throws {
        let repo = try TaxiProject.make()
        let project = try TaxiProject.open(repo)
        defer { try? project.store.close() }
        let blessed = try GateRun.perform(project, options: options(), releases: nil, console: nil)
        #expect(blessed.gate.blessed)
        let production = Baseline(
            folder: "/released/model", reason: "the production channel: taxi@1.0.0", identity: "x")
        let chooser = BaselineChooser(project: project, releases: Channel(baseline: production), environment: [:])
        #expect(try chooser.choose(.auto) == production)
        #expect(try chooser.choose(.production) == production)
        #expect(try chooser.choose(.none) == nil)
        let latest = try #require(try chooser.choose(.latestBlessed))
        #expect(latest.reason.hasPrefix("latest blessed model (execution "))
        // An empty channel falls back to the model blessed at the merge-base.
        let fallback = BaselineChooser(project: project, releases: Channel(baseline: nil), environment: [:])
        #expect(try fallback.choose(.auto)?.reason.hasPrefix("blessed at the merge-base ") == true)
        // A folder must hold a model; the model's bytes identify it.
        #expect(throws: FileError.self) { try chooser.choose(.folder(repo.directory.url.path)) }
        let folder = try #require(try chooser.choose(.folder(latest.folder)))
        #expect(folder.identity.hasPrefix("folder:") && folder.reason == "--baseline \(latest.folder)")
        #expect(BaselineRequest("latest-blessed") == .latestBlessed && BaselineRequest("x/y") == .folder("x/y"))
    }

    @Test func onANewCommitTheModelBlessedBeforeItOnItsBranchIsTheBaselineAndTheReportSaysWhy() throws {
        let repo = try TaxiProject.make()
        let blessed = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try blessed.project.store.close()
        #expect(blessed.gate.blessed)
        try TaxiProject.worsen(repo)
        _ = try repo.commitAll("a worse model")
        // Nothing is blessed at the merge-base (HEAD itself, on main): the model blessed at its
        // parent, an ancestor.
        let worse = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try worse.project.store.close()
        let reason = try #require(worse.baseline?.reason)
        let first = try #require(blessed.project.snapshot.commit)
        #expect(reason.hasPrefix("blessed at \(first.prefix(12)), an ancestor of the merge-base "), "\(reason)")
        #expect(!worse.gate.blessed)
        // --baseline none: the change thresholds are not checked, and the report says so.
        let alone = try GateRun.perform(
            try TaxiProject.open(repo), options: options(BaselineRequest.none), releases: nil, console: nil)
        try alone.project.store.close()
        #expect(alone.baseline == nil)
        #expect(alone.gate.markdown().contains("**No baseline** (--baseline none): change thresholds were not checked"))
    }

    /// Issue 22 item 1: `mlops gate` on a pull request whose data drifted (fares up 80%, no
    /// cash) fails against the data at the merge-base, with the distances in the report; it
    /// passed before (no spans, so nothing to measure drift against, and `drift: warn`).
    @Test func aDriftedPullRequestFailsTheGateAgainstTheMergeBasesData() throws {
        let repo = try TaxiProject.make()
        let main = try TaxiProject.branch(repo, "drift")
        try TaxiProject.driftData(repo)
        _ = try repo.commitAll("new data: fares up, no cash")
        let run = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try run.project.store.close()
        #expect(!run.gate.blessed)
        #expect(run.artifacts.report.stoppedBy == .exampleValidator, "\(run.artifacts.report.stages.map(\.reason))")
        let failed = run.gate.checks.filter { $0.outcome == .failed }.map(\.name)
        #expect(
            failed == [
                "train: drift payment_type L_INFTY <= 0.1", "train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1",
            ],
            "\(failed)")
        let markdown = run.gate.markdown()
        #expect(
            markdown.contains(
                "Drift: the train split against the data at the merge-base \(main.short), 6 measurements."),
            "\(markdown)")
        #expect(
            markdown.contains(
                "| ❌ train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1 | failed | Jensen-Shannon divergence (shared buckets) against the data at the merge-base"
            ))
    }

    /// A pull request that replaces the data file (a new name the sources still match) is
    /// measured against what the sources held at the merge-base, not let through unmeasured.
    @Test func replacedDataIsMeasuredAgainstTheSourcesAtTheMergeBase() throws {
        let repo = try TaxiProject.make()
        let main = try TaxiProject.branch(repo, "replaced")
        try TaxiProject.driftData(repo)
        let drifted = try String(
            contentsOf: repo.directory.url.appendingPathComponent("data/data.csv"), encoding: .utf8)
        try repo.remove("data/data.csv")
        _ = try repo.write("data/trips-2026.csv", drifted)
        _ = try repo.commitAll("new data file")
        let run = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try run.project.store.close()
        #expect(!run.gate.blessed)
        #expect(
            run.gate.dataComparison?.hasPrefix(
                "Drift: the train split against the data at the merge-base \(main.short)")
                == true, "\(run.gate.dataComparison ?? "")")
        #expect(
            run.gate.checks.contains {
                $0.outcome == .failed && $0.name == "train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1"
            })
    }

    @Test func driftThatOnlyWarnsIsReportedAndStrictFailsIt() throws {
        let repo = try TaxiProject.spanned(driftPolicy: "warn")
        let run = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try run.project.store.close()
        #expect(run.gate.blessed, "\(run.gate.checks.filter { $0.outcome == .failed })")
        let markdown = run.gate.markdown()
        #expect(
            markdown.contains(
                "Drift: the train split of span 2 against span 1, 2 measurements. Skew: the train split against serving data `serving/*.csv`, 1 measurement."
            ), "\(markdown)")
        #expect(markdown.contains("| ⚠️ train: drift trip_miles JENSEN_SHANNON_DIVERGENCE <= 0.1 | warned |"))
        #expect(markdown.contains("| ✅ train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.5 | passed |"))
        #expect(markdown.contains("| ⚠️ train: skew payment_type L_INFTY <= 0.05 | warned |"))
        let junit = run.gate.junit()
        #expect(
            junit.contains(#"classname="mlops.gate.data" name="train: drift fare JENSEN_SHANNON_DIVERGENCE &lt;= 0.5""#)
        )
        let html = try String(contentsOf: run.reports.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("Data: anomalies, drift and skew") && html.contains(">JS 0."))
        // Strict: the drift warning fails the gate.
        var strict = options()
        strict.strict = true
        let failed = try GateRun.perform(try TaxiProject.open(repo), options: strict, releases: nil, console: nil)
        try failed.project.store.close()
        #expect(!failed.gate.blessed)
        #expect(
            failed.gate.checks.contains {
                $0.outcome == .failed && $0.name == "train: drift trip_miles JENSEN_SHANNON_DIVERGENCE <= 0.1"
            })
    }

    /// A gate run again at the same commit picks the model blessed there, which is the
    /// candidate itself: no baseline, said so, instead of a model compared with itself.
    @Test func theCandidateIsNeverItsOwnBaseline() throws {
        let repo = try TaxiProject.make()
        let first = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try first.project.store.close()
        #expect(first.gate.blessed && first.gate.evaluation?.baselineIsCandidate == nil)
        let again = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try again.project.store.close()
        #expect(again.baseline?.reason.hasPrefix("blessed at the merge-base ") == true)
        let evaluation = try #require(again.gate.evaluation)
        #expect(evaluation.baseline == nil && evaluation.baselineMetrics == nil)
        #expect(evaluation.baselineIsCandidate?.reason.hasPrefix("blessed at the merge-base ") == true)
        #expect(again.gate.markdown().contains("is this very model"), "\(again.gate.markdown())")
        #expect(!again.gate.checks.contains { $0.name.contains("vs baseline") && $0.outcome == .passed })
    }

    /// Issue 22 item 4: a model blessed on another branch is never the baseline (it was: the
    /// fallback took the newest blessed model in the store, whatever its branch).
    @Test func aModelBlessedOnAnotherBranchIsNeverTheBaseline() throws {
        let repo = try TaxiProject.make()
        let main = try TaxiProject.branch(repo, "other")
        try TaxiProject.edit(repo) { $0.replacingOccurrences(of: "  rounds: 100", with: "  rounds: 90") }
        _ = try repo.commitAll("another branch's model")
        let other = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try other.project.store.close()
        #expect(other.gate.blessed)
        // A second branch from main: the other branch's model is not in its history.
        try repo.repository.createBranch("mine", at: main)
        try repo.repository.checkout(branch: "mine")
        try TaxiProject.worsen(repo)
        _ = try repo.commitAll("my model")
        let mine = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try mine.project.store.close()
        #expect(mine.baseline == nil)
        let markdown = mine.gate.markdown()
        #expect(
            markdown.contains(
                "**No baseline** (no model blessed at the merge-base \(main.short) or before it; models blessed on other branches are not baselines; nothing released to the production channel yet)"
            ), "\(markdown)")
        #expect(mine.gate.noBaseline?.hasPrefix("no model blessed at the merge-base ") == true)
    }

    /// A model the Evaluator blessed but InfraValidator did not is not blessed: never a baseline.
    @Test func aBaselineHasBothBlessings() throws {
        let repo = try TaxiProject.make()
        // An infra budget no server meets: the Evaluator blesses, InfraValidator does not.
        try TaxiProject.edit(repo) {
            $0.replacingOccurrences(of: "  max_p99_ms: 5000\n", with: "  max_p99_ms: 0.001\n")
        }
        let half = try GateRun.perform(try TaxiProject.open(repo), options: options(), releases: nil, console: nil)
        try half.project.store.close()
        #expect(half.gate.evaluation?.blessed == true && half.gate.infra?.blessed == false && !half.gate.blessed)
        let project = try TaxiProject.open(repo)
        defer { try? project.store.close() }
        let chooser = BaselineChooser(project: project, releases: nil, environment: [:])
        #expect(try chooser.choose(.latestBlessed) == nil)
        #expect(try chooser.choose(.auto) == nil)
    }

    @Test func aProjectWithoutEvaluationIsAConfigurationError() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) { yaml in
            // Drop the evaluation section: every line from `evaluation:` to the next top-level key.
            var kept: [Substring] = []
            var skipping = false
            for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("evaluation:") { skipping = true; continue }
                if skipping, let first = line.first, first != " ", first != "#" { skipping = false }
                if !skipping { kept.append(line) }
            }
            return kept.joined(separator: "\n")
        }
        let project = try TaxiProject.open(repo)
        defer { try? project.store.close() }
        let error = try #require(throws: ConfigError.self) {
            try GateRun.perform(project, options: options(), releases: nil, console: nil)
        }
        #expect(ExitStatus(for: error) == .configError && error.message.contains("no trainer or evaluation section"))
    }
}
