import Crypto
import Foundation
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// A copy of the project with a sample of its data, for `mlops test`: under
/// `.mlops/test-sample/`, each data file cut to its header and first rows at the same path
/// (so the sources' patterns and spans resolve as in the project), the schema copied, every
/// other top-level entry linked, and a store of its own. The real Transform and Trainer run
/// there with few rounds, and the data policy set to ignore (the full files are validated
/// separately).
struct SampleProject {
    /// A check that failed, named as the report names it.
    struct Failure: Error {
        let check: String
        let detail: String
    }

    struct Result {
        var transform: (rows: Int, features: Int, infinite: Int, example: String)?
        var model: (rounds: Int, external: Bool, predictions: Int, nonFinite: Int)?
        /// What the sample run recorded (params, the Trainer's curve), for the project's store.
        var tracking: RunTracking?
    }

    static let transformCheck = "the transform fits on a sample"
    static let trainerCheck = "the trainer trains and predicts on a sample"
    /// Boosting rounds and tuner trials at most, on the sample.
    static let rounds = 10
    static let trials = 2

    let root: URL
    let config: MLOpsConfig

    static func make(root project: URL, config original: MLOpsConfig, rows: Int) throws -> SampleProject {
        let manager = FileManager.default
        let root = project.appendingPathComponent(".mlops/test-sample", isDirectory: true)
        try? manager.removeItem(at: root)
        try manager.createDirectory(at: root, withIntermediateDirectories: true)
        let spans = try SpanResolver.resolve(
            patterns: original.data.sources, selection: original.data.span, root: project)
        let files = spans.flatMap(\.files)
        let dataTops = Set(files.compactMap { $0.split(separator: "/").first.map(String.init) })
        for entry in try manager.contentsOfDirectory(atPath: project.path)
        where entry != ".git" && entry != ".mlops" && !dataTops.contains(entry) {
            try manager.createSymbolicLink(
                at: root.appendingPathComponent(entry), withDestinationURL: project.appendingPathComponent(entry))
        }
        var copies = files.map { ($0, true) }
        if case .file(let schema) = original.schema { copies.append((schema, false)) }
        for (path, cut) in copies {
            let target = root.appendingPathComponent(path)
            guard !manager.fileExists(atPath: target.path) else { continue }
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let data = try Data(contentsOf: project.appendingPathComponent(path))
            try (cut ? head(data, lines: rows + 1) : data).write(to: target)
        }
        var config = original
        config.data.serving = nil
        config.gates.policy = OrderedPairs([("anomalies", .ignore), ("drift", .ignore), ("skew", .ignore)])
        config.gates.strict = false
        if var trainer = config.trainer {
            trainer.rounds = min(trainer.rounds, rounds)
            config.trainer = trainer
        }
        if var tuner = config.tuner {
            tuner.trials = min(tuner.trials, trials)
            config.tuner = tuner
        }
        return SampleProject(root: root, config: config)
    }

    /// The first `lines` lines of a file.
    static func head(_ data: Data, lines: Int) -> Data {
        var seen = 0
        for index in data.indices where data[index] == UInt8(ascii: "\n") {
            seen += 1
            if seen == lines { return data.prefix(through: index) }
        }
        return data
    }

    func run() throws -> Result {
        let metadata = root.appendingPathComponent(".mlops", isDirectory: true)
        try FileManager.default.createDirectory(at: metadata, withIntermediateDirectories: true)
        let store = try SQLiteMetadataStore(path: metadata.appendingPathComponent("store.sqlite").path, busyTimeout: 5)
        defer { try? store.close() }
        let folder = root
        let runner = PipelineRunner(
            root: root, store: store, components: try config.dataComponents(root: root), commit: nil,
            fingerprint: { path in
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(path).path) else {
                    return nil
                }
                return "sha256:" + Hex.string(SHA256.hash(data: data))
            })
        let stages = StageLog()
        let report: RunReport
        do {
            report = try runner.run(
                pipeline: config.pipeline.name, properties: ["command": "test"],
                params: try RunTrackingInfo.params(config: config, components: runner.components.map(\.id)),
                options: PipelineRunner.Options(), onStage: { stages.append($0) })
        } catch {
            let failed = stages.all.last { $0.outcome == .failed }?.component.rawValue ?? "a component"
            let check = failed == Component.transform.rawValue ? Self.transformCheck : Self.trainerCheck
            throw Failure(check: check, detail: "\(failed) failed on the sample: \(error)")
        }
        func artifact(_ component: Component, _ output: String) throws -> URL? {
            guard let execution = report.stage(component)?.execution,
                let artifact = try store.artifacts(of: execution, "OUTPUT")[output]
            else { return nil }
            return root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
        }
        var result = Result()
        result.tracking = try store.tracking(run: report.run)
        if let transformed = try artifact(.transform, "transformed") {
            let names = try FileManager.default.contentsOfDirectory(atPath: transformed.path)
                .filter { $0.hasSuffix(".features.f32") }.sorted()
            var values = 0
            var infinite = 0
            for name in names {
                let data = try Data(contentsOf: transformed.appendingPathComponent(name))
                data.withUnsafeBytes { raw in
                    for index in 0..<(raw.count / 4) {
                        let value = Float(bitPattern: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
                        values += 1
                        if value.isInfinite { infinite += 1 }
                    }
                }
            }
            let features =
                (try? readArtifactJSON(
                    TransformedDescription.self, transformed.appendingPathComponent("transformed.json")))?.features
                .count ?? 0
            result.transform = (
                features > 0 ? values / features : values, features, infinite,
                names.first.map { "in \($0)" } ?? ""
            )
        }
        if let modelFolder = try artifact(.trainer, "model") {
            let model = try ServableModel(folder: modelFolder, threads: 1)
            guard let examples = try artifact(.exampleGen, "examples") else { return result }
            let splits = try readArtifactJSON(
                ExampleGen.Result.self, examples.appendingPathComponent(ExampleGen.metadataFile)
            ).splits
            var predictions = 0
            var nonFinite = 0
            for split in splits {
                let table = try ExamplesFile.read(examples.appendingPathComponent(split.file))
                let predicted = try model.predict(table)
                predictions += predicted.rows
                for row in 0..<predicted.rows
                where predicted.columns.contains(where: { ($0.numbers?[row]).map { !$0.isFinite } ?? false }) {
                    nonFinite += 1
                }
            }
            let history = try? readArtifactJSON(
                TrainingHistory.self, modelFolder.appendingPathComponent(TrainingHistory.fileName))
            result.model = (
                history?.rounds.count ?? config.trainer?.rounds ?? 0, config.trainer?.command != nil, predictions,
                nonFinite
            )
        }
        return result
    }

    /// The stages as they finished (the runner calls back from its threads).
    final class StageLog: @unchecked Sendable {
        private var stages: [StageReport] = []
        private let lock = NSLock()
        func append(_ stage: StageReport) {
            lock.lock()
            stages.append(stage)
            lock.unlock()
        }
        var all: [StageReport] {
            lock.lock()
            defer { lock.unlock() }
            return stages
        }
    }

    /// The part of `transformed.json` the check reads.
    struct TransformedDescription: Decodable {
        let features: [String]
    }
}
