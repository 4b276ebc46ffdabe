import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline

/// One gate: the pipeline with the Evaluator and InfraValidator after it, and the four
/// reports written to `.mlops/reports/` (what `mlops gate` does, and `mlops release` first).
struct GateRun {
    let artifacts: RunArtifacts
    let gate: GateReport
    let reports: URL

    var session: PipelineSession { artifacts.session }

    static func perform(_ context: CommandContext, baseline: String?, strict: Bool, command: String) throws -> GateRun {
        let console = context.console
        let session = try PipelineSession.open(context)
        let (config, snapshot, store) = (session.config, session.snapshot, session.store)
        guard let evaluation = config.evaluation, config.trainer != nil else {
            throw ValidationError("mlops.yaml has no trainer or evaluation section: there is nothing to gate")
        }
        let strict = strict || config.gates.strict
        let chosen = try MLOps.Gate.baseline(
            baseline ?? evaluation.baseline.rawValue, store: store, root: session.root, repository: session.repository,
            context: context)
        let base = try session.runner(strict: strict, console: console)
        let runner = PipelineRunner(
            root: session.root, store: store,
            components: base.components + [
                try EvaluatorComponent(section: evaluation, gates: config.gates, baseline: chosen)
            ]
                + (config.infra.enabled
                    ? [
                        try InfraValidatorComponent(
                            section: config.infra, policy: PolicyAction(config.gates, "infra"),
                            executable: MLOps.Gate.executable)
                    ] : []),
            commit: snapshot.commit, fingerprint: { try snapshot.fingerprint($0) })
        SignalWatcher.watch { number, count in
            guard count == 1 else { SignalWatcher.die(of: number) }
            console.warning("interrupted: stopping the model server and the components that are running")
            runner.cancel()
        }
        if console.mode != .json {
            console.line(
                console.style("mlops \(command)", .cyan, bold: true) + "  \(config.pipeline.name) @ "
                    + (snapshot.commit.map { String($0.prefix(8)) } ?? "no commit") + "  baseline: "
                    + (chosen.map { "\($0.reason)" } ?? "none"))
        }
        let width = Component.allCases.map(\.rawValue.count).max() ?? 16
        let report = try runner.run(
            pipeline: config.pipeline.name,
            properties: ["commit": snapshot.commit ?? "", "branch": snapshot.branch ?? "", "command": command],
            options: PipelineRunner.Options(),
            onStage: { stage in
                ProgressBar.clearLine(console: console)
                MLOps.Train.print(stage, width: width, on: console)
            })
        let artifacts = RunArtifacts(session: session, report: report, strict: strict)
        let gate = try artifacts.gateReport(run: report.run)
        let folder = session.root.appendingPathComponent(".mlops/reports", isDirectory: true)
        try gate.write(to: folder)
        try AtomicFile.write(Data(artifacts.html(gate).utf8), to: folder.appendingPathComponent("report.html"))
        if let summary = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty,
            let handle = FileHandle(forWritingAtPath: summary)
        {
            handle.seekToEndOfFile()
            handle.write(Data(gate.markdown().utf8))
            try? handle.close()
        }
        return GateRun(artifacts: artifacts, gate: gate, reports: folder)
    }

    func printVerdict(on console: Console) {
        for check in gate.checks where check.outcome == .failed {
            console.line(console.style("  ✗ ", .red) + "\(check.className): \(check.name) — \(check.detail)")
        }
        console.line(
            (gate.blessed
                ? console.style("blessed", .green, bold: true)
                : console.style("not blessed", .red, bold: true))
                + "  reports: \(reports.path)/gate.md, junit.xml, gate.json, report.html")
    }
}

/// The artifacts of one run, found through the store, and the gate reports made from them.
struct RunArtifacts {
    let session: PipelineSession
    let report: RunReport
    let strict: Bool

    /// The gate's verdict from the artifacts of this run, numbered `run`.
    func gateReport(run: Int64) throws -> GateReport {
        GateReport(
            pipeline: session.config.pipeline.name, commit: session.snapshot.commit, run: run, strict: strict,
            evaluation: try read(EvaluationReport.self, .evaluator, "evaluation", EvaluationReport.fileName),
            infra: try read(InfraReport.self, .infraValidator, "blessing", InfraReport.fileName),
            dataChecks: try read(DataChecks.self, .exampleValidator, "anomalies", DataChecks.fileName),
            dataFingerprints: try MLOps.Gate.dataFingerprints(report, store: session.store))
    }

    func html(_ gate: GateReport) -> String {
        HTMLReport.render(
            gate, history: try? read(TrainingHistory.self, .trainer, "model", TrainingHistory.fileName),
            features: (try? file(.exampleGen, "examples", ExampleGen.metadataFile)).flatMap {
                $0.map(MLOps.Gate.featureComparisons)
            } ?? [])
    }

    /// The stored artifact `output` of `component`'s execution in this run.
    func artifact(_ component: Component, _ output: String) throws -> StoredArtifact? {
        guard let stage = report.stages.first(where: { $0.component == component.rawValue }),
            let execution = stage.execution
        else { return nil }
        return try session.store.artifacts(of: execution, "OUTPUT")[output]
    }

    /// A file of the artifact `output` of `component`'s execution in this run.
    func file(_ component: Component, _ output: String, _ name: String) throws -> URL? {
        try artifact(component, output).map {
            session.root.appendingPathComponent(".mlops").appendingPathComponent($0.uri).appendingPathComponent(name)
        }
    }

    func read<T: Decodable>(_ type: T.Type, _ component: Component, _ output: String, _ name: String) throws -> T? {
        try file(component, output, name).map { try readArtifactJSON(T.self, $0) }
    }
}
