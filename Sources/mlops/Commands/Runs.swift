import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Metadata
import Pipeline
import Tracking

extension MLOps {
    struct Runs: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "runs",
            abstract: "The pipeline runs in the store: their parameters, metrics and tags, compared and plotted.",
            discussion: """
                Every `mlops train`, `gate` and `release` is a run. Its parameters are the effective \
                settings of its components, its metrics what they measured (the Trainer's curve by \
                round, the Evaluator's metrics overall and per slice, the Tuner's trials, the infra \
                latencies), its tags where it ran (docs/tracking.md).
                """,
            subcommands: [List.self, Show.self, Diff.self, Plot.self, Sync.self, Import.self],
            defaultSubcommand: List.self)
        static let jsonSchema = "mlops.runs/v2"

        @OptionGroup var global: GlobalOptions

        func run(context: CommandContext) async throws {}

        struct List: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "List the runs, newest first, with chosen metric and parameter columns.",
                discussion: """
                    --filter takes MLflow's search syntax (conditions joined by `and`): \
                    `metrics.auc > 0.9 and params.trainer.max_depth = 6`, `tags.git.branch = 'main'`, \
                    `attributes.status = 'complete'`, `params.trainer.eta LIKE '0.%'`. A run without \
                    the field does not match. --sort takes a field and `asc` (the default) or `desc`.
                    """)
            static let jsonSchema = "mlops.runs/v2"

            @OptionGroup var global: GlobalOptions

            @Option(help: "How many runs to list.")
            var limit = 20

            @Option(
                help: ArgumentHelp(
                    "Extra columns, comma-separated: metrics.NAME, params.NAME, tags.NAME (repeatable).",
                    valueName: "fields"))
            var columns: [String] = []

            @Option(help: ArgumentHelp("Order by a field, e.g. 'metrics.auc desc'.", valueName: "field [asc|desc]"))
            var sort: String?

            @Option(help: ArgumentHelp("Keep the runs that match, in MLflow's search syntax.", valueName: "expression"))
            var filter: String?

            func validate() throws {
                guard limit > 0 else { throw ValidationError("--limit must be at least 1, not \(limit)") }
            }

            struct Row: Encodable {
                let run: RunSummary
                let params: [String: String]
                let metrics: [String: MetricNumber]
                let tags: [String: String]
            }

            func run(context: CommandContext) async throws {
                let fields = try columns.flatMap { $0.split(separator: ",") }.map {
                    try RunField.parse($0.trimmingCharacters(in: .whitespaces))
                }
                let order = try sort.map { try RunOrder($0) }
                let filter = try self.filter.map { try RunFilter($0) }
                let store = try context.store()
                defer { try? store.close() }
                let runs = try RunTable.select(from: store, limit: limit, filter: filter, order: order)
                let console = context.console
                if console.mode == .json {
                    return try console.json(
                        JSONOutput(
                            schema: Self.jsonSchema,
                            result: runs.map { run in
                                Row(
                                    run: run.run, params: run.params,
                                    metrics: run.latestMetrics.mapValues(MetricNumber.init), tags: run.tags)
                            }))
                }
                guard !runs.isEmpty else {
                    return console.line(
                        filter == nil ? "no runs yet: `mlops train` makes the first" : "no run matches the filter")
                }
                let formatter = ISO8601DateFormatter()
                let header =
                    ["run", "started", "commit", "command", "status", "ran", "cached", "failed", "seconds"]
                    + fields.map(\.description)
                let rows = runs.map { tracked -> [String] in
                    let run = tracked.run
                    return [
                        String(run.id), String(formatter.string(from: run.started).prefix(19)),
                        String((run.properties["commit"] ?? "").prefix(8)), run.properties["command"] ?? "",
                        run.properties["status"] ?? "running?", String(run.states["COMPLETE"] ?? 0),
                        String(run.states["CACHED"] ?? 0), String(run.states["FAILED"] ?? 0),
                        run.properties["seconds"] ?? "–",
                    ] + fields.map { RunTable.cell($0, tracked) }
                }
                RunHistory.printTable(header, rows, on: console)
            }
        }

        struct Show: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "show",
                abstract: "One run: its parameters, last metric values, tags, files and executions.")
            static let jsonSchema = "mlops.run-show/v1"

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The run (`mlops runs` lists them).")
            var run: Int64

            func run(context: CommandContext) async throws {
                let store = try context.store()
                defer { try? store.close() }
                guard let tracked = try store.tracking(run: run) else { throw Self.missing(run) }
                let console = context.console
                if console.mode == .json {
                    return try console.json(JSONOutput(schema: Self.jsonSchema, result: tracked))
                }
                let summary = tracked.run
                console.line(
                    console.style("run \(summary.id)", .cyan, bold: true) + "  "
                        + (summary.properties["command"] ?? "") + ", " + (summary.properties["status"] ?? "running?")
                        + ", started " + ISO8601DateFormatter().string(from: summary.started))
                console.line("")
                RunHistory.printTable(
                    ["tag", "value"], tracked.tags.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }, on: console)
                console.line("")
                RunHistory.printTable(
                    ["parameter", "value"], tracked.params.sorted { $0.key < $1.key }.map { [$0.key, $0.value] },
                    on: console)
                console.line("")
                let steps = Dictionary(grouping: tracked.metrics, by: \.key).mapValues(\.count)
                RunHistory.printTable(
                    ["metric", "last value", "steps"],
                    tracked.latestMetrics.sorted { $0.key < $1.key }.map {
                        [$0.key, RunTable.format($0.value), String(steps[$0.key] ?? 1)]
                    }, on: console)
                if !tracked.files.isEmpty {
                    console.line("")
                    RunHistory.printTable(["file", "at"], tracked.files.map { [$0.path, $0.location] }, on: console)
                }
                console.line("")
                RunHistory.printTable(
                    ["execution", "component", "state", "reused"],
                    tracked.executions.map {
                        [String($0.id), $0.component, $0.state.rawValue, $0.cachedFrom.map { "from \($0)" } ?? ""]
                    }, on: console)
            }

            static func missing(_ run: Int64) -> FileError {
                FileError(
                    .missing, path: "run \(run)", detail: "no such run in the store", hint: "`mlops runs` lists them")
            }
        }

        struct Diff: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "diff",
                abstract:
                    "Compare two runs: commits and inputs component by component, then parameters and metrics side by side."
            )
            static let jsonSchema = "mlops.runs-diff/v2"

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The earlier run.")
            var first: Int64

            @Argument(help: "The later run.")
            var second: Int64

            @Flag(help: "Also list the per-slice and baseline metrics (the JSON always has them).")
            var all = false

            func run(context: CommandContext) async throws {
                let store = try context.store()
                defer { try? store.close() }
                let comparison = try RunHistory.compare(first, second, in: store)
                guard context.console.mode == .json else {
                    return RunHistory.print(comparison, on: context.console, allMetrics: all)
                }
                try context.console.json(JSONOutput(schema: Self.jsonSchema, result: comparison))
            }
        }

        struct Plot: MLOpsCommand {
            static let configuration = CommandConfiguration(
                commandName: "plot",
                abstract:
                    "Chart one metric over runs, or over rounds (a training curve), as a self-contained HTML page.",
                discussion: """
                    Over runs: each run's last value, for the runs --filter keeps (the newest --limit). \
                    Over rounds: the metric by step (`eval-auc`, `tuner/score`) for --run, or for each run kept.
                    """)
            static let jsonSchema = "mlops.runs-plot/v1"

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The metric, e.g. auc, eval-auc, infra/p99_ms (`mlops runs show N` lists them).")
            var metric: String

            @Option(help: "What the x axis is: runs or rounds.")
            var over: RunPlot.Axis = .runs

            @Option(help: "Only this run (with --over rounds; repeatable).")
            var run: [Int64] = []

            @Option(help: "How many of the newest runs to look at.")
            var limit = 50

            @Option(help: ArgumentHelp("Keep the runs that match, in MLflow's search syntax.", valueName: "expression"))
            var filter: String?

            @Option(name: .shortAndLong, help: "Where to write the page (default: .mlops/reports/runs-METRIC.html).")
            var output: String?

            struct Output: Encodable {
                let metric: String
                let over: String
                let runs: [Int64]
                let file: String
            }

            func run(context: CommandContext) async throws {
                let filter = try self.filter.map { try RunFilter($0) }
                let root = try context.projectRoot()
                let store = try context.store()
                defer { try? store.close() }
                var runs: [RunTracking]
                if run.isEmpty {
                    runs = try RunTable.select(from: store, limit: limit, filter: filter, order: nil)
                } else {
                    runs = try run.map { id in
                        guard let tracked = try store.tracking(run: id) else { throw Show.missing(id) }
                        return tracked
                    }
                }
                runs = runs.filter { !$0.history(metric).isEmpty }
                guard let page = RunPlot.render(metric: metric, over: over, runs: runs) else {
                    let known = Set(try store.trackings(limit: limit).flatMap { $0.metrics.map(\.key) })
                    let hint = Suggestions.nearest(to: metric, in: Array(known)).map { "did you mean '\($0)'? " } ?? ""
                    throw FileError(
                        .missing, path: "metric \(metric)", detail: "no run looked at has it",
                        hint: hint + "`mlops runs show N` lists a run's metrics")
                }
                let file =
                    output.map { URL(fileURLWithPath: $0, relativeTo: context.startDirectory) }
                    ?? root.appendingPathComponent(
                        ".mlops/reports/runs-\(TrackingKey.clean(metric).replacingOccurrences(of: "/", with: "_")).html"
                    )
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try AtomicFile.write(Data(page.utf8), to: file)
                let console = context.console
                if console.mode == .json {
                    return try console.json(
                        JSONOutput(
                            schema: Self.jsonSchema,
                            result: Output(
                                metric: metric, over: over.rawValue, runs: runs.map(\.run.id), file: file.path)))
                }
                console.line(
                    "\(metric) over \(over.rawValue) of \(runs.count) run\(runs.count == 1 ? "" : "s"): \(file.path)")
            }
        }
    }
}

extension MLOps.Runs {
    /// The MLflow mirror of this project, or a configuration error saying how to name one.
    static func mirror(_ context: CommandContext) throws -> (MLflowMirror, Project) {
        let project = try context.project()
        guard let settings = try TrackingSettings.resolve(config: project.config, environment: context.environment)
        else {
            try? project.store.close()
            throw TrackingSettingError(
                setting: "tracking.mlflow_uri", detail: "no MLflow tracking server is configured",
                hint: "set tracking.mlflow_uri in mlops.yaml, or MLFLOW_TRACKING_URI, to the server's address")
        }
        return (MLflowMirror(settings: settings, store: project.store, root: project.root), project)
    }

    struct Sync: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Send the runs and registry changes waiting in the store's outbox to the MLflow server.",
            discussion: """
                Every run (and release, promotion, rollback) is queued in the store when tracking is \
                on. A run is sent by a detached `mlops runs sync` the command starts (unless \
                tracking.required or tracking.background: false); registry changes are sent before \
                the command returns; what a server that was down or refused did not take waits here. \
                This command first waits for the detached senders still at work, so a CI job that \
                ends with it leaves nothing half sent. Each is sent once: a delivery is held by one \
                sender at a time, and a run tried again finds the MLflow run it made before by its \
                `mlops.run_key` tag. Exits 0 when nothing waits any more.
                """)
        static let jsonSchema = "mlops.runs-sync/v1"

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Only list what waits, sending nothing.")
        var dryRun = false

        @Flag(help: "Exit 0 without doing anything when no MLflow server is configured (for CI templates).")
        var ifConfigured = false

        /// How a command starts its detached sender: what another process is sending is left
        /// to it, and each line carries the time (the output goes to .mlops/tracking/sync.log).
        @Flag(help: .hidden)
        var background = false

        struct Output: Encodable {
            let server: String
            let experiment: String
            let sent: [MLflowMirror.Outcome]
            /// Sent by a detached sender while this sync waited for it.
            let awaited: Int
            let pending: Int
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            if ifConfigured {
                let project = try context.project()
                defer { try? project.store.close() }
                guard try TrackingSettings.resolve(config: project.config, environment: context.environment) != nil
                else { return console.line("tracking is off: no MLflow server is configured, nothing to send") }
            }
            let (mirror, project) = try MLOps.Runs.mirror(context)
            defer { try? project.store.close() }
            let waiting = try project.store.deliveries(pendingOnly: true, limit: 100_000)
            if dryRun {
                if console.mode == .json {
                    return try console.json(JSONOutput(schema: Self.jsonSchema, result: waiting))
                }
                if waiting.isEmpty { return console.line("nothing waits for \(mirror.settings.server.uri)") }
                RunHistory.printTable(
                    ["kind", "subject", "attempts", "being sent by", "last error"],
                    waiting.map {
                        [$0.kind.rawValue, $0.subject, String($0.attempts), $0.claimedBy ?? "", $0.lastError ?? ""]
                    }, on: console
                )
                return
            }
            if background {
                func say(_ text: String) {
                    console.line("\(ISO8601DateFormatter().string(from: Date())) [\(MLflowMirror.holder)] \(text)")
                }
                let report = try mirror.sync(
                    othersSending: .leave,
                    onSent: { outcome in say(TrackingHook.describe(outcome, mirror: mirror, console: console)) })
                for outcome in report.outcomes {
                    if let error = outcome.error { say("\(outcome.subject) not sent: \(error)") }
                }
                if let failure = report.failure { throw failure }
                return
            }
            let report = try mirror.sync { waiting in TrackingHook.announceWait(waiting, console: console) }
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, ok: report.failure == nil,
                        result: Output(
                            server: mirror.settings.server.uri, experiment: mirror.settings.experiment,
                            sent: report.outcomes, awaited: report.awaited, pending: report.pending)))
            } else {
                for outcome in report.outcomes where outcome.error == nil {
                    console.line(TrackingHook.describe(outcome, mirror: mirror, console: console))
                }
                for outcome in report.outcomes where outcome.note != nil {
                    console.warning("tracking: \(outcome.note ?? "")")
                }
                let sent = report.outcomes.filter { $0.error == nil }.count
                console.line(
                    "\(sent) sent to \(mirror.settings.server.uri)"
                        + (report.awaited > 0 ? ", \(report.awaited) by the detached sender this waited for" : "")
                        + ", \(report.pending) waiting" + (waiting.isEmpty ? " (nothing waited)" : ""))
            }
            if let failure = report.failure { throw failure }
        }
    }

    struct Import: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Read an MLflow experiment's runs (params, metrics by step, tags) into the store.",
            discussion: """
                The imported runs are listed, filtered, compared and plotted with the others; their \
                pipeline is `mlflow:EXPERIMENT` and their command `import`. Each MLflow run comes in \
                once; runs this store sent are not brought back.
                """)
        static let jsonSchema = "mlops.runs-import/v1"

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .customLong("from-mlflow"),
            help: ArgumentHelp("The MLflow experiment's name.", valueName: "experiment"))
        var experiment: String

        @Option(help: "Look at most at this many of its runs, oldest first.")
        var limit = 1000

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1, not \(limit)") }
        }

        func run(context: CommandContext) async throws {
            let (mirror, project) = try MLOps.Runs.mirror(context)
            defer { try? project.store.close() }
            let report = try MLflowImport.run(
                experiment: experiment, client: MLflowClient(server: mirror.settings.server), store: project.store,
                limit: limit)
            let console = context.console
            if console.mode == .json { return try console.json(JSONOutput(schema: Self.jsonSchema, result: report)) }
            for run in report.imported {
                console.line(
                    "imported MLflow run \(run.mlflowRun) as run \(run.run) (\(run.params) params, \(run.metrics) metric values)"
                )
            }
            console.line(
                "\(report.imported.count) run\(report.imported.count == 1 ? "" : "s") imported from '\(experiment)'"
                    + (report.skipped > 0 ? ", \(report.skipped) already here" : ""))
        }
    }
}

extension RunPlot.Axis: ExpressibleByArgument {}
