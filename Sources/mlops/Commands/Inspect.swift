import ArgumentParser
import Foundation
import MLOpsCore
import Metadata
import Pipeline

extension MLOps {
    struct Explain: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Why a component would run or be reused now, input by input.",
            discussion: """
                Compares the cache key mlops would compute now (parameters, input fingerprints, the \
                fingerprints of the paths the component reads) with the key of its last successful \
                execution in the store. Nothing is run.
                """)
        static let jsonSchema = "mlops.explain/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A component, e.g. StatisticsGen.")
        var component: String

        func validate() throws {
            guard Component(rawValue: component) != nil else {
                let hint = Suggestions.nearest(to: component, in: Component.allCases.map(\.rawValue))
                throw ValidationError(
                    "unknown component '\(component)'" + (hint.map { " (did you mean '\($0)'?)" } ?? ""))
            }
        }

        struct Output: Encodable {
            let component: String
            let cached: Bool
            let reason: String
            let differences: [String]
            let today: KeyManifest
            let last: KeyManifest?
            let lastExecution: Int64?
        }

        func run(context: CommandContext) async throws {
            let project = try context.project()
            defer { try? project.store.close() }
            let decision = try Explanation.decision(for: Component(rawValue: component) ?? .exampleGen, in: project)
            guard context.console.mode == .json else { return Explanation.print(decision, on: context.console) }
            try context.console.json(
                JSONOutput(
                    schema: Self.jsonSchema,
                    result: Output(
                        component: component, cached: decision.hit != nil, reason: decision.reason,
                        differences: decision.differences, today: decision.manifest, last: decision.previous?.manifest,
                        lastExecution: decision.previous?.id)))
        }
    }
}

extension MLOps {
    struct Lineage: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "lineage",
            abstract:
                "Where an artifact came from (down to data fingerprints and the commit), or with --down what was made from it.",
            discussion:
                "ARTIFACT is an artifact id or a prefix of its sha256 fingerprint (as `mlops train --json` prints).")
        static let jsonSchema = "mlops.lineage/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "An artifact id or fingerprint prefix.")
        var artifact: String

        @Flag(help: "Follow the artifact downstream: the executions that read it and what they made.")
        var down = false

        func run(context: CommandContext) async throws {
            let store = try context.store()
            defer { try? store.close() }
            let tree = try LineageTree.build(from: artifact, downstream: down, in: store)
            guard context.console.mode == .json else { return tree.print(on: context.console) }
            try context.console.json(JSONOutput(schema: Self.jsonSchema, result: tree))
        }
    }
}

extension MLOps {
    struct PipelineCommand: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "pipeline", abstract: "The pipeline mlops.yaml configures.",
            subcommands: [Show.self, Export.self], defaultSubcommand: Show.self)
        static let jsonSchema = "mlops.pipeline/v1"

        @OptionGroup var global: GlobalOptions

        func run(context: CommandContext) async throws {}

        struct Show: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "show",
                abstract: "Print the DAG: each component, what it reads and what it waits for; --mermaid for a diagram."
            )
            static let jsonSchema = "mlops.pipeline/v1"

            @OptionGroup var global: GlobalOptions

            @Flag(help: "Print a Mermaid flowchart (renders on GitHub and GitLab).")
            var mermaid = false

            func run(context: CommandContext) async throws {
                let console = context.console
                let root = try context.projectRoot()
                let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
                let shape = PipelineShape(config: config, root: root)
                if console.mode == .json {
                    try console.json(JSONOutput(schema: Self.jsonSchema, result: shape.entries))
                } else if mermaid {
                    for line in shape.mermaid { console.line(line) }
                } else {
                    shape.print(on: console)
                }
            }
        }
    }
}
