import ArgumentParser
import Foundation
import GitKit
import MLOpsCore
import Pipeline

extension MLOps {
    struct Train: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Run the pipeline up to the model, reusing every result whose inputs did not change.",
            discussion: """
                Runs the components mlops.yaml configures, in DAG order, recording each execution, its \
                inputs and outputs in the metadata store (.mlops/store.sqlite). A component whose cache key \
                (its version, parameters, input fingerprints and the git fingerprints of the paths it \
                reads) matches an earlier execution is not run again; each line says "cached", or why it \
                ran. Exits 1 when ExampleValidator finds anomalies the gate policy fails (the run stops \
                before the components after it). Runs ExampleGen, StatisticsGen, SchemaGen or \
                ImportSchemaGen, ExampleValidator, Transform, Tuner and Trainer; `mlops gate` runs the \
                Evaluator and InfraValidator after them.
                """)
        static let jsonSchema = "mlops.run/v1"

        @OptionGroup var global: GlobalOptions

        @Flag(name: .customLong("no-cache"), help: "Run every component, even when a result could be reused.")
        var noCache = false

        @Option(
            name: .customLong("force"),
            help: ArgumentHelp(
                "Run this component even when its result could be reused (repeatable).", valueName: "component"))
        var force: [String] = []

        @Flag(help: "Treat gate-policy warnings as failures.")
        var strict = false

        @Flag(
            name: .customLong("no-remote-cache"),
            help: "Neither pull from nor push to the remote cache (cache.remote, MLOPS_CACHE).")
        var noRemoteCache = false

        @Option(
            help: ArgumentHelp(
                "Also say what changed since this base and which components it affects (as `mlops changes`).",
                valueName: "ref"))
        var base: String?

        func validate() throws {
            for name in force where Component(rawValue: name) == nil {
                let hint =
                    Suggestions.nearest(to: name, in: Component.allCases.map(\.rawValue)).map {
                        " (did you mean '\($0)'?)"
                    } ?? ""
                throw ValidationError("--force: unknown component '\(name)'\(hint)")
            }
        }

        struct Output: Encodable {
            let pipeline: String
            let commit: String?
            let dirty: Bool
            let report: RunReport
            /// Configured components this version of mlops cannot run yet (the run ends before them).
            let unavailable: [String]
            let affected: [String]?
            enum CodingKeys: String, CodingKey {
                case pipeline, commit, dirty, report, unavailable = "unavailable_components", affected
            }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let project = try context.project()
            let (config, snapshot, store) = (project.config, project.snapshot, project.store)
            defer { try? store.close() }
            try TrackingHook.check(project)
            let runner = try project.runner(strict: strict, console: console, remoteCache: !noRemoteCache)
            let components = runner.components
            // SIGINT or SIGTERM: finish what is running, start nothing more, exit 130. A second
            // signal stops at once (the next run marks what was left ABANDONED and cleans it up).
            SignalWatcher.watch { number, count in
                guard count == 1 else { SignalWatcher.die(of: number) }
                console.warning(
                    "interrupted: finishing the components that are running, then stopping (again to stop at once)")
                runner.cancel()
            }
            var options = PipelineRunner.Options()
            options.noCache = noCache
            options.remoteCache = !noRemoteCache
            options.force = Set(force.compactMap(Component.init(rawValue:)))
            let position = snapshot.commit.map { String($0.prefix(8)) } ?? "no commit"
            if console.mode != .json {
                console.line(
                    console.style("mlops train", .cyan, bold: true) + "  \(config.pipeline.name) @ \(position)"
                        + (snapshot.branch.map { " (\($0))" } ?? " (detached)") + (snapshot.dirty ? ", dirty tree" : "")
                )
            }
            var affected: [String]?
            if let base {
                let changes = try ChangeDetector(repository: project.repository, config: config)
                    .detect(base: base, environment: ProcessInfo.processInfo.environment)
                affected = changes.affected.map(\.component.rawValue)
                if console.mode != .json {
                    let since = changes.base.fallback.map { "no usable base (\($0))" } ?? changes.base.explanation
                    console.line(
                        "changes     \(changes.paths.count) path\(changes.paths.count == 1 ? "" : "s") since \(since)")
                    console.line(
                        "affects     "
                            + (changes.affected.isEmpty ? "nothing" : affected?.joined(separator: ", ") ?? ""))
                }
            }
            let tracking = try project.tracking(of: runner, command: "train", base: base)
            let report = try runner.run(
                pipeline: config.pipeline.name,
                properties: [
                    "commit": snapshot.commit ?? "", "branch": snapshot.branch ?? "", "dirty": String(snapshot.dirty),
                    "command": "train",
                ],
                params: tracking.params, tags: tracking.tags, options: options, onStage: StageLine.printer(on: console))
            let implemented = Set(components.map(\.id.rawValue))
            let pending = config.components.filter { !implemented.contains($0) }
            try TrackingHook.afterRun(report.run, project: project, console: console)
            try store.close()
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, ok: !report.verdictFailed,
                        result: Output(
                            pipeline: config.pipeline.name, commit: snapshot.commit, dirty: snapshot.dirty,
                            report: report, unavailable: pending, affected: affected)))
            } else {
                let ran = report.stages.filter { $0.outcome == .ran }.count
                let cached = report.stages.filter { $0.outcome == .cached }.count
                if !pending.isEmpty, !report.verdictFailed {
                    console.line(
                        console.style("note:", .dim) + " the run ends at the model; `mlops gate` runs "
                            + pending.joined(separator: " and "))
                }
                console.line(
                    "run \(report.run): \(report.stages.count) components, \(ran) ran, \(cached) cached in \(String(format: "%.2f", report.seconds)) s"
                )
            }
            // On GitHub Actions the warnings fold into one group per component.
            let folding = ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" && console.mode != .json
            for stage in report.stages {
                let warnings = stage.findings.filter { $0.hasPrefix("warn ") }
                guard !warnings.isEmpty else { continue }
                guard folding else {
                    for finding in warnings { console.warning(String(finding.dropFirst(5))) }
                    continue
                }
                // Workflow commands are read from stdout, so the folded lines go there too.
                console.line("::group::\(stage.component.rawValue): \(warnings.count) warning(s)")
                for finding in warnings { console.line("warning: " + finding.dropFirst(5)) }
                console.line("::endgroup::")
            }
            if let stopper = report.stoppedBy {
                let findings = report.stage(stopper)?.findings ?? []
                for finding in findings where finding.hasPrefix("fail ") {
                    console.error(String(finding.dropFirst(5)))
                }
                console.error(
                    "\(stopper.rawValue) failed the data: the run stopped before the components after it (gates.policy decides which findings fail)"
                )
                throw ExitCode(ExitStatus.verdictFailed.rawValue)
            }
        }
    }
}
