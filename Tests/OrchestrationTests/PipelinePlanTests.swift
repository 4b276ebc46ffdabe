import Foundation
import MLOpsCore
import Pipeline
import Testing

@testable import Orchestration

/// The plan every export writes: derived from the one DAG declaration and mlops.yaml.
@Suite struct PipelinePlanTests {
    static let minimal = """
        pipeline: {name: demo}
        data: {sources: ["data/*.csv"]}
        trainer: {label: y, task: binary}
        evaluation: {thresholds: [{metric: auc, lower_bound: 0.5}]}

        """

    func plan(_ yaml: String) throws -> PipelinePlan {
        PipelinePlan(config: try MLOpsConfig.parse(yaml: yaml, file: "mlops.yaml", root: nil))
    }

    @Test func eachTaskWaitsForWhatTheDAGSaysAndTheReleaseForBothBlessings() throws {
        let plan = try plan(Self.minimal)
        #expect(
            plan.tasks.map(\.name) == [
                "example-gen", "statistics-gen", "schema-gen", "example-validator", "transform", "trainer", "evaluator",
                "infra-validator",
            ])
        for task in plan.tasks {
            let present = Set(plan.tasks.map(\.component))
            #expect(
                Set(task.dependencies)
                    == Set(task.component.upstream.filter(present.contains).map(PipelinePlan.taskName)))
        }
        let trainer = try #require(plan.tasks.first { $0.component == .trainer })
        #expect(trainer.inputs.map(\.name) == ["schema", "transform", "transformed"])
        #expect(trainer.inputs.first?.task == "schema-gen")
        #expect(plan.releaseAfter == ["evaluator", "infra-validator"])
        #expect(plan.trials == nil)
        #expect(plan.image == "mlops:\(MLOpsVersion.current)")
        #expect(plan.settings.resources(for: "Trainer") == ResourceRequest(cpu: "1", memory: "2Gi"))
    }

    @Test func withoutAnEvaluatorThereIsNoReleaseAndAGridsTrialsAreItsPoints() throws {
        let plan = try plan(
            """
            pipeline: {name: demo}
            data: {sources: ["data/*.csv"]}
            trainer: {label: y, task: binary, hyperparameters: from_tuner}
            tuner:
              strategy: grid
              trials: 50
              search_space: {max_depth: {type: choice, values: [3, 4, 5]}}
            infra: {enabled: false}

            """)
        #expect(plan.releaseAfter == nil)
        #expect(plan.trials == 3)
        #expect(plan.tasks.first { $0.component == .tuner }?.dependencies == ["transform", PipelinePlan.trialTask])
    }

    @Test(arguments: [
        ("true", true), ("2", true), ("", true), ("null", true), ("~", true), ("1.5", true), ("hello", false),
        ("{{$}}", false), ("s3://bucket/key", false),
    ])
    func aStringThatWouldReadBackAsAnotherTypeIsQuoted(_ text: String, quoted: Bool) throws {
        let yaml = try YAMLValue.render([.map([("key", .string(text))])])
        #expect(yaml.hasPrefix("key: \"") == quoted || (text == "{{$}}" && yaml.hasPrefix("key: '")), "\(yaml)")
        #expect(yaml.hasPrefix("key: \(text)\n") == !quoted || text == "{{$}}", "\(yaml)")
    }
}
