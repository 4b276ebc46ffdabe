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

    /// Rewrites `mlops.yaml` (not committed); fails when `change` changes nothing.
    public static func edit(_ repo: TestRepository, _ change: (String) -> String) throws {
        let url = repo.directory.url.appendingPathComponent("mlops.yaml")
        let before = try String(contentsOf: url, encoding: .utf8)
        let after = change(before)
        guard after != before else { throw FixtureError("the edit changed nothing in mlops.yaml") }
        try after.write(to: url, atomically: true, encoding: .utf8)
    }

    /// A worse model: one stump instead of a hundred trees.
    public static func worsen(_ repo: TestRepository) throws {
        try edit(repo) {
            $0.replacingOccurrences(of: "  rounds: 100", with: "  rounds: 1")
                .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1")
        }
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
