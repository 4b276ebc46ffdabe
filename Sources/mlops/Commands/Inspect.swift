import ArgumentParser
import Foundation
import Metadata
import MLOpsCore
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
            let console = context.console
            let project = try context.project()
            defer { try? project.store.close() }
            let decisions = try project.runner().plan()
            guard let decision = decisions.first(where: { $0.component.rawValue == component }) else {
                let configured = decisions.map(\.component.rawValue).joined(separator: ", ")
                throw ValidationError("\(component) is not part of this pipeline yet (it runs: \(configured))")
            }
            let cached = decision.hit != nil
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            component: component, cached: cached, reason: decision.reason,
                            differences: decision.differences, today: decision.manifest,
                            last: decision.previous?.manifest, lastExecution: decision.previous?.id)))
                return
            }
            console.line(
                console.style(component, .cyan, bold: true) + (cached ? " would be reused" : " would run"))
            console.line("  " + decision.reason.replacingOccurrences(of: "ran because", with: "because"))
            guard let previous = decision.previous, let last = previous.manifest else {
                console.line("  no earlier successful execution in the store")
                return
            }
            console.line(
                "  last successful execution: \(previous.id) (\(previous.state.rawValue.lowercased())"
                    + (previous.gitCommit.map { ", commit \($0.prefix(8))" } ?? "") + ")")
            console.line("  cache key, now against then:")
            let today = decision.manifest
            var rows: [(String, String?, String?)] = [("version", today.version, last.version)]
            for key in Set(today.parameters.keys).union(last.parameters.keys).sorted() {
                rows.append(("parameter " + key, today.parameters[key], last.parameters[key]))
            }
            for key in Set(today.inputs.keys).union(last.inputs.keys).sorted() {
                rows.append(("input " + key, today.inputs[key], last.inputs[key]))
            }
            for key in Set(today.paths.keys).union(last.paths.keys).sorted() {
                rows.append((key, today.paths[key], last.paths[key]))
            }
            let width = min(40, rows.map(\.0.count).max() ?? 10)
            for (name, now, then) in rows {
                let same = now == then
                let mark = same ? console.style("=", .dim) : console.style("≠", .yellow, bold: true)
                let detail = same ? Self.clip(now) : "\(Self.clip(then)) → \(Self.clip(now))"
                console.line(
                    "    \(mark) " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + detail)
            }
        }

        static func clip(_ text: String?) -> String {
            guard let text else { return "(none)" }
            return text.count > 60 ? String(text.prefix(57)) + "…" : text
        }
    }
}

extension MLOps {
    struct Runs: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract: "The pipeline runs in the store, newest first, with what each ran and reused.",
            subcommands: [List.self, Diff.self], defaultSubcommand: List.self)
        static let jsonSchema = "mlops.runs/v1"

        @OptionGroup var global: GlobalOptions

        func run(context: CommandContext) async throws {}

        struct List: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List the runs, newest first.")
            static let jsonSchema = "mlops.runs/v1"

            @OptionGroup var global: GlobalOptions

            @Option(help: "How many runs to list.")
            var limit = 20

            func run(context: CommandContext) async throws {
                let console = context.console
                let store = try context.store()
                defer { try? store.close() }
                let runs = try store.runs(limit: limit)
                if console.mode == .json {
                    try console.json(JSONOutput(schema: Self.jsonSchema, result: runs))
                    return
                }
                guard !runs.isEmpty else {
                    console.line("no runs yet: `mlops train` makes the first")
                    return
                }
                let formatter = ISO8601DateFormatter()
                console.line(" run  started               commit    status          ran  cached  failed  seconds")
                for run in runs {
                    let commit = String((run.properties["commit"] ?? "").prefix(8))
                    let status = (run.properties["status"] ?? "running?").padding(
                        toLength: 14, withPad: " ", startingAt: 0)
                    let counts = [run.states["COMPLETE"] ?? 0, run.states["CACHED"] ?? 0, run.states["FAILED"] ?? 0]
                    console.line(
                        String(format: "%4lld", run.id) + "  " + formatter.string(from: run.started).prefix(19)
                            + "   " + commit.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + status
                            + String(format: "%5d %7d %7d", counts[0], counts[1], counts[2]) + "  "
                            + (run.properties["seconds"] ?? "–"))
                }
            }
        }

        struct Diff: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "diff",
                abstract: "Compare two runs: commits, parameters, data fingerprints and inputs, component by component."
            )
            static let jsonSchema = "mlops.runs-diff/v1"

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The earlier run.")
            var first: Int64

            @Argument(help: "The later run.")
            var second: Int64

            struct Output: Encodable {
                let first: RunSummary
                let second: RunSummary
                let components: [String: [String]]
            }

            func run(context: CommandContext) async throws {
                let console = context.console
                let store = try context.store()
                defer { try? store.close() }
                var summaries: [RunSummary] = []
                for id in [first, second] {
                    guard let run = try store.run(id) else {
                        throw FileError(
                            .missing, path: "run \(id)", detail: "no such run in the store",
                            hint: "`mlops runs` lists them")
                    }
                    summaries.append(run)
                }
                let before = Dictionary(
                    try store.executions(run: first).map { ($0.component, $0) }, uniquingKeysWith: { $1 })
                let after = Dictionary(
                    try store.executions(run: second).map { ($0.component, $0) }, uniquingKeysWith: { $1 })
                var changes: [String: [String]] = [:]
                for component in Set(before.keys).union(after.keys).sorted() {
                    switch (before[component]?.manifest, after[component]?.manifest) {
                    case (let old?, let new?): changes[component] = new.differences(from: old)
                    case (nil, _): changes[component] = ["not in run \(first)"]
                    case (_, nil): changes[component] = ["not in run \(second)"]
                    }
                }
                if console.mode == .json {
                    try console.json(
                        JSONOutput(
                            schema: Self.jsonSchema,
                            result: Output(first: summaries[0], second: summaries[1], components: changes)))
                    return
                }
                let commits = summaries.map { String(($0.properties["commit"] ?? "").prefix(8)) }
                console.line(
                    "run \(first) → run \(second)  commit "
                        + (commits[0] == commits[1] ? "\(commits[0]) (same)" : "\(commits[0]) → \(commits[1])"))
                for (component, list) in changes.sorted(by: { $0.key < $1.key }) {
                    console.line(
                        "  " + component.padding(toLength: 18, withPad: " ", startingAt: 0)
                            + (list.isEmpty ? console.style("same inputs", .dim) : list.joined(separator: "; ")))
                }
            }
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

        struct Node: Encodable {
            let artifact: StoredArtifact
            let execution: StoredExecution?
            let paths: [String: String]
            let children: [Node]
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let store = try context.store()
            defer { try? store.close() }
            guard let start = try store.findArtifact(artifact) else {
                throw FileError(
                    .missing, path: "artifact \(artifact)",
                    detail: "no artifact with that id or fingerprint in the store",
                    hint: "`mlops train --json` lists each output's fingerprint")
            }
            var seen = Set<Int64>()
            func upstream(_ artifact: StoredArtifact) throws -> Node {
                seen.insert(artifact.id)
                let maker = try store.producers(of: artifact.id).first { $0.state == .complete }
                var children: [Node] = []
                if let maker {
                    for (_, input) in try store.artifacts(of: maker.id, "INPUT").sorted(by: { $0.key < $1.key })
                    where !seen.contains(input.id) {
                        children.append(try upstream(input))
                    }
                }
                return Node(
                    artifact: artifact, execution: maker, paths: maker?.manifest?.paths ?? [:], children: children)
            }
            func downstream(_ artifact: StoredArtifact) throws -> Node {
                seen.insert(artifact.id)
                var children: [Node] = []
                for consumer in try store.consumers(of: artifact.id) where consumer.state == .complete {
                    for (_, output) in try store.artifacts(of: consumer.id, "OUTPUT").sorted(by: { $0.key < $1.key })
                    where !seen.contains(output.id) {
                        let child = try downstream(output)
                        children.append(
                            Node(artifact: child.artifact, execution: consumer, paths: [:], children: child.children))
                    }
                }
                let maker = try store.producers(of: artifact.id).first { $0.state == .complete }
                return Node(artifact: artifact, execution: maker, paths: [:], children: children)
            }
            let tree = down ? try downstream(start) : try upstream(start)
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, result: tree))
                return
            }
            func print(_ node: Node, indent: String) {
                let artifact = node.artifact
                var line =
                    indent + console.style("\(artifact.type) \(artifact.id)", .cyan, bold: true)
                    + "  \(artifact.fingerprint.prefix(19))  .mlops/\(artifact.uri)"
                if let execution = node.execution {
                    line +=
                        "\n" + indent + "  made by \(execution.component) (execution \(execution.id)"
                        + (execution.gitCommit.map { ", commit \($0.prefix(8))" } ?? "") + ")"
                }
                console.line(line)
                for (path, fingerprint) in node.paths.sorted(by: { $0.key < $1.key }) {
                    console.line(indent + "  reads \(path)  \(fingerprint.prefix(19))")
                }
                for child in node.children { print(child, indent: indent + "    ") }
            }
            print(tree, indent: "")
        }
    }
}

extension MLOps {
    struct PipelineCommand: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "pipeline", abstract: "The pipeline mlops.yaml configures.",
            subcommands: [Show.self], defaultSubcommand: Show.self)
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

            struct Entry: Encodable {
                let component: String
                let upstream: [String]
                let implemented: Bool
            }

            func run(context: CommandContext) async throws {
                let console = context.console
                let root = try context.projectRoot()
                let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
                let graph = ComponentGraph(config: config)
                // What `mlops train` runs, and the two gates `mlops gate` adds.
                let implemented = Set(
                    ((try? config.dataComponents(root: root).map(\.id)) ?? [
                        .exampleGen, .statisticsGen, .schemaGen, .importSchemaGen, .exampleValidator,
                    ]) + [.evaluator, .infraValidator])
                let present = Set(graph.components)
                var entries: [Entry] = graph.components.map { component in
                    Entry(
                        component: component.rawValue,
                        upstream: component.upstream.filter(present.contains).map(\.rawValue),
                        implemented: implemented.contains(component))
                }
                // Transform waits for ExampleValidator's verdict.
                if let index = entries.firstIndex(where: { $0.component == "Transform" }),
                    present.contains(.exampleValidator)
                {
                    entries[index] = Entry(
                        component: "Transform", upstream: entries[index].upstream + ["ExampleValidator"],
                        implemented: entries[index].implemented)
                }
                if console.mode == .json {
                    try console.json(JSONOutput(schema: Self.jsonSchema, result: entries))
                    return
                }
                if mermaid {
                    console.line("flowchart LR")
                    for entry in entries {
                        let style = entry.implemented ? "" : ":::planned"
                        console.line("  \(entry.component)[\(entry.component)]\(style)")
                    }
                    for entry in entries {
                        for upstream in entry.upstream { console.line("  \(upstream) --> \(entry.component)") }
                    }
                    console.line("  classDef planned stroke-dasharray: 4 4")
                    return
                }
                console.line(console.style("pipeline \(config.pipeline.name)", .cyan, bold: true))
                for entry in entries {
                    console.line(
                        "  " + entry.component.padding(toLength: 18, withPad: " ", startingAt: 0)
                            + (entry.upstream.isEmpty ? "(source)" : "← " + entry.upstream.joined(separator: ", "))
                            + (entry.implemented ? "" : console.style("  (not implemented yet)", .dim)))
                }
            }
        }
    }
}
