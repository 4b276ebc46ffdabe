import ArgumentParser
import Foundation
import Gates
import GitKit
import MLOpsCore
import Pipeline

extension MLOps {
    struct Gate: MLOpsCommand {
        static let configuration = CommandConfiguration(
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
        var baseline: String?

        @Flag(help: "Treat warnings as failures.")
        var strict = false

        func run(context: CommandContext) async throws {
            let console = context.console
            let session = try PipelineSession.open(context)
            let (config, snapshot, store) = (session.config, session.snapshot, session.store)
            defer { try? store.close() }
            guard let evaluation = config.evaluation, config.trainer != nil else {
                throw ValidationError("mlops.yaml has no trainer or evaluation section: there is nothing to gate")
            }
            let chosen = try Self.baseline(
                baseline ?? evaluation.baseline.rawValue, store: store, root: session.root,
                repository: session.repository)
            let base = try session.runner(strict: strict || config.gates.strict, console: console)
            let runner = PipelineRunner(
                root: session.root, store: store,
                components: base.components + [
                    try EvaluatorComponent(section: evaluation, gates: config.gates, baseline: chosen)
                ]
                    + (config.infra.enabled
                        ? [try InfraValidatorComponent(section: config.infra, executable: Self.executable)] : []),
                commit: snapshot.commit, fingerprint: { try snapshot.fingerprint($0) })
            SignalWatcher.watch { number, count in
                guard count == 1 else { SignalWatcher.die(of: number) }
                console.warning("interrupted: stopping the model server and the components that are running")
                runner.cancel()
            }
            if console.mode != .json {
                console.line(
                    console.style("mlops gate", .cyan, bold: true) + "  \(config.pipeline.name) @ "
                        + (snapshot.commit.map { String($0.prefix(8)) } ?? "no commit") + "  baseline: "
                        + (chosen.map { "\($0.reason)" } ?? "none"))
            }
            let width = Component.allCases.map(\.rawValue.count).max() ?? 16
            let report = try runner.run(
                pipeline: config.pipeline.name,
                properties: ["commit": snapshot.commit ?? "", "branch": snapshot.branch ?? "", "command": "gate"],
                options: PipelineRunner.Options(),
                onStage: { stage in
                    ProgressBar.clearLine(console: console)
                    Train.print(stage, width: width, on: console)
                })
            /// A file of the artifact `output` of `component`'s execution in this run.
            func file(_ component: Component, _ output: String, _ name: String) throws -> URL? {
                guard let stage = report.stages.first(where: { $0.component == component.rawValue }),
                    let execution = stage.execution,
                    let artifact = try store.artifacts(of: execution, "OUTPUT")[output]
                else { return nil }
                return session.root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
                    .appendingPathComponent(name)
            }
            func read<T: Decodable>(_ type: T.Type, _ component: Component, _ output: String, _ name: String) throws
                -> T?
            {
                try file(component, output, name).map { try readArtifactJSON(T.self, $0) }
            }
            let gate = GateReport(
                pipeline: config.pipeline.name, commit: snapshot.commit, run: report.run,
                strict: strict || config.gates.strict,
                evaluation: try read(EvaluationReport.self, .evaluator, "evaluation", EvaluationReport.fileName),
                infra: try read(InfraReport.self, .infraValidator, "blessing", InfraReport.fileName),
                dataChecks: try read(DataChecks.self, .exampleValidator, "anomalies", DataChecks.fileName),
                dataFingerprints: try Self.dataFingerprints(report, store: store))
            let folder = session.root.appendingPathComponent(".mlops/reports", isDirectory: true)
            try gate.write(to: folder)
            let html = HTMLReport.render(
                gate, history: try? read(TrainingHistory.self, .trainer, "model", TrainingHistory.fileName),
                features: (try? file(.exampleGen, "examples", ExampleGen.metadataFile)).flatMap {
                    $0.map(Self.featureComparisons)
                } ?? [])
            try AtomicFile.write(Data(html.utf8), to: folder.appendingPathComponent("report.html"))
            if let summary = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty,
                let handle = FileHandle(forWritingAtPath: summary)
            {
                handle.seekToEndOfFile()
                handle.write(Data(gate.markdown().utf8))
                try? handle.close()
            }
            try store.close()
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, ok: gate.blessed, result: gate))
            } else {
                for check in gate.checks where check.outcome == .failed {
                    console.line(console.style("  ✗ ", .red) + "\(check.className): \(check.name) — \(check.detail)")
                }
                console.line(
                    (gate.blessed
                        ? console.style("blessed", .green, bold: true)
                        : console.style("not blessed", .red, bold: true))
                        + "  reports: \(folder.path)/gate.md, junit.xml, gate.json, report.html")
            }
            if !gate.blessed { throw ExitCode(ExitStatus.verdictFailed.rawValue) }
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

        /// The data files ExampleGen read with their fingerprints, and its examples artifact's.
        static func dataFingerprints(_ report: RunReport, store: MetadataStore) throws -> [String: String] {
            guard let stage = report.stages.first(where: { $0.component == Component.exampleGen.rawValue }),
                let id = stage.execution
            else { return [:] }
            var fingerprints = try store.execution(id)?.manifest?.paths ?? [:]
            if let examples = stage.outputs["examples"] { fingerprints["(examples artifact)"] = examples }
            return fingerprints
        }

        /// The running mlops, which InfraValidator starts as `mlops serve`.
        static var executable: URL {
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }

        /// The baseline `choice` names: a model folder, `none`, the latest blessed model in the
        /// store (`latest-blessed`), or (`auto`, and `production` until release channels exist)
        /// the model blessed at the merge-base of the change, else the latest blessed one.
        static func baseline(_ choice: String, store: MetadataStore, root: URL, repository: Repository) throws
            -> Baseline?
        {
            switch choice {
            case "none":
                return nil
            case "auto", "production", "latest-blessed":
                // Blessed candidates, newest first, with the commit each was evaluated at.
                var blessed: [(execution: StoredExecution, model: StoredArtifact)] = []
                for execution in try store.allExecutions().reversed()
                where execution.component == Component.evaluator.rawValue && execution.state == .complete {
                    guard try store.artifacts(of: execution.id, "OUTPUT")["blessing"]?.properties["blessed"] == "1",
                        let model = try store.artifacts(of: execution.id, "INPUT")["model"]
                    else { continue }
                    blessed.append((execution, model))
                }
                func pick(_ entry: (execution: StoredExecution, model: StoredArtifact), _ reason: String) -> Baseline {
                    Baseline(
                        folder: root.appendingPathComponent(".mlops").appendingPathComponent(entry.model.uri).path,
                        reason: reason, identity: entry.model.fingerprint)
                }
                guard let newest = blessed.first else { return nil }
                if choice == "latest-blessed" {
                    return pick(newest, "latest blessed model (execution \(newest.execution.id))")
                }
                let channels = "no release channels yet"
                // The base of the change, as `mlops changes` finds it ($GITHUB_BASE_REF, --base's
                // default, the default branch).
                let mergeBase = try? ChangeBase.resolve(
                    in: repository, head: try repository.head(), explicit: nil,
                    environment: ProcessInfo.processInfo.environment
                ).mergeBase
                if let mergeBase, let match = blessed.first(where: { $0.execution.gitCommit == mergeBase.hex }) {
                    return pick(
                        match,
                        "blessed at the merge-base \(mergeBase.short) (execution \(match.execution.id); \(channels))")
                }
                let none = mergeBase.map { "none blessed at the merge-base \($0.short)" } ?? "no merge-base"
                return pick(
                    newest, "latest blessed model (execution \(newest.execution.id); \(none); \(channels))")
            default:
                let folder = URL(fileURLWithPath: choice)
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.json").path) else {
                    throw ValidationError("--baseline: '\(choice)' is not a model folder (no model.json)")
                }
                // The model's and transform's bytes identify it (FNV-1a): a changed folder evaluates again.
                var hash = SplitHash.offsetBasis
                for file in ["model.json", "transform.json"] {
                    let data = (try? Data(contentsOf: folder.appendingPathComponent(file))) ?? Data()
                    hash = data.withUnsafeBytes { SplitHash.fnv1a($0, hash) }
                }
                return Baseline(
                    folder: folder.standardizedFileURL.path, reason: "--baseline \(choice)",
                    identity: "folder:" + String(hash, radix: 16))
            }
        }
    }
}
