import Foundation
import MLOpsTestSupport
import Metadata
import Pipeline
import ProjectTestSupport
import Testing

/// Typed parameters must not change what a cache key means: the keys below were recorded by
/// the mlops before the parameters were typed (commit d5965fe: `mlops init`, the same edits,
/// committed, `mlops train`, then `executions.cache_key` from the store). A run of today's
/// components on the same project must make the same keys, so a store from before the change
/// is still a cache hit after it. The Evaluator's key did change, on purpose and versioned
/// (its version went from 2 to 3: its configuration is now an object, not a JSON string), and
/// so did ExampleValidator's (version 3, issue 22: the template's `gates.drift` thresholds, one
/// drift measure, drift against the merge-base's data; recorded from `mlops train` after it).
/// StatisticsGen (version 2) and ExampleValidator (version 4) changed again with issue 23: their
/// artifacts also hold TFX's `Split-NAME/FeatureStats.pb` and `SchemaDiff.pb`; nothing else did.
@Suite struct CacheKeyCompatibilityTests {
    static let plain = [
        "ExampleGen": "17a1cc76c41db6e03b009d6d4457f989b63852bcdf7d26bb96c2c742e5e3f90e",
        "ImportSchemaGen": "cbe1c4dc368ef3b17f56c67dab80f702237cfa3b021643fa25e5fa8c82c77eac",
        "StatisticsGen": "d36cf96e07983d7dd237c8b7c98802501c92df0b3c4b1791242384e060fd4646",
        "ExampleValidator": "34cf071592cdb0d56b49a6cdbd69ef6b8003d87c46cf21c1979ea211b3b466d1",
        "Transform": "25e11901969acbf8f6455edf749035184030e706641ef25ce88a84e249f89c4e",
        "Trainer": "4cc757e8c1109293a72f3d47a2a12f2663e5f46fc4cecb04dbaa1c3924f60932",
    ]

    /// With `hyperparameters: from_tuner` and the template's tuner section, 3 trials.
    static let tuned = plain.merging([
        "Tuner": "161f7caf0c82290689031cdd8e9246973c0318902fe56a27c78ad841b92ad3e1",
        "Trainer": "ed0b008aba6f1f1425299b66a2e7f79c3da2a13c034cb68b40b4b03ee5165153",
    ]) { $1 }

    /// The template as it was then: train 2 : eval 1 (it has a held-out test split since).
    func asRecorded(_ repo: TestRepository) throws {
        try TaxiProject.edit(repo) { yaml in
            yaml.replacingOccurrences(
                of:
                    "    train: 6\n    eval: 2                  # early stopping and the Tuner choose on it\n    test: 2                  # held out: the Evaluator gates on it\n",
                with: "    train: 2\n    eval: 1\n")
        }
        _ = try repo.commitAll("the splits of d5965fe")
    }

    /// Each component's cache key after a run of the project, in-process.
    func keys(_ repo: TestRepository) throws -> [String: String] {
        try asRecorded(repo)
        let project = try TaxiProject.open(repo)
        defer { try? project.store.close() }
        let report = try project.runner().run(
            pipeline: project.config.pipeline.name, properties: [:], options: PipelineRunner.Options(),
            onStage: { _ in })
        #expect(report.stages.allSatisfy { $0.outcome == .ran }, "\(report.stages.map(\.reason))")
        return Dictionary(
            try project.store.allExecutions().filter { $0.state == .complete }.map { ($0.component, $0.cacheKey) },
            uniquingKeysWith: { $1 })
    }

    /// Compared one component at a time, so a failure shows the key made.
    func expect(_ keys: [String: String], _ recorded: [String: String]) {
        #expect(Set(keys.keys) == Set(recorded.keys))
        for (component, key) in recorded.sorted(by: { $0.key < $1.key }) {
            #expect(keys[component] == key, "\(component)")
        }
    }

    @Test func theTaxiTemplateMakesTheKeysRecordedBeforeTheParametersWereTyped() throws {
        expect(try keys(try TaxiProject.make()), Self.plain)
    }

    @Test func withTheTunerTheTunerAndTrainerKeysAreUnchangedToo() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) { yaml in
            var lines: [String] = []
            var skipping = false
            var uncommenting = false
            for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if line.hasPrefix("  hyperparameters: ") {
                    lines.append("  hyperparameters: from_tuner")
                    skipping = true
                    continue
                }
                if skipping {
                    if line == "    tree_method: hist" { skipping = false }
                    continue
                }
                if line == "# tuner:" { uncommenting = true }
                if uncommenting, line.isEmpty { uncommenting = false }
                let text = uncommenting && line.hasPrefix("# ") ? String(line.dropFirst(2)) : line
                lines.append(text == "  trials: 12" ? "  trials: 3" : text)
            }
            return lines.joined(separator: "\n")
        }
        _ = try repo.commitAll("the tuner")
        expect(try keys(repo), Self.tuned)
    }
}

/// The DAG is stated once (`Component.inputs`): every component's bindings come from it, and
/// `upstream`, which change detection follows, names exactly their producers.
@Suite struct DeclaredDAGTests {
    @Test func everyComponentsBindingsAreItsDeclaredInputs() throws {
        let repo = try TaxiProject.make()
        let project = try TaxiProject.open(repo)
        defer { try? project.store.close() }
        let components = try project.config.dataComponents(root: project.root)
        #expect(components.map(\.id.rawValue).contains("Trainer"))
        for component in components {
            let specs = Dictionary(uniqueKeysWithValues: component.id.inputs.map { ($0.name, $0) })
            for (name, binding) in component.inputs {
                let spec = try #require(specs[name], "\(component.id) binds '\(name)', which it does not declare")
                #expect(spec.from.contains(binding.component) && spec.output == binding.output)
            }
            let producers = Set(component.inputs.values.map(\.component)).union(component.runsAfter)
            #expect(producers.isSubset(of: Set(component.id.upstream)), "\(component.id)")
        }
        #expect(Component.transform.upstream == [.exampleGen, .exampleValidator])
        #expect(Component.trainer.upstream == [.schemaGen, .importSchemaGen, .transform, .tuner])
        #expect(Component.exampleGen.upstream.isEmpty && Component.importSchemaGen.upstream.isEmpty)
    }
}
