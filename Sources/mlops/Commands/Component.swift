import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Orchestration
import Pipeline
import Release

extension Component: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

extension MLOps {
    struct ComponentCommand: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "component", abstract: "One pipeline component at a time, as an orchestrator's task.",
            subcommands: [RunOne.self], defaultSubcommand: RunOne.self)
        static let jsonSchema = "mlops.component-run/v1"

        @OptionGroup var global: GlobalOptions

        func run(context: CommandContext) async throws {}

        struct RunOne: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "run",
                abstract: "Run exactly one component, its inputs found by the upstream components' cache keys.",
                discussion: """
                    What each task of an exported pipeline runs (docs/orchestration.md), in a fresh clone: \
                    the upstream components' outputs are found in the metadata store or pulled from the \
                    remote cache (cache.remote) by their cache keys, never recomputed; one that is not there \
                    is exit 66 naming the component to run first. The component itself runs unless its own \
                    key is a hit (then it says so and does nothing), its outputs are pushed to the remote \
                    cache and its execution recorded. Output parameters (outcome, cache_key, execution, and \
                    blessed for the Evaluator and InfraValidator) go to --output-dir, one file each plus \
                    return.json, or with --executor-input to the files Kubeflow Pipelines names. Exit 1 when \
                    a data verdict fails (ExampleValidator's, or one upstream); a model that is not blessed \
                    exits 0 with blessed=false, for the orchestrator's release condition to read.
                    """)
            static let jsonSchema = ComponentCommand.jsonSchema

            @OptionGroup var global: GlobalOptions

            @Argument(
                help: ArgumentHelp("The component to run, as TFX names it.", valueName: "component"))
            var component: Component

            @Option(
                name: .customLong("executor-input"),
                help: ArgumentHelp(
                    "Kubeflow Pipelines' ExecutorInput JSON (the {{$}} placeholder): outputs go where it says.",
                    valueName: "json"))
            var executorInput: String?

            @Option(
                name: .customLong("output-dir"),
                help: ArgumentHelp(
                    "Write each output parameter to a file of its name here, and all of them to return.json.",
                    valueName: "dir"))
            var outputDirectory: String?

            @OptionGroup var checkout: CheckoutOptions

            @Option(
                help: ArgumentHelp(
                    "The Evaluator's baseline: production, latest-blessed, none, or a model folder.",
                    valueName: "baseline"))
            var baseline: BaselineRequest?

            @Option(
                help: ArgumentHelp(
                    "With the Tuner: train only this trial of its search plan (1-based), for the Tuner run after it to gather.",
                    valueName: "k"))
            var trial: Int?

            @Flag(help: "Treat gate-policy warnings as failures.")
            var strict = false

            @Flag(
                name: .customLong("no-remote-cache"),
                help: "Neither pull from nor push to the remote cache (upstream outputs must then be here).")
            var noRemoteCache = false

            func validate() throws {
                try baseline?.checkFolder()
                if let trial {
                    guard component == .tuner else { throw ValidationError("--trial goes with the Tuner") }
                    guard trial >= 1 else { throw ValidationError("--trial counts from 1, found \(trial)") }
                }
            }

            func run(context: CommandContext) async throws {
                let console = context.console
                // Read before anything runs: a bad contract is a usage error, not a wasted run.
                let contract = try executorInput.map { try KFPExecutorContract(json: $0) }
                let (context, clone) = try context.checkingOut(checkout)
                defer { clone?.removeUnlessKept() }
                let project = try context.project()
                try TrackingHook.check(project)
                defer { try? project.store.close() }
                var gate = GateRun.Options(
                    executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                    environment: context.environment)
                gate.baseline = baseline
                gate.strict = strict
                gate.command = "component run"
                gate.remoteCache = !noRemoteCache
                if let contract {
                    let produced = ComponentOutcome.parameterNames(of: component)
                    let outputs = Set(component.outputs.keys)
                    try contract.check(component: component, parameters: produced, outputs: outputs)
                }
                var events = GateRun.Events()
                let component = component
                events.started = { chosen, none, runner in
                    SignalWatcher.watch { number, count in
                        guard count == 1 else { SignalWatcher.die(of: number) }
                        console.warning("interrupted: stopping \(component.rawValue)")
                        runner.cancel()
                    }
                    guard console.mode != .json else { return }
                    var header =
                        console.style("mlops component run \(component.rawValue)", .cyan, bold: true)
                        + "  \(project.config.pipeline.name) @ "
                        + (project.snapshot.commit.map { String($0.prefix(8)) } ?? "no commit")
                    if component == .evaluator {
                        header += "  baseline: " + (chosen?.reason ?? "none" + (none.map { " (\($0))" } ?? ""))
                    }
                    console.line(header)
                }
                events.stage = StageLine.printer(on: console)
                var releases: ReleaseSession?
                if component == .evaluator || component == .infraValidator {
                    releases = try ReleaseSession.open(
                        root: project.root, repository: project.repository, environment: context.environment,
                        config: project.config)
                }
                let run = try ComponentRun.perform(
                    project, options: ComponentRun.Options(component: component, gate: gate, trial: trial),
                    releases: releases,
                    console: console, events: events)
                try TrackingHook.afterRun(run.report.run, project: project, console: console, detach: false)
                try project.store.close()
                let outcome = run.outcome
                try contract?.write(outcome)
                if let outputDirectory {
                    try OutputParameterFiles.write(outcome, to: URL(fileURLWithPath: outputDirectory))
                }
                let failed = outcome.outcome == .skipped || outcome.verdict == "fail"
                if console.mode == .json {
                    try console.json(JSONOutput(schema: Self.jsonSchema, ok: !failed, result: outcome))
                } else {
                    var line = "\(component.rawValue): \(outcome.outcome.rawValue)"
                    if let blessed = outcome.blessed {
                        line +=
                            ", "
                            + (blessed
                                ? console.style("blessed", .green, bold: true)
                                : console.style("not blessed", .red, bold: true))
                    }
                    if let verdict = outcome.verdict { line += ", verdict \(verdict)" }
                    if outcome.trial != nil { line += ", " + outcome.reason }
                    if let key = outcome.cacheKey { line += console.style("  key \(key.prefix(12))", .dim) }
                    console.line(line)
                }
                if failed { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
            }
        }
    }
}
