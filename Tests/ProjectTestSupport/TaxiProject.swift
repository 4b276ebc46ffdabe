import Foundation
import GitKit
import MLOpsTestSupport
import Pipeline

/// The taxi template written in place (the library `mlops init` uses, no binary) and
/// committed in a new repository: what the library-level tests of test, gate, release,
/// promote and rollback start from.
public enum TaxiProject {
    /// The project, with the infra gate's p99 budget raised from 50 ms to 5 s when
    /// `relaxedLatency` (the suite runs many servers at once on a small machine, and these
    /// tests are not about latency; InfraValidatorTests are).
    public static func make(relaxedLatency: Bool = true) throws -> TestRepository {
        let repo = try TestRepository()
        let library = try TemplateLibrary.locate(environment: [:], executable: nil)
        _ = try ProjectInitializer(library: library).initialize(
            directory: repo.directory.url, template: "taxi", ciProviders: [], force: false)
        if relaxedLatency {
            try edit(repo) { $0.replacingOccurrences(of: "  max_p99_ms: 50\n", with: "  max_p99_ms: 5000\n") }
        }
        _ = try repo.commitAll("taxi project")
        return repo
    }

    /// Creates `name` at HEAD and checks it out, as a pull request's branch; returns the
    /// commit it starts from (the merge-base of what it commits next).
    @discardableResult
    public static func branch(_ repo: TestRepository, _ name: String) throws -> ObjectID {
        guard let start = try repo.repository.head().commit else { throw FixtureError("the repository has no commit") }
        try repo.repository.createBranch(name, at: start)
        try repo.repository.checkout(branch: name)
        return start
    }

    /// Rewrites `mlops.yaml` (not committed); fails when `change` changes nothing.
    public static func edit(_ repo: TestRepository, _ change: (String) -> String) throws {
        let url = repo.directory.url.appendingPathComponent("mlops.yaml")
        let before = try String(contentsOf: url, encoding: .utf8)
        let after = change(before)
        guard after != before else { throw FixtureError("the edit changed nothing in mlops.yaml") }
        try after.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The Tuner switched on: `trials` random trials (seed 0), the Trainer taking its best
    /// hyperparameters, and `orchestration` (YAML lines under that key) appended when given.
    public static func tune(_ repo: TestRepository, trials: Int, orchestration: String? = nil) throws {
        try edit(repo) {
            var text = $0.replacingOccurrences(
                of: "  hyperparameters:                   # or `from_tuner` with the tuner section below\n"
                    + "    max_depth: 6\n    eta: 0.1\n    tree_method: hist\n",
                with: "  hyperparameters: from_tuner\n"
            ).replacingOccurrences(
                of: "# tuner:\n#   strategy: random                 # or grid\n#   trials: 12\n#   seed: 0\n"
                    + "#   search_space:\n#     max_depth: {type: int, min: 3, max: 8}\n"
                    + "#     eta: {type: float, min: 0.03, max: 0.3, log: true}\n"
                    + "#     tree_method: {type: choice, values: [hist]}\n",
                with: "tuner:\n  strategy: random\n  trials: \(trials)\n  seed: 0\n  search_space:\n"
                    + "    max_depth: {type: int, min: 3, max: 8}\n    eta: {type: float, min: 0.03, max: 0.3, log: true}\n"
                    + "    tree_method: {type: choice, values: [hist]}\n")
            if let orchestration { text += "\norchestration:\n" + orchestration }
            return text
        }
    }

    /// A worse model: one stump instead of a hundred trees.
    public static func worsen(_ repo: TestRepository) throws {
        try edit(repo) {
            $0.replacingOccurrences(of: "  rounds: 100", with: "  rounds: 1")
                .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1")
        }
    }

    /// The template's data drifted: fares up 80%, no cash payments (not committed).
    public static func driftData(_ repo: TestRepository) throws {
        let csv = try String(contentsOf: repo.directory.url.appendingPathComponent("data/data.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map(String.init)
        let header = lines.removeFirst()
        let drifted = lines.compactMap { line -> String? in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields[13] != "Cash" else { return nil }
            fields[1] = String(format: "%.2f", (Double(fields[1]) ?? 0) * 1.8)
            return fields.joined(separator: ",")
        }
        _ = try repo.write("data/data.csv", ([header] + drifted).joined(separator: "\n") + "\n")
    }

    /// A random half of the template's rows (a genuine sample of the same distribution: drift
    /// must pass), chosen by a seeded shuffle; `second` takes the other half. Not committed.
    public static func halveData(_ repo: TestRepository, seed: UInt64 = 7, second: Bool = false) throws {
        let csv = try String(contentsOf: repo.directory.url.appendingPathComponent("data/data.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map(String.init)
        let header = lines.removeFirst()
        var state = seed
        func next() -> UInt64 {  // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for index in stride(from: lines.count - 1, to: 0, by: -1) {
            lines.swapAt(index, Int(next() % UInt64(index + 1)))
        }
        let half = second ? Array(lines[(lines.count / 2)...]) : Array(lines[..<(lines.count / 2)])
        _ = try repo.write("data/data.csv", ([header] + half).joined(separator: "\n") + "\n")
    }

    /// Removes the template's `gates.drift` thresholds, so only a schema's comparators
    /// measure drift (TFDV's way).
    public static func dropDriftThresholds(_ repo: TestRepository) throws {
        try edit(repo) { yaml in
            var lines: [String] = []
            var inDrift = false
            for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if line == "  drift:" {
                    inDrift = true
                    continue
                }
                if inDrift, line.hasPrefix("    ") { continue }
                inDrift = false
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
    }

    /// The project with its data cut into two spans, the second with trip_miles moved far off,
    /// and serving data paid only in cash; the schema measures drift of trip_miles (and fare)
    /// and skew of payment_type (TFDV's way: the template's `gates.drift` thresholds are
    /// removed), and `gates.policy.drift` is `driftPolicy`. Committed.
    public static func spanned(driftPolicy: String) throws -> TestRepository {
        let repo = try make()
        try dropDriftThresholds(repo)
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
        try edit(repo) {
            $0.replacingOccurrences(of: #"sources: ["data/*.csv"]"#, with: #"sources: ["data/span-{SPAN}/*.csv"]"#)
                .replacingOccurrences(of: "  on_bad_rows: fail", with: "  serving: serving/*.csv\n  on_bad_rows: fail")
                .replacingOccurrences(
                    of: "    FEATURE_TYPE_LOW_FRACTION_PRESENT: warn\n",
                    with: "    FEATURE_TYPE_LOW_FRACTION_PRESENT: warn\n    drift: \(driftPolicy)\n    skew: warn\n")
        }
        _ = try repo.commitAll("two spans and serving data")
        return repo
    }

    /// The project as the commands open it.
    public static func open(_ repo: TestRepository) throws -> Project {
        try Project.open(repo.repository, environment: [:])
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
