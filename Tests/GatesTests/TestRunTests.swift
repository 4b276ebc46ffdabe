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
