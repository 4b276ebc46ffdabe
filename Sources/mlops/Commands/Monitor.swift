import ArgumentParser
import Foundation
import MLOpsCore
import Monitoring
import Pipeline
import Release

extension MLOps {
    struct Monitor: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "monitor",
            abstract: "Check the served model's logged traffic for skew, drift and live quality.",
            discussion: """
                Reads the prediction logs `mlops serve` wrote (serving.log, or --logs) for one released \
                model in a window, and checks each feature against the training data's statistics in \
                the model's bundle (skew) and against the window before (drift), with the gate's \
                thresholds (gates.skew, else gates.drift, and the schema's comparators), and the \
                predictions against the eval split's (monitor.predictions). With --labels (CSV or JSON \
                Lines with request_id, optionally row, and the label) it computes the Evaluator's \
                metrics on the labelled rows against evaluation.thresholds. Writes \
                .mlops/reports/monitor.md, monitor-junit.xml, monitor.json and monitor.html. Exit 0 \
                when healthy, 1 when a check fails (docs/monitoring.md).
                """)
        static let jsonSchema = MonitorReport.schemaName

        @OptionGroup var global: GlobalOptions

        @Option(
            help: ArgumentHelp(
                "The released model: NAME@CHANNEL, NAME@VERSION or a bundle file (default: the last of release.channels).",
                valueName: "model"))
        var model: String?

        @Option(
            help: ArgumentHelp(
                "The window: the last DURATION (30m, 24h, 7d; default: monitor.window, 24h).", valueName: "duration"))
        var since: String?

        @Option(help: ArgumentHelp("The window's start, ISO 8601 UTC (with --to).", valueName: "time"))
        var from: String?

        @Option(help: ArgumentHelp("The window's end, ISO 8601 UTC (default: now).", valueName: "time"))
        var to: String?

        @Option(
            help: ArgumentHelp(
                "Labels joined to the logged rows by request_id (and row): CSV with a header, or JSON Lines (.jsonl).",
                valueName: "file"))
        var labels: String?

        @Option(
            help: ArgumentHelp(
                "The prediction log folder or s3://BUCKET/PREFIX (default: serving.log.path, else .mlops/predictions).",
                valueName: "folder"))
        var logs: String?

        @Option(
            name: .customLong("reports"),
            help: ArgumentHelp("Where the reports go (default: .mlops/reports).", valueName: "folder"))
        var reportFolder: String?

        func validate() throws {
            if since != nil, from != nil { throw ValidationError("give --since or --from, not both") }
            if let since, MonitorSection.seconds(since) == nil {
                throw ValidationError("--since '\(since)' is not a duration: write e.g. 30m, 24h or 7d")
            }
            for (flag, value) in [("--from", from), ("--to", to)] {
                if let value, LedgerEvent.parse(value) == nil {
                    throw ValidationError("\(flag) '\(value)' is not a time: write e.g. 2026-12-07T00:00:00Z")
                }
            }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let root = try context.projectRoot()
            let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
            let reference = model ?? "@" + (config.release.channels.last ?? "production")
            let (folder, released) = try context.model(reference)
            let now = Date()
            let end = to.flatMap(LedgerEvent.parse) ?? now
            let start =
                from.flatMap(LedgerEvent.parse)
                ?? end - (MonitorSection.seconds(since ?? config.monitor.window) ?? 86_400)
            guard start < end else { throw ValidationError("the window's start must come before its end") }
            let logLocation = try LogLocation.parse(
                logs.map { $0.lowercased().hasPrefix("s3://") ? $0 : URL(fileURLWithPath: $0).path }
                    ?? config.serving.log?.path ?? ".mlops/predictions",
                root: root, environment: context.environment)
            let inputs = MonitorRun.Inputs(
                bundle: folder.deletingLastPathComponent(), name: released ?? config.pipeline.name,
                logs: logLocation, window: TimeWindow(from: start, to: end),
                labels: labels.map { URL(fileURLWithPath: $0) }, gates: config.gates, evaluation: config.evaluation,
                monitor: config.monitor)
            let began = Date()
            let report = try MonitorRun.perform(inputs) { console.detail($0) }
            let reports = reportFolder.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent(".mlops/reports")
            try report.write(to: reports)
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, ok: report.healthy, result: report))
            } else {
                console.line(
                    console.style("mlops monitor", .cyan, bold: true)
                        + "  \(report.model)@\(report.version ?? "?")  \(report.window.from) to \(report.window.to)")
                console.line(
                    "  \(report.window.rows) rows in \(report.window.requests) requests (the window before: \(report.previous.rows))"
                        + String(format: ", %.2f s", Date().timeIntervalSince(began)))
                for check in report.checks where check.outcome == .failed || check.outcome == .warned {
                    let mark = check.outcome == .failed ? console.style("  ✗ ", .red) : console.style("  ! ", .yellow)
                    console.line(mark + "\(check.name) — \(check.detail)")
                }
                console.line(
                    (report.healthy
                        ? console.style("healthy", .green, bold: true)
                        : console.style("not healthy", .red, bold: true))
                        + "  reports: \(reports.path)/monitor.md, monitor-junit.xml, monitor.json, monitor.html")
            }
            if !report.healthy { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
        }
    }
}
