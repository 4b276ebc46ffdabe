import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline
import Release

extension BaselineRequest: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }

    /// A usage error (exit 64) when `--baseline` names a folder without a model.
    func checkFolder() throws {
        guard case .folder(let path) = self else { return }
        let model = URL(fileURLWithPath: path).appendingPathComponent("model.json").path
        guard FileManager.default.fileExists(atPath: model) else {
            throw ValidationError("--baseline: '\(path)' is not a model folder (no model.json)")
        }
    }
}

extension MLOps {
    struct Gate: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "gate",
            abstract: "Evaluate and infra-validate the model: the pass/fail gate for CI, with reports.",
            discussion: """
                Runs what `mlops train` has not (cached otherwise), then the Evaluator (the candidate and \
                the baseline on the same eval rows, per slice, against evaluation.thresholds) and \
                InfraValidator (the real `mlops serve` with the candidate, its answers checked against \
                offline predictions). Writes .mlops/reports/gate.md, junit.xml, gate.json and report.html every time, \
                pass or fail. Exit 0 when the model is blessed by both, 1 when a gate fails; other codes \
                only when it could not evaluate (docs/gates.md).
                """)
        static let jsonSchema = GateReport.schemaName

        @OptionGroup var global: GlobalOptions

        @Option(
            help: ArgumentHelp(
                "The model to compare with: production, latest-blessed, none, or a model folder (default: evaluation.baseline).",
                valueName: "baseline"))
        var baseline: BaselineRequest?

        @Flag(help: "Treat warnings as failures.")
        var strict = false

        @Flag(
            name: .customLong("no-remote-cache"),
            help: "Neither pull from nor push to the remote cache (cache.remote, MLOPS_CACHE).")
        var noRemoteCache = false

        func validate() throws { try baseline?.checkFolder() }

        func run(context: CommandContext) async throws {
            let console = context.console
            let run = try Self.perform(
                context, baseline: baseline, strict: strict, command: "gate", remoteCache: !noRemoteCache)
            try run.project.store.close()
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, ok: run.gate.blessed, result: run.gate))
            } else {
                Self.printVerdict(run, on: console)
            }
            if !run.gate.blessed { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }

        /// The gate with this command's output: a header naming the baseline, a line per
        /// component, SIGINT/SIGTERM stopping the model server and the running components.
        /// `releases` is the caller's session when it has one (`mlops release`), else opened here
        /// with the project's configuration, read once.
        static func perform(
            _ context: CommandContext, baseline: BaselineRequest?, strict: Bool, command: String,
            remoteCache: Bool = true, releases: ReleaseSession? = nil
        ) throws -> GateRun {
            let console = context.console
            let project = try context.project()
            try TrackingHook.check(project)
            var options = GateRun.Options(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                environment: context.environment)
            options.baseline = baseline
            options.strict = strict
            options.command = command
            options.remoteCache = remoteCache
            var events = GateRun.Events()
            events.started = { chosen, none, runner in
                SignalWatcher.watch { number, count in
                    guard count == 1 else { SignalWatcher.die(of: number) }
                    console.warning("interrupted: stopping the model server and the components that are running")
                    runner.cancel()
                }
                guard console.mode != .json else { return }
                console.line(
                    console.style("mlops \(command)", .cyan, bold: true) + "  \(project.config.pipeline.name) @ "
                        + (project.snapshot.commit.map { String($0.prefix(8)) } ?? "no commit") + "  baseline: "
                        + (chosen?.reason ?? "none" + (none.map { " (\($0))" } ?? "")))
            }
            events.stage = StageLine.printer(on: console)
            // The registry gives the production channel's model; one that cannot be opened (a bad
            // release.registry, say) fails the gate with its own status rather than being skipped.
            let session =
                try releases
                ?? ReleaseSession.open(
                    root: project.root, repository: project.repository, environment: context.environment,
                    config: project.config)
            let run = try GateRun.perform(
                project, options: options, releases: session, console: console, events: events)
            try TrackingHook.afterRun(run.artifacts.report.run, project: project, console: console)
            return run
        }

        static func printVerdict(_ run: GateRun, on console: Console) {
            for check in run.gate.checks where check.outcome == .failed {
                console.line(console.style("  ✗ ", .red) + "\(check.className): \(check.name) — \(check.detail)")
            }
            console.line(
                (run.gate.blessed
                    ? console.style("blessed", .green, bold: true)
                    : console.style("not blessed", .red, bold: true))
                    + "  reports: \(run.reports.path)/gate.md, junit.xml, gate.json, report.html")
        }
    }
}
