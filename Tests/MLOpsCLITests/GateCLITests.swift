import Foundation
import MLOpsTestSupport
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
        #expect(first.stdout.contains("baseline: none"))
        #expect(first.stdout.contains("Evaluator") && first.stdout.contains("InfraValidator"))
        #expect(first.stdout.contains("blessed  reports: "))
        let markdown = try String(contentsOf: reports.appendingPathComponent("gate.md"), encoding: .utf8)
        #expect(markdown.hasPrefix("<!-- mlops-gate-report -->\n## ✅ mlops gate: blessed\n"))
        #expect(markdown.contains("**No baseline**: change thresholds were not checked"))
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
        // On a new commit nothing is blessed at the merge-base (HEAD, on main): the latest blessed
        // model is the baseline, and the report says why.
        _ = try repo.commitAll("a worse model")
        let third = try MLOpsProcess.run(["gate"], in: dir)
        #expect(third.status == 1)
        #expect(third.stdout.contains("baseline: latest blessed model (execution "), "\(third.stdout)")
        #expect(third.stdout.contains("none blessed at the merge-base "))
        let named = try MLOpsProcess.run(["gate", "--baseline", "latest-blessed"], in: dir)
        #expect(named.stdout.contains("baseline: latest blessed model (execution ") && named.status == 1)
        // --baseline none: the change is not checked; the value thresholds still decide.
        let alone = try MLOpsProcess.run(["gate", "--baseline", "none", "--json"], in: dir)
        let result = try #require(
            try JSONSerialization.jsonObject(with: Data(alone.stdout.utf8)) as? [String: Any])
        #expect(result["schema"] as? String == "mlops.gate/v1")
        #expect(try MLOpsProcess.run(["gate", "--baseline", "/nowhere"], in: dir).status == 64)
    }

    /// The taxi data cut into two spans, the second with trip_miles moved far off, and
    /// serving data paid only in cash; the schema measures drift of trip_miles and skew of
    /// payment_type.
    func spannedProject(driftPolicy: String) throws -> TestRepository {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        let csv = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map(String.init)
        let header = lines[0]
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let moved = rows.dropFirst(7000).map { fields in
            var fields = fields
            fields[10] = String((Double(fields[10]) ?? 0) + 50)  // trip_miles
            return fields.joined(separator: ",")
        }
        try repo.remove("data/data.csv")
        _ = try repo.write(
            "data/span-1/data.csv",
            ([header] + rows.prefix(7000).map { $0.joined(separator: ",") }).joined(separator: "\n") + "\n")
        _ = try repo.write("data/span-2/data.csv", ([header] + moved).joined(separator: "\n") + "\n")
        let serving = rows.suffix(500).map { fields in
            var fields = Array(fields.dropLast())  // no tips
            fields[13] = "Cash"
            return fields.joined(separator: ",")
        }
        _ = try repo.write(
            "serving/requests.csv",
            ([String(header.split(separator: ",").dropLast().joined(separator: ","))] + serving).joined(separator: "\n")
                + "\n")
        let schema = try String(contentsOf: dir.appendingPathComponent("schema/schema.pbtxt"), encoding: .utf8)
        _ = try repo.write(
            "schema/schema.pbtxt",
            schema.replacingOccurrences(
                of: "  name: \"trip_miles\"\n",
                with: "  name: \"trip_miles\"\n  drift_comparator { jensen_shannon_divergence { threshold: 0.1 } }\n"
            ).replacingOccurrences(
                of: "  name: \"payment_type\"\n  value_count",
                with: "  name: \"payment_type\"\n  skew_comparator { infinity_norm { threshold: 0.05 } }\n  value_count"
            ).replacingOccurrences(
                of: "  name: \"fare\"\n",
                with: "  name: \"fare\"\n  drift_comparator { jensen_shannon_divergence { threshold: 0.5 } }\n"))
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(of: #"sources: ["data/*.csv"]"#, with: #"sources: ["data/span-{SPAN}/*.csv"]"#)
                .replacingOccurrences(of: "  on_bad_rows: fail", with: "  serving: serving/*.csv\n  on_bad_rows: fail")
                .replacingOccurrences(of: "    drift: warn\n", with: "    drift: \(driftPolicy)\n    skew: warn\n"))
        _ = try repo.commitAll("two spans and serving data")
        return repo
    }

    @Test func driftAgainstThePreviousSpanAndSkewAgainstServingDataAreGated() throws {
        let failing = try spannedProject(driftPolicy: "fail")
        let stopped = try MLOpsProcess.run(["train"], in: failing.directory.url)
        #expect(stopped.status == 1, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(stopped.stdout.contains("rows from span 2"), "\(stopped.stdout)")
        #expect(
            stopped.stderr.contains(
                "error: train: drift trip_miles COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: Jensen-Shannon divergence against the previous span is 0."
            ), "\(stopped.stderr)")
        #expect(stopped.stderr.contains(", above the threshold 0.1\n"))
        #expect(
            stopped.stderr.contains(
                "warning: train: skew payment_type COMPARATOR_L_INFTY_HIGH: L-infinity distance against serving data is 0."
            ))
        #expect(!stopped.stderr.contains("drift fare"))  // within its threshold

        // Drift only warns: the gate runs, blesses, and reports every measurement.
        let repo = try spannedProject(driftPolicy: "warn")
        let dir = repo.directory.url
        let gate = try MLOpsProcess.run(["gate"], in: dir)
        #expect(gate.status == 0, "\(gate.stdout)\n\(gate.stderr)")
        let reports = dir.appendingPathComponent(".mlops/reports")
        let markdown = try String(contentsOf: reports.appendingPathComponent("gate.md"), encoding: .utf8)
        #expect(
            markdown.contains(
                "Drift: the train split of span 2 against span 1, 2 measurements. Skew: the train split against serving data `serving/*.csv`, 1 measurement."
            ), "\(markdown)")
        #expect(markdown.contains("| ⚠️ train: drift trip_miles JENSEN_SHANNON_DIVERGENCE <= 0.1 | warned |"))
        #expect(markdown.contains("| ✅ train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.5 | passed |"))
        #expect(markdown.contains("| ⚠️ train: skew payment_type L_INFTY <= 0.05 | warned |"))
        let junit = try #require(JUnit.read(reports.appendingPathComponent("junit.xml")))
        #expect(junit.cases.contains("mlops.gate.data train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.5"))
        #expect(junit.failed.isEmpty)
        let html = try String(contentsOf: reports.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("Data: anomalies, drift and skew") && html.contains(">JS 0."))
        // --strict: the drift warning fails the gate.
        let strict = try MLOpsProcess.run(["gate", "--strict"], in: dir)
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("✗ mlops.gate.data: train: drift trip_miles JENSEN_SHANNON_DIVERGENCE <= 0.1"))
    }
}
