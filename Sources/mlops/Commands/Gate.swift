import ArgumentParser
import Foundation
import Gates
import GitKit
import MLOpsCore
import Pipeline
import Release

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
        var baseline: String?

        @Flag(help: "Treat warnings as failures.")
        var strict = false

        func run(context: CommandContext) async throws {
            let console = context.console
            let run = try GateRun.perform(context, baseline: baseline, strict: strict, command: "gate")
            try run.session.store.close()
            let gate = run.gate
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, ok: gate.blessed, result: gate))
            } else {
                run.printVerdict(on: console)
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

        /// The model the production channel (the last of release.channels) points at, verified and
        /// unpacked; nil when the registry has none.
        static func production(root: URL, context: CommandContext) throws -> Baseline? {
            guard let session = try? RegistrySession.open(context), let name = session.projectName,
                let channel = session.channels.last
            else { return nil }
            let state = try session.registry.state(name)
            guard let pointer = state.channel(channel), let release = state.release(pointer.version) else { return nil }
            let unpacked = try session.unpacked(release)
            let manifest = try? readArtifactJSON(
                BundleManifest.self, unpacked.appendingPathComponent(BundleManifest.fileName))
            let commit = manifest?.git.commit.map { ", released from commit \($0.prefix(12))" } ?? ""
            return Baseline(
                folder: unpacked.appendingPathComponent("model", isDirectory: true).path,
                reason: "the \(channel) channel: \(name)@\(release.version)\(commit)", identity: release.identity)
        }

        /// The running mlops, which InfraValidator starts as `mlops serve`.
        static var executable: URL {
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }

        /// The baseline `choice` names: a model folder, `none`, the latest blessed model in the
        /// store (`latest-blessed`), or (`auto`, `production`) the production channel's model,
        /// else the model blessed at the merge-base of the change, else the latest blessed one.
        static func baseline(
            _ choice: String, store: MetadataStore, root: URL, repository: Repository, context: CommandContext
        ) throws -> Baseline? {
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
                if choice != "latest-blessed", let production = try production(root: root, context: context) {
                    return production
                }
                guard let newest = blessed.first else { return nil }
                if choice == "latest-blessed" {
                    return pick(newest, "latest blessed model (execution \(newest.execution.id))")
                }
                let channels = "nothing released to the production channel yet"
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
