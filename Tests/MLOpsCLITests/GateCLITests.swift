import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `mlops gate` on the taxi template: a first model blessed on value thresholds with no
/// baseline, a worse one failing the change threshold against it, reports every time.
@Suite struct GateCLITests {
    /// The names of the `testcase` elements of a JUnit file and of those with a `failure`;
    /// nil when it is not well-formed XML.
    final class JUnit: NSObject, XMLParserDelegate {
        var cases: [String] = []
        var failed: [String] = []

        static func read(_ url: URL) -> JUnit? {
            guard let parser = XMLParser(contentsOf: url) else { return nil }
            let junit = JUnit()
            parser.delegate = junit
            return parser.parse() ? junit : nil
        }

        func parser(
            _ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String]
        ) {
            if element == "testcase" {
                cases.append((attributes["classname"] ?? "") + " " + (attributes["name"] ?? ""))
            }
            if element == "failure", let last = cases.last { failed.append(last) }
        }
    }

    @Test func aFirstModelIsBlessedAndAWorseOneFailsTheChangeThreshold() throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        let reports = dir.appendingPathComponent(".mlops/reports")
        let first = try MLOpsProcess.run(["gate"], in: dir)
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("baseline: none (no model blessed at the merge-base "))
        #expect(first.stdout.contains("Evaluator") && first.stdout.contains("InfraValidator"))
        #expect(first.stdout.contains("blessed  reports: "))
        let markdown = try String(contentsOf: reports.appendingPathComponent("gate.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("<!-- mlops-gate-report -->\n## ✅ mlops gate: blessed\n"))
        #expect(
            markdown.contains("nothing released to the production channel yet): change thresholds were not checked"))
        #expect(markdown.contains("| served predictions equal offline within 1e-06 | passed |"))
        let junit = try #require(JUnit.read(reports.appendingPathComponent("junit.xml")))
        #expect(junit.cases.contains("mlops.gate.evaluation.overall auc >= 0.75"))
        #expect(junit.cases.contains { $0.hasPrefix("mlops.gate.infra ") } && junit.failed.isEmpty)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("gate.json")))
                as? [String: Any])
        #expect(json["schema"] as? String == "mlops.gate/v1" && json["blessed"] as? Bool == true)
        let html = try String(contentsOf: reports.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("PASS</span> mlops gate: blessed") && html.contains(#"aria-label="ROC curve""#))
        #expect(html.contains("Training: auc per round") && html.contains("Features: train against eval"))

        // One stump instead of a hundred trees: worse, and compared with the blessed model.
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(of: "  rounds: 100", with: "  rounds: 1")
                .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1"))
        let second = try MLOpsProcess.run(["gate"], in: dir)
        #expect(second.status == 1, "\(second.stdout)\n\(second.stderr)")
        // The first model was blessed at this very commit, the merge-base of HEAD with main.
        #expect(second.stdout.contains("baseline: blessed at the merge-base "), "\(second.stdout)")
        #expect(second.stdout.contains("✗ mlops.gate.evaluation.overall: auc change >= -0.01 vs baseline — auc 0."))
        let failed = try String(contentsOf: reports.appendingPathComponent("gate.md"), encoding: .utf8)
        #expect(failed.contains("## ❌ mlops gate: not blessed"))
        #expect(failed.contains("- **auc change >= -0.01 vs baseline** (`mlops.gate.evaluation.overall`): auc 0."))
        #expect(failed.contains("against the baseline's 0.9"))
        let failedHTML = try String(contentsOf: reports.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(failedHTML.contains("FAIL</span> mlops gate: not blessed"))
        let failedJUnit = try #require(JUnit.read(reports.appendingPathComponent("junit.xml")))
        #expect(failedJUnit.failed.contains("mlops.gate.evaluation.overall auc change >= -0.01 vs baseline"))
        // The baseline rule itself is GateRunTests'; here, the flag and the JSON document.
        let alone = try MLOpsProcess.run(["gate", "--baseline", "none", "--json"], in: dir)
        let result = try #require(
            try JSONSerialization.jsonObject(with: Data(alone.stdout.utf8)) as? [String: Any])
        #expect(result["schema"] as? String == "mlops.gate/v1")
        #expect(try MLOpsProcess.run(["gate", "--baseline", "/nowhere"], in: dir).status == 64)
    }

    /// A registry that cannot be opened fails the gate with its status, instead of the
    /// production baseline being skipped without a word.
    @Test func aBadRegistryFailsTheGateWithExit78() throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml", yaml.replacingOccurrences(of: "  registry: .mlops/registry", with: "  registry: ftp://host/r")
        )
        let gate = try MLOpsProcess.run(["gate"], in: dir)
        #expect(gate.status == 78, "\(gate.stdout)\n\(gate.stderr)")
        #expect(gate.stderr.contains("ftp://host/r"), "\(gate.stderr)")
    }

    /// How `mlops train` reports a drift the policy fails; the gate's drift report is
    /// GateRunTests'.
    @Test func driftAgainstThePreviousSpanStopsTrainNamingTheFeature() throws {
        let failing = try TaxiProject.spanned(driftPolicy: "fail")
        let stopped = try MLOpsProcess.run(["train"], in: failing.directory.url)
        #expect(stopped.status == 1, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(stopped.stdout.contains("rows from span 2"), "\(stopped.stdout)")
        #expect(
            stopped.stderr.contains(
                "error: train: drift trip_miles COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: Jensen-Shannon divergence (TFDV's buckets) against span 1 is 0."
            ), "\(stopped.stderr)")
        #expect(stopped.stderr.contains(", above the threshold 0.1 (the schema's drift_comparator)\n"))
        #expect(
            stopped.stderr.contains(
                "warning: train: skew payment_type COMPARATOR_L_INFTY_HIGH: L-infinity distance against serving data is 0."
            ))
        #expect(!stopped.stderr.contains("drift fare"))  // within its threshold
    }

    /// Issue 22 item 6: a multiclass baseline is compared class by class by label value, and a
    /// baseline with another class set is refused with the classes named (it was compared by
    /// position: its third class scored against the candidate's third, whatever they were).
    @Test func aMulticlassBaselineWithAnotherClassSetIsRefused() throws {
        let repo = try TestRepository()
        let dir = repo.directory.url
        let initialised = try MLOpsProcess.run(["init", dir.path, "--template", "penguins"])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(of: "schema: schema/schema.pbtxt", with: "schema: infer")
                + "\ninfra:\n  max_p99_ms: 5000\n")
        // The species as names, as most data sets have them.
        func relabel(_ names: [String]) throws {
            let csv = try String(contentsOf: dir.appendingPathComponent("data/penguins.csv"), encoding: .utf8)
            var lines = csv.split(separator: "\n").map(String.init)
            for index in lines.indices.dropFirst() {
                var fields = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if let code = Int(fields[0]), names.indices.contains(code) { fields[0] = names[code] }
                lines[index] = fields.joined(separator: ",")
            }
            _ = try repo.write("data/penguins.csv", lines.joined(separator: "\n") + "\n")
        }
        try relabel(["Adelie", "Chinstrap", "Gentoo"])
        _ = try repo.commitAll("penguins by name")
        let trained = try MLOpsProcess.run(["train"], in: dir)
        #expect(trained.status == 0, "\(trained.stderr)")
        let models = dir.appendingPathComponent(".mlops/artifacts/Trainer")
        let model = try #require(try FileManager.default.contentsOfDirectory(atPath: models.path).first)
        let baseline = try TemporaryDirectory()
        let copy = baseline.url.appendingPathComponent("model")
        try FileManager.default.copyItem(at: models.appendingPathComponent(model), to: copy)
        // The same classes: compared by name, the same model scores the same.
        let same = try MLOpsProcess.run(["gate", "--baseline", copy.path], in: dir)
        #expect(same.status == 0, "\(same.stdout)\n\(same.stderr)")
        #expect(same.stdout.contains("(baseline 0.") || same.stdout.contains("(baseline 1.0"), "\(same.stdout)")
        // Another class set: refused, naming both.
        let csv = try String(contentsOf: dir.appendingPathComponent("data/penguins.csv"), encoding: .utf8)
        _ = try repo.write("data/penguins.csv", csv.replacingOccurrences(of: "Gentoo,", with: "Emperor,"))
        let other = try MLOpsProcess.run(["gate", "--baseline", copy.path], in: dir)
        #expect(other.status == 65, "\(other.stdout)\n\(other.stderr)")
        #expect(
            other.stderr.contains(
                "the baseline predicts the classes Adelie, Chinstrap, Gentoo; the candidate predicts Adelie, Chinstrap, Emperor"
            ), "\(other.stderr)")
    }
}
