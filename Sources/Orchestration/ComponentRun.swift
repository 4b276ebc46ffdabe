import Foundation
import Gates
import MLOpsCore
import Metadata
import Pipeline

/// `mlops component run NAME`: exactly one component, as an orchestrator's task runs it in a
/// fresh clone. Its upstream components' outputs are found by their cache keys, in the store
/// or pulled from the remote cache (a missing one is exit 66 naming it); the component runs
/// unless its own key is a hit, its outputs are pushed to the remote cache and its execution
/// recorded. What it made is handed back as output parameters and artifacts
/// (``ComponentOutcome``) for the orchestrator's contract (``KFPExecutorContract``,
/// ``OutputParameterFiles``).
public struct ComponentRun {
    public struct Options {
        public var component: Component
        /// The gate settings (baseline, strictness, remote cache, the binary InfraValidator
        /// serves with); only the Evaluator and InfraValidator use the baseline.
        public var gate: GateRun.Options
        /// With the Tuner: train only this trial of its search plan (1-based), for the Tuner
        /// that gathers every trial to read.
        public var trial: Int?

        public init(component: Component, gate: GateRun.Options, trial: Int? = nil) {
            self.component = component
            self.gate = gate
            self.trial = trial
        }
    }

    public let report: RunReport
    public let outcome: ComponentOutcome

    /// Runs `options.component` of `project` alone. `events.started` hears the runner (to
    /// cancel it on a signal), `events.stage` each component, upstream ones included.
    public static func perform(
        _ project: Project, options: Options, releases: (any BaselineSource)?, console: Console?,
        events: GateRun.Events = GateRun.Events()
    ) throws -> ComponentRun {
        let config = project.config
        let target = options.component
        guard config.components.contains(target.rawValue) else {
            throw PipelineError(
                .invalidGraph(
                    "\(target.rawValue) is not part of this pipeline (mlops.yaml switches on "
                        + config.components.joined(separator: ", ") + ")"))
        }
        let strict = options.gate.strict || config.gates.strict
        var extra: [any PipelineComponent] = []
        var baseline: Baseline?
        var noBaseline: String?
        if target == .evaluator || target == .infraValidator {
            (extra, baseline, noBaseline) = try GateRun.components(project, options: options.gate, releases: releases)
        }
        let runner = try project.runner(
            strict: strict, extra: extra, console: console, remoteCache: options.gate.remoteCache)
        events.started(baseline, noBaseline, runner)
        if options.trial != nil, target != .tuner {
            throw UsageError("--trial goes with the Tuner, not \(target.rawValue)")
        }
        if let number = options.trial,
            let tuner = runner.components.first(where: { $0.id == .tuner }) as? TunerComponent
        {
            try tuner.checkTrial(number)
        }
        var runnerOptions = PipelineRunner.Options()
        runnerOptions.remoteCache = options.gate.remoteCache
        runnerOptions.target = target
        runnerOptions.upstreamOnly = options.trial != nil
        let snapshot = project.snapshot
        let tracking = try project.tracking(of: runner, command: "component run \(target.rawValue)")
        let report = try runner.run(
            pipeline: config.pipeline.name,
            properties: [
                "commit": snapshot.commit ?? "", "branch": snapshot.branch ?? "", "dirty": String(snapshot.dirty),
                "command": "component run \(target.rawValue)",
            ], params: tracking.params, tags: tracking.tags, options: runnerOptions, onStage: events.stage)
        guard let stage = report.stage(target) else {
            throw InternalError("the run of \(target.rawValue) has no stage for it")
        }
        if let number = options.trial, stage.outcome == .skipped, stage.cacheKey != nil,
            !report.stages.contains(where: {
                $0.component != target && ($0.outcome == .failed || $0.outcome == .skipped)
            })
        {
            let started = ContinuousClock.now
            let trial = try runner.runTrial(number, after: report)
            let outcome = ComponentOutcome(
                trial: trial, of: stage, seconds: started.duration(to: .now), location: runner.trials?.location)
            return ComponentRun(report: report, outcome: outcome)
        }
        let outcome = try ComponentOutcome(
            stage: stage, component: runner.components.first { $0.id == target }, project: project,
            remote: runner.remote)
        return ComponentRun(report: report, outcome: outcome)
    }
}

/// What one component's task hands its orchestrator: output parameters (strings, with the
/// blessing as a boolean) and, per output, where its files are with their metadata.
public struct ComponentOutcome: Sendable, Encodable {
    public struct Artifact: Sendable, Encodable {
        public let name: String
        public let type: String
        /// The output's folder in the remote cache (`s3://…/KEY/PUSH/OUTPUT/`) when the outputs
        /// are there, else its folder in this checkout's `.mlops` (`file://…`).
        public let uri: String
        public let fingerprint: String
        public let properties: [String: String]
    }

    public let component: Component
    /// `ran`, `cached`, or `skipped` (an upstream verdict failed).
    public let outcome: StageReport.Outcome
    public let reason: String
    public let cacheKey: String?
    public let execution: Int64?
    /// For the Evaluator and InfraValidator: whether the model is blessed.
    public let blessed: Bool?
    /// `pass` or `fail` when an output has a verdict (ExampleValidator's).
    public let verdict: String?
    public let artifacts: [Artifact]
    /// The trial trained, with `--trial`.
    public var trial: TuningResult.Trial?

    /// The output parameters an orchestrator can read, each a string (the blessing `true` or
    /// `false`): `outcome`, `cache_key`, `execution`, `blessed`, `verdict` (the last two
    /// only for components that have one).
    public var parameters: [String: String] {
        var parameters = [
            "outcome": outcome.rawValue, "cache_key": cacheKey ?? "", "execution": execution.map(String.init) ?? "",
        ]
        if let blessed { parameters["blessed"] = String(blessed) }
        if let verdict { parameters["verdict"] = verdict }
        if let trial {
            parameters["trial"] = String(trial.trial)
            parameters["score"] = trial.score.map { String($0) } ?? ""
        }
        return parameters
    }

    /// Trial `trial` of the Tuner whose (skipped) stage is `stage`, trained alone.
    init(trial: TuningResult.Trial, of stage: StageReport, seconds: Duration, location: String?) {
        component = .tuner
        outcome = .ran
        let score = trial.score.map { String(format: "%.4f", $0) } ?? "none"
        reason =
            "trial \(trial.trial) trained alone (score \(score), \(trial.rounds) rounds, "
            + String(format: "%.1f s", seconds.inSeconds)
            + ")" + (location.map { "; kept in \($0) for the Tuner to gather" } ?? "")
        cacheKey = stage.cacheKey
        execution = nil
        blessed = nil
        verdict = nil
        artifacts = []
        self.trial = trial
    }

    /// The output parameters `component` gives.
    public static func parameterNames(of component: Component) -> Set<String> {
        var names: Set<String> = ["outcome", "cache_key", "execution"]
        if component == .evaluator || component == .infraValidator { names.insert("blessed") }
        if component == .exampleValidator { names.insert("verdict") }
        if component == .tuner { names.formUnion(["trial", "score"]) }
        return names
    }

    enum CodingKeys: String, CodingKey {
        case component, outcome, reason, cacheKey = "cache_key", execution, blessed, verdict, artifacts, parameters
        case trial
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(component.rawValue, forKey: .component)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reason, forKey: .reason)
        try container.encode(cacheKey, forKey: .cacheKey)
        try container.encode(execution, forKey: .execution)
        try container.encode(blessed, forKey: .blessed)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(artifacts, forKey: .artifacts)
        try container.encode(parameters, forKey: .parameters)
        try container.encodeIfPresent(trial, forKey: .trial)
    }

    init(stage: StageReport, component: (any PipelineComponent)?, project: Project, remote: (any RemoteCache)?) throws {
        self.component = stage.component
        outcome = stage.outcome
        reason = stage.reason
        cacheKey = stage.cacheKey
        execution = stage.execution
        verdict = stage.verdict
        trial = nil
        blessed =
            stage.component == .evaluator || stage.component == .infraValidator
            ? stage.properties["blessing"]?["blessed"] == "1" : nil
        // Where the files are: the folder of the push the remote cache's record names when it
        // has this key, else this checkout's .mlops.
        var record: RemoteCacheRecord?
        if let remote, let key = stage.cacheKey, !stage.outputs.isEmpty { record = try? remote.lookup(key) }
        let local = try stage.execution.map { try project.store.artifacts(of: $0, "OUTPUT") } ?? [:]
        artifacts = stage.outputs.sorted { $0.key < $1.key }.map { name, fingerprint in
            Artifact(
                name: name, type: component?.outputs[name] ?? local[name]?.type ?? "Artifact",
                uri: record.flatMap { record in remote.map { $0.outputURL(record, output: name) } }
                    ?? local[name].map { project.folder(of: $0).absoluteString } ?? "",
                fingerprint: fingerprint, properties: stage.properties[name] ?? [:])
        }
    }
}
