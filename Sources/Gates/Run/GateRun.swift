import Foundation
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// One gate (what `mlops gate` does, and `mlops release` first): the pipeline with the
/// Evaluator and InfraValidator after it, then the four reports written to `.mlops/reports/`
/// (gate.md, junit.xml, gate.json, report.html), pass or fail.
public struct GateRun {
    public let artifacts: RunArtifacts
    public let gate: GateReport
    public let baseline: Baseline?
    /// Where the reports are.
    public let reports: URL

    public var project: Project { artifacts.project }

    public struct Options {
        /// The baseline asked for; nil takes `evaluation.baseline`.
        public var baseline: BaselineRequest?
        /// Warnings fail (also `gates.strict`).
        public var strict = false
        /// The command, recorded with the run (`gate`, `release`).
        public var command = "gate"
        /// Use the remote cache when one is configured (`--no-remote-cache` clears it).
        public var remoteCache = true
        /// The mlops binary InfraValidator starts as `mlops serve`.
        public var executable: URL
        public var environment: [String: String]

        public init(executable: URL, environment: [String: String]) {
            self.executable = executable
            self.environment = environment
        }
    }

    /// What the caller hears while the gate runs.
    public struct Events {
        /// The baseline was chosen and the runner made (to cancel it on a signal).
        public var started: (_ baseline: Baseline?, _ noBaseline: String?, _ runner: PipelineRunner) -> Void = {
            _, _, _ in
        }
        /// A component finished, ran or cached.
        public var stage: @Sendable (StageReport) -> Void = { _ in }
        public init() {}
    }

    /// Runs the gate on `project`: the baseline chosen (`releases` gives the production
    /// channel's model), then the components, then the reports.
    public static func perform(
        _ project: Project, options: Options, releases: (any BaselineSource)?, console: Console?,
        events: Events = Events()
    ) throws -> GateRun {
        let config = project.config
        let strict = options.strict || config.gates.strict
        let (gates, baseline, noBaseline) = try components(project, options: options, releases: releases)
        let runner = try project.runner(
            strict: strict, extra: gates, console: console, remoteCache: options.remoteCache)
        events.started(baseline, noBaseline, runner)
        let snapshot = project.snapshot
        let tracking = try project.tracking(of: runner, command: options.command)
        let report = try runner.run(
            pipeline: config.pipeline.name,
            properties: ["commit": snapshot.commit ?? "", "branch": snapshot.branch ?? "", "command": options.command],
            params: tracking.params, tags: tracking.tags,
            options: {
                var runner = PipelineRunner.Options()
                runner.remoteCache = options.remoteCache
                return runner
            }(), onStage: events.stage)
        let artifacts = RunArtifacts(project: project, report: report, strict: strict)
        let gate = try artifacts.gateReport(run: report.run, noBaseline: noBaseline)
        let folder = project.reports
        try gate.write(to: folder)
        try AtomicFile.write(Data(artifacts.html(gate).utf8), to: folder.appendingPathComponent("report.html"))
        try keepReports(of: report.run, from: folder, in: project, blessed: gate.blessed)
        StepSummary.append(gate.markdown(), environment: options.environment)
        return GateRun(artifacts: artifacts, gate: gate, baseline: baseline, reports: folder)
    }
}

extension GateRun {
    /// The report files of a gate, as `.mlops/reports` has them.
    public static let reportFiles = ["gate.md", "gate.json", "junit.xml", "report.html"]

    /// Copies this run's reports to `.mlops/runs/RUN/reports` (the next gate overwrites
    /// `.mlops/reports`) and records them with the run, with its verdict as a tag, for `mlops
    /// runs show` and the MLflow mirror.
    static func keepReports(of run: Int64, from folder: URL, in project: Project, blessed: Bool) throws {
        let relative = ".mlops/runs/\(run)/reports"
        let kept = project.root.appendingPathComponent(relative, isDirectory: true)
        try FileManager.default.createDirectory(at: kept, withIntermediateDirectories: true)
        var files: [RunFile] = []
        for name in reportFiles {
            let source = folder.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: source.path) else { continue }
            try AtomicFile.write(data, to: kept.appendingPathComponent(name))
            files.append(RunFile(path: "reports/\(name)", location: "\(relative)/\(name)"))
        }
        try project.store.recordRunTracking(
            run, params: [:], tags: ["gate.verdict": blessed ? "blessed" : "not blessed"], files: files)
    }

    /// The Evaluator (with the baseline chosen) and InfraValidator as `mlops.yaml` configures
    /// them, and the baseline or why there is none.
    public static func components(_ project: Project, options: Options, releases: (any BaselineSource)?) throws -> (
        gates: [any PipelineComponent], baseline: Baseline?, noBaseline: String?
    ) {
        let config = project.config
        guard let evaluation = config.evaluation, config.trainer != nil else {
            throw ConfigError.missingSection("trainer or evaluation", purpose: "there is nothing to gate")
        }
        var chooser = BaselineChooser(project: project, releases: releases, environment: options.environment)
        chooser.remoteCache = options.remoteCache
        let (baseline, noBaseline) = try chooser.decide(options.baseline ?? BaselineRequest(evaluation.baseline))
        var gates: [any PipelineComponent] = [
            try EvaluatorComponent(section: evaluation, gates: config.gates, baseline: baseline)
        ]
        if config.infra.enabled {
            gates.append(
                try InfraValidatorComponent(
                    section: config.infra, policy: PolicyAction(config.gates, "infra"),
                    outOfDomain: config.serving.outOfDomain, executable: options.executable))
        }
        return (gates, baseline, noBaseline)
    }
}

/// The artifacts of one run, found through the store, and the gate reports made from them.
public struct RunArtifacts {
    public let project: Project
    public let report: RunReport
    public let strict: Bool

    public init(project: Project, report: RunReport, strict: Bool) {
        self.project = project
        self.report = report
        self.strict = strict
    }

    /// The gate's verdict from the artifacts of this run, numbered `run`.
    public func gateReport(run: Int64, noBaseline: String? = nil) throws -> GateReport {
        GateReport(
            pipeline: project.config.pipeline.name, commit: project.snapshot.commit, run: run, strict: strict,
            evaluation: try read(EvaluationReport.self, .evaluator, "evaluation", EvaluationReport.fileName),
            infra: try read(InfraReport.self, .infraValidator, "blessing", InfraReport.fileName),
            dataChecks: try read(DataChecks.self, .exampleValidator, "anomalies", DataChecks.fileName),
            dataFingerprints: try dataFingerprints(), noBaseline: noBaseline)
    }

    /// The self-contained HTML page of `gate`, with the training curve and train-against-eval plots.
    public func html(_ gate: GateReport) -> String {
        HTMLReport.render(
            gate, history: try? read(TrainingHistory.self, .trainer, "model", TrainingHistory.fileName),
            features: (try? file(.exampleGen, "examples", ExampleGen.metadataFile)).flatMap {
                $0.map(Self.featureComparisons)
            } ?? [])
    }

    /// The stored artifact `output` of `component`'s execution in this run.
    public func artifact(_ component: Component, _ output: String) throws -> StoredArtifact? {
        try project.artifact(component, output, in: report)
    }

    /// A file of the artifact `output` of `component`'s execution in this run.
    public func file(_ component: Component, _ output: String, _ name: String) throws -> URL? {
        try artifact(component, output).map { project.folder(of: $0).appendingPathComponent(name) }
    }

    public func read<T: Decodable>(_ type: T.Type, _ component: Component, _ output: String, _ name: String) throws
        -> T?
    {
        try file(component, output, name).map { try readArtifactJSON(T.self, $0) }
    }

    /// The data files ExampleGen read with their fingerprints, and its examples artifact's.
    func dataFingerprints() throws -> [String: String] {
        guard let stage = report.stage(.exampleGen),
            let id = stage.execution
        else { return [:] }
        var fingerprints = try project.store.execution(id)?.manifest?.paths ?? [:]
        if let examples = stage.outputs["examples"] { fingerprints["(examples artifact)"] = examples }
        return fingerprints
    }

    /// Train against eval, feature by feature, from the examples ExampleGen wrote (`metadata`
    /// is its `examples.json`); none when either split is missing or unreadable.
    static func featureComparisons(metadata: URL) -> [FeatureComparison] {
        guard let result = try? readArtifactJSON(ExampleGen.Result.self, metadata) else { return [] }
        let folder = metadata.deletingLastPathComponent()
        func split(_ name: String) -> DataTable? {
            result.splits.first { $0.name == name }.flatMap {
                try? ExamplesFile.read(folder.appendingPathComponent($0.file))
            }
        }
        guard let train = split("train"), let eval = split("eval") else { return [] }
        return FeatureComparison.compare(train: train, eval: eval)
    }
}
