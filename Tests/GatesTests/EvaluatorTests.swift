import Foundation
import Gates
import MLOpsTestSupport
import Metadata
import Pipeline
import Tabular
import Testing

/// The Evaluator component on the taxi template, run by the pipeline runner.
@Suite struct EvaluatorTests {
    /// The taxi template copied into a new folder, with `edit` applied to its mlops.yaml.
    final class Project: @unchecked Sendable {
        let dir: TemporaryDirectory
        let store: MetadataStore

        init() throws {
            dir = try TemporaryDirectory()
            let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../templates/taxi").standardized
            for item in ["mlops.yaml", "data", "schema"] {
                try FileManager.default.copyItem(
                    at: template.appendingPathComponent(item), to: dir.appending(item))
            }
            try FileManager.default.createDirectory(at: dir.appending(".mlops"), withIntermediateDirectories: true)
            store = try SQLiteMetadataStore(path: dir.appending(".mlops/store.sqlite").path)
        }

        func config(_ edit: (String) -> String = { $0 }) throws -> MLOpsConfig {
            let text = edit(try String(contentsOf: dir.appending("mlops.yaml"), encoding: .utf8))
            return try MLOpsConfig.parse(yaml: text, file: "mlops.yaml", root: dir.url)
        }

        func run(_ config: MLOpsConfig, baseline: Baseline?) throws -> RunReport {
            let root = dir.url
            let section = try #require(config.evaluation)
            let components =
                try config.dataComponents(root: root)
                + [try EvaluatorComponent(section: section, gates: config.gates, baseline: baseline)]
            let runner = PipelineRunner(
                root: root, store: store, components: components, commit: nil,
                fingerprint: { path in
                    FileManager.default.contents(atPath: root.appendingPathComponent(path).path).map {
                        "content:" + String(decoding: $0, as: UTF8.self)
                    }
                })
            return try runner.run(pipeline: "taxi", properties: [:], options: .init())
        }

        /// An output folder of a stage of `report`.
        func output(_ report: RunReport, _ component: Component, _ name: String) throws -> URL {
            let stage = try #require(report.stage(component))
            let execution = try #require(stage.execution)
            let artifact = try #require(try store.artifacts(of: execution, "OUTPUT")[name])
            return dir.appending(".mlops").appendingPathComponent(artifact.uri)
        }

        func evaluation(_ report: RunReport) throws -> EvaluationReport {
            let file = try output(report, .evaluator, "evaluation").appendingPathComponent(EvaluationReport.fileName)
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(
                positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            return try decoder.decode(EvaluationReport.self, from: Data(contentsOf: file))
        }
    }

    @Test func aFirstModelIsBlessedOnValueThresholdsAndItsMetricsAreExact() throws {
        let project = try Project()
        let report = try project.run(try project.config(), baseline: nil)
        let stage = try #require(report.stage(.evaluator))
        #expect(stage.outcome == .ran, "\(stage)")
        #expect(stage.summary.contains("blessed") && !stage.summary.contains("not blessed"), "\(stage.summary)")
        let evaluation = try project.evaluation(report)
        #expect(evaluation.blessed && evaluation.baseline == nil && evaluation.task == .binary)
        let changes = evaluation.checks.filter { $0.name.contains("vs baseline") }
        #expect(!changes.isEmpty && changes.allSatisfy { $0.outcome == .skipped && $0.detail.hasPrefix("no baseline") })
        #expect(evaluation.candidate.map(\.slice).prefix(2) == ["overall", "payment_type=Cash"])

        // The template holds out a test split: the Evaluator gates on it, not on the eval split
        // early stopping chose the round on (issue 22, item 7).
        #expect(evaluation.split == "test")
        #expect(stage.summary.contains(" test rows, auc "), "\(stage.summary)")
        // Independently: the test split's rows, the label straight from tips and fare, the
        // model's probabilities, and the metrics computed the plain way.
        let examples = try project.output(report, .exampleGen, "examples")
        let eval = try #require(
            try FileManager.default.contentsOfDirectory(atPath: examples.path).first { $0.hasPrefix("test") })
        let table = try ExamplesFile.read(examples.appendingPathComponent(eval))
        let model = try ServableModel(folder: try project.output(report, .trainer, "model"), threads: 1)
        let probabilities = try #require(try model.predict(table).columns.first?.numbers)
        guard case .float(let tips)? = table.column("tips")?.values,
            case .float(let fares)? = table.column("fare")?.values
        else {
            Issue.record("tips and fare should be FLOAT columns")
            return
        }
        var scored: [(p: Double, y: Double)] = []
        for row in 0..<table.rowCount where !tips[row].isNaN && !fares[row].isNaN {
            scored.append((probabilities[row], tips[row] > 0.2 * fares[row] ? 1 : 0))
        }
        let positives = scored.filter { $0.y == 1 }.map(\.p)
        let negatives = scored.filter { $0.y == 0 }.map(\.p)
        var wins = 0.0
        for p in positives {
            for n in negatives { wins += p > n ? 1 : p == n ? 0.5 : 0 }
        }
        let auc = wins / Double(positives.count * negatives.count)
        let logLoss =
            -scored.reduce(0.0) { $0 + ($1.y == 1 ? log(max($1.p, 1e-15)) : log(max(1 - $1.p, 1e-15))) }
            / Double(scored.count)
        let accuracy = Double(scored.filter { ($0.p >= 0.5 ? 1 : 0) == $0.y }.count) / Double(scored.count)
        let overall = try #require(evaluation.candidate.first)
        #expect(evaluation.rows == scored.count && overall.size == scored.count)
        #expect(abs(try #require(overall.metrics["auc"]) - auc) < 1e-9)
        #expect(abs(try #require(overall.metrics["log_loss"]) - logLoss) < 1e-9)
        #expect(abs(try #require(overall.metrics["accuracy"]) - accuracy) < 1e-9)
    }

    @Test func aWorseModelFailsTheChangeThresholdAgainstABetterBaseline() throws {
        let project = try Project()
        let first = try project.run(try project.config(), baseline: nil)
        #expect(try project.evaluation(first).blessed)
        let better = try project.output(first, .trainer, "model")
        // One stump instead of a hundred trees of depth 6, compared with the first model.
        let worse = try project.config {
            $0.replacingOccurrences(of: "rounds: 100", with: "rounds: 1")
                .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1")
        }
        let baseline = Baseline(folder: better.path, reason: "the first model", identity: better.lastPathComponent)
        let second = try project.run(worse, baseline: baseline)
        let stage = try #require(second.stage(.evaluator))
        #expect(stage.outcome == .ran && stage.summary.contains("not blessed"), "\(stage.summary)")
        let evaluation = try project.evaluation(second)
        #expect(!evaluation.blessed && evaluation.baseline == baseline)
        let change = try #require(evaluation.checks.first { $0.name == "auc change >= -0.01 vs baseline" })
        #expect(change.outcome == .failed && change.className == "mlops.gate.evaluation.overall")
        let candidateAUC = try #require(evaluation.candidate.first?.metrics["auc"])
        let baselineAUC = try #require(evaluation.baselineMetrics?.first?.metrics["auc"])
        #expect(candidateAUC < baselineAUC - 0.01)
        #expect(change.detail.contains("against the baseline's \(ThresholdChecks.format(baselineAUC))"))
        // The same candidate against itself passes the change threshold.
        let same = try project.output(second, .trainer, "model")
        let itself = try project.run(
            worse, baseline: Baseline(folder: same.path, reason: "itself", identity: same.lastPathComponent))
        let checks = try project.evaluation(itself).checks.filter { $0.name.contains("vs baseline") }
        #expect(!checks.isEmpty && checks.allSatisfy { $0.outcome == .passed }, "\(checks)")
    }
}
