import Foundation
import Gates
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import ProjectTestSupport
import Testing

/// `mlops test`'s checks in-process: the configuration, the data against the schema with
/// drift against the base commit's version, the real Transform and Trainer on a sample.
@Suite struct TestRunTests {
    @Test func theTaxiProjectPassesAndSaysWhatItChecked() throws {
        let repo = try TaxiProject.make()
        var heard: [CheckResult] = []
        var options = TestRun.Options(environment: [:])
        options.sampleRows = 200
        let report = try TestRun.perform(repo.repository, options: options, onCheck: { heard.append($0) })
        #expect(report.passed, "\(report.checks)")
        #expect(heard == report.checks)
        let names = report.checks.map { "\($0.className) \($0.name)" }
        #expect(names.first == "mlops.test.config mlops.yaml is valid")
        #expect(names.contains("mlops.test.sample the trainer trains and predicts on a sample"), "\(names)")
        // The template's policy warns about companies the curated schema does not list.
        #expect(
            report.checks.contains {
                $0.className == "mlops.test.data" && $0.outcome == .warned
                    && $0.name.hasPrefix("data/data.csv: company ENUM_TYPE_UNEXPECTED_STRING_VALUES")
            }, "\(report.checks)")
        let reports = repo.directory.url.appendingPathComponent(".mlops/reports")
        for file in ["test.md", "test-junit.xml", "test.json"] {
            #expect(FileManager.default.fileExists(atPath: reports.appendingPathComponent(file).path))
        }
    }

    @Test func aBaseWithOnlyAThresholdChangedSkipsTheDataAndTheSample() throws {
        let repo = try TaxiProject.make()
        let head = try #require(try repo.repository.head().commit)
        try repo.repository.createBranch("raise", at: head)
        try repo.repository.checkout(branch: "raise")
        try TaxiProject.edit(repo) { $0.replacingOccurrences(of: "lower_bound: 0.75", with: "lower_bound: 0.76") }
        _ = try repo.commitAll("a stricter threshold")
        var options = TestRun.Options(environment: [:])
        options.base = "main"
        let report = try TestRun.perform(repo.repository, options: options)
        #expect(report.passed)
        let data = try #require(report.checks.first { $0.className == "mlops.test.data" })
        #expect(data.outcome == .skipped && data.detail.hasPrefix("nothing changed since "), "\(data)")
    }

    /// Issue 22 item 1 (failed before the template had thresholds: the drift
    /// line was always "passed" and the template's `drift: warn` let the PR through).
    @Test func aNewProjectFailsDriftedDataAgainstTheBaseCommitsVersionOfTheFile() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.branch(repo, "drift")
        // Fares up 80% and no cash payments; the template's gates.drift thresholds gate them.
        try TaxiProject.driftData(repo)
        _ = try repo.commitAll("new data")
        var options = TestRun.Options(environment: [:])
        options.base = "main"
        options.sampleRows = 200
        let report = try TestRun.perform(repo.repository, options: options)
        #expect(!report.passed)
        let data = report.checks.filter { $0.className == "mlops.test.data" }
        let measured = try #require(data.first { $0.name.hasPrefix("data/data.csv: drift against data/data.csv@") })
        #expect(measured.outcome == .failed, "\(measured)")
        #expect(
            measured.detail.hasPrefix(
                "2 of 6 drift measurements over threshold; largest distances: payment_type L∞ 0.66"))
        let failed = data.filter { $0.outcome == .failed }.map(\.name)
        #expect(
            failed.contains("data/data.csv: drift payment_type L_INFTY <= 0.1")
                && failed.contains("data/data.csv: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1"), "\(failed)")
        let fare = try #require(data.first { $0.name == "data/data.csv: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1" })
        #expect(fare.detail.hasPrefix("Jensen-Shannon divergence (shared buckets) against data/data.csv@"))
        #expect(fare.detail.hasSuffix("above the threshold 0.1 (gates.drift.fare)"))
    }

    /// ...while a genuine sample of the same distribution (a random half of the rows) passes.
    @Test func aRandomHalfOfTheSameDataPassesDrift() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.branch(repo, "sample")
        try TaxiProject.halveData(repo)
        _ = try repo.commitAll("half the rows")
        var options = TestRun.Options(environment: [:])
        options.base = "main"
        options.sampleRows = 200
        let report = try TestRun.perform(repo.repository, options: options)
        let data = report.checks.filter { $0.className == "mlops.test.data" }
        let drift = data.filter { $0.name.contains(": drift ") }
        #expect(drift.count == 7, "\(drift.map(\.name))")  // the summary and six measurements
        #expect(drift.allSatisfy { $0.outcome == .passed }, "\(drift)")
        #expect(report.passed, "\(report.checks.filter { $0.outcome == .failed })")
    }

    @Test func badDataAndFailingTestsAreNamedWithTheirOutput() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) {
            $0
                + "tests:\n  - echo unit tests pass\n  - {name: failing, run: \"echo boom; exit 3\"}\n  - no-such-test-runner\n"
        }
        let csv = try String(contentsOf: repo.directory.url.appendingPathComponent("data/data.csv"), encoding: .utf8)
        _ = try repo.write("data/data.csv", csv + "1,2,3\n")  // a short last row
        var options = TestRun.Options(environment: [:])
        options.sampleRows = 200
        let report = try TestRun.perform(repo.repository, options: options)
        #expect(!report.passed)
        let byName = Dictionary(report.checks.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let parse = try #require(byName["data/data.csv parses"])
        #expect(parse.outcome == .failed && parse.detail.contains("data/data.csv:15004"), "\(parse.detail)")
        #expect(byName["echo unit tests pass"]?.outcome == .passed)
        #expect(byName["failing"]?.detail == "`echo boom; exit 3` exited 3: boom")
        #expect(
            byName["no-such-test-runner"]?.detail.hasPrefix("`no-such-test-runner` exited 127 (command not found)")
                == true)
        #expect(report.outputs["failing"]?.contains("boom") == true)
        #expect(report.markdown().contains("<details><summary>Output of failing</summary>\n\n```\nboom\n```"))
        #expect(report.junit().contains("<system-out>unit tests pass</system-out>"))
    }

    @Test func brokenConfigurationIsTheFirstFailedCheckAndExit78() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) { $0.replacingOccurrences(of: "trainer:", with: "trainer: [") }
        let error = try #require(throws: (any Error).self) {
            try TestRun.perform(repo.repository, options: TestRun.Options(environment: [:]))
        }
        #expect(ExitStatus(for: error) == .configError)
        let json = try Data(contentsOf: repo.directory.url.appendingPathComponent(".mlops/reports/test.json"))
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        let checks = object?["checks"] as? [[String: Any]]
        #expect(checks?.first?["outcome"] as? String == "failed" && checks?.count == 1)
    }
}
