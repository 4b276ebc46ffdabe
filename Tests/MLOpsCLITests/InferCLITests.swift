import Foundation
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing
import XGBoostKit

/// `mlops infer`: bulk inference through a trained model folder.
@Suite struct InferCLITests {
    /// A trained taxi project and the folder of its model.
    func trained() throws -> (repo: TestRepository, model: URL) {
        let repo = try TrainCLITests().project()
        let trained = try MLOpsProcess.run(["train"], in: repo.directory.url)
        #expect(trained.status == 0, "\(trained.stderr)")
        let folder = repo.directory.url.appendingPathComponent(".mlops/artifacts/Trainer")
        let model = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).first)
        return (repo, folder.appendingPathComponent(model))
    }

    @Test func everyRowIsPredictedInOrderAsTheModelAndTransformPredictIt() throws {
        let (repo, model) = try trained()
        let dir = repo.directory.url
        for file in ["model.json", "transform.json", "schema.pbtxt", "history.json"] {
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), "\(file)")
        }
        // TFX's curated taxi schema lists fewer companies than the data has: by default such a
        // row is refused with its line and field.
        let refused = try MLOpsProcess.run(["infer", "latest", "--input", "data/data.csv", "-o", "preds.csv"], in: dir)
        #expect(refused.status == 65)
        #expect(
            refused.stderr.contains(
                "data/data.csv:205:15: column 'company': '6057 - 24657 Richard Addo' is not among the schema's 50 values"
            ), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("preds.csv").path))
        // Kept, the value goes to the transform as it would in training (an OOV bucket).
        let result = try MLOpsProcess.run(
            ["infer", "latest", "--input", "data/data.csv", "-o", "preds.csv", "--out-of-domain", "keep"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("15002 rows predicted (binary: probability, predicted_class)"))

        // Independently: the saved transform and model, applied with the libraries directly.
        let transform = try JSONDecoder().decode(
            FittedTransform.self, from: Data(contentsOf: model.appendingPathComponent("transform.json")))
        var options = CSVOptions()
        for input in transform.inputs where input.type == .bytes { options.types[input.name] = .bytes }
        let input = try CSVReader.read(path: dir.appendingPathComponent("data/data.csv").path, options: options)
        let features = try transform.apply(to: input).features
        let booster = try Booster(contentsOf: model.appendingPathComponent("model.json").path)
        let expected = try booster.predict(
            try DMatrix(values: features, rows: input.rowCount, columns: transform.featureNames.count))

        let output = try CSVReader.read(path: dir.appendingPathComponent("preds.csv").path, options: options)
        #expect(output.rowCount == 15002)
        #expect(output.columns.map(\.name) == input.columns.map(\.name) + ["probability", "predicted_class"])
        guard case .float(let probabilities)? = output.column("probability")?.values,
            case .int(let classes)? = output.column("predicted_class")?.values,
            case .float(let fares)? = output.column("fare")?.values,
            case .float(let inputFares)? = input.column("fare")?.values
        else {
            Issue.record("unexpected column types in the output")
            return
        }
        #expect(probabilities.map(Float.init) == expected)  // printed in full: read back bit for bit
        #expect(zip(probabilities, classes).allSatisfy { ($0 >= 0.5 ? 1 : 0) == $1 })
        #expect(fares.elementsEqual(inputFares) { $0 == $1 || ($0.isNaN && $1.isNaN) })  // the input order

        let lines = try MLOpsProcess.run(
            ["infer", "latest", "--input", "data/data.csv", "--format", "jsonl", "--out-of-domain", "keep"], in: dir)
        #expect(lines.status == 0, "\(lines.stderr)")
        let objects = lines.stdout.split(separator: "\n")
        #expect(objects.count == 15002)
        let first = try #require(
            try JSONSerialization.jsonObject(with: Data(objects[0].utf8)) as? [String: Any])
        #expect((first["probability"] as? Double).map(Float.init) == expected[0])
        #expect(first["pickup_community_area"] is NSNull)  // missing in the first row
        #expect(lines.stderr.contains("note: 15002 rows predicted"))
    }

    /// Issue 22 item 3: `serving.out_of_domain` in mlops.yaml is the policy infer (and serve,
    /// and InfraValidator) use without the flag; the flag still overrides it.
    @Test func theServingPolicyOfMlopsYamlIsTheDefaultAndTheFlagOverridesIt() throws {
        let (repo, _) = try trained()
        let dir = repo.directory.url
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        func policy(_ value: String) -> String {
            yaml.replacingOccurrences(of: "  out_of_domain: reject ", with: "  out_of_domain: \(value) ")
        }
        #expect(policy("keep") != yaml)
        _ = try repo.write("mlops.yaml", policy("keep"))
        let kept = try MLOpsProcess.run(["infer", "latest", "--input", "data/data.csv", "-o", "preds.csv"], in: dir)
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stdout.contains("15002 rows predicted"), "\(kept.stdout)")
        let refused = try MLOpsProcess.run(
            ["infer", "latest", "--input", "data/data.csv", "-o", "other.csv", "--out-of-domain", "reject"], in: dir)
        #expect(refused.status == 65 && refused.stderr.contains("is not among the schema's 50 values"))
        _ = try repo.write("mlops.yaml", policy("sometimes"))
        let broken = try MLOpsProcess.run(["infer", "latest", "--input", "data/data.csv", "-o", "x.csv"], in: dir)
        #expect(broken.status == 78 && broken.stderr.contains("serving.out_of_domain"), "\(broken.stderr)")
    }

    /// Issue 22 item 6: the decision threshold the Evaluator gates at is stored with the model
    /// and is the one `predicted_class` uses (it was 0.5 in serve and infer whatever was gated).
    @Test func predictedClassUsesTheDecisionThresholdStoredWithTheModel() throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        let edited = yaml.replacingOccurrences(of: "evaluation:\n", with: "evaluation:\n  decision_threshold: 0.8\n")
        #expect(edited != yaml)
        _ = try repo.write("mlops.yaml", edited)
        let trained = try MLOpsProcess.run(["train"], in: dir)
        #expect(trained.status == 0, "\(trained.stderr)")
        let folder = dir.appendingPathComponent(".mlops/artifacts/Trainer")
        let model = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).first)
        let history = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent(model).appendingPathComponent("history.json")))
                as? [String: Any])
        #expect(history["decision_threshold"] as? Double == 0.8)
        let result = try MLOpsProcess.run(
            ["infer", "latest", "--input", "data/data.csv", "-o", "preds.csv", "--out-of-domain", "keep"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let output = try CSVReader.read(path: dir.appendingPathComponent("preds.csv").path)
        guard case .float(let probabilities)? = output.column("probability")?.values,
            case .int(let classes)? = output.column("predicted_class")?.values
        else {
            Issue.record("unexpected column types in the output")
            return
        }
        #expect(zip(probabilities, classes).allSatisfy { ($0 >= 0.8 ? 1 : 0) == $1 })
        // Some rows lie between 0.5 and 0.8: the threshold made a difference.
        #expect(zip(probabilities, classes).contains { $0 >= 0.5 && $0 < 0.8 && $1 == 0 })
    }

    @Test func badRowsMissingColumnsAndMissingModelsAreNamed() throws {
        let (repo, model) = try trained()
        let dir = repo.directory.url
        let data = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
        var lines = data.split(separator: "\n", omittingEmptySubsequences: false).prefix(6).map(String.init)
        // A column the transform needs, missing: exit 65 naming it, and no output file.
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false)
        let fare = try #require(header.firstIndex(of: "fare"))
        let withoutFare = lines.map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != fare }
                .map(\.element).joined(separator: ",")
        }
        _ = try repo.write("nofare.csv", withoutFare.joined(separator: "\n") + "\n")
        let missing = try MLOpsProcess.run(["infer", "latest", "--input", "nofare.csv", "-o", "out.csv"], in: dir)
        #expect(missing.status == 65)
        #expect(missing.stderr.contains("no column 'fare'"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.csv").path))
        // The label (training only) may be absent.
        let tips = try #require(header.firstIndex(of: "tips"))
        let withoutTips = lines.map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != tips }
                .map(\.element).joined(separator: ",")
        }
        _ = try repo.write("serving.csv", withoutTips.joined(separator: "\n") + "\n")
        #expect(try MLOpsProcess.run(["infer", "latest", "--input", "serving.csv"], in: dir).status == 0)

        // A row with a field too many: its line, or skipped and counted.
        lines[3] += ",extra"
        _ = try repo.write("ragged.csv", lines.joined(separator: "\n") + "\n")
        let ragged = try MLOpsProcess.run(["infer", "latest", "--input", "ragged.csv", "-o", "out.csv"], in: dir)
        #expect(ragged.status == 65)
        #expect(ragged.stderr.contains("ragged.csv:4"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.csv").path))
        let skipped = try MLOpsProcess.run(
            ["infer", "latest", "--input", "ragged.csv", "-o", "out.csv", "--on-bad-rows", "skip"], in: dir)
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("skipped 1 bad row: line 4"))
        #expect(skipped.stdout.contains("4 rows predicted"))

        // A model folder without its transform, a project without a model, bad flags.
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.copyItem(at: model, to: broken)
        try FileManager.default.removeItem(at: broken.appendingPathComponent("transform.json"))
        let noTransform = try MLOpsProcess.run(["infer", "broken", "--input", "serving.csv"], in: dir)
        #expect(noTransform.status == 66)
        #expect(noTransform.stderr.contains("has no transform.json"))
        let fresh = try TrainCLITests().project()
        let noModel = try MLOpsProcess.run(["infer", "latest", "--input", "data/data.csv"], in: fresh.directory.url)
        #expect(noModel.status == 66)
        #expect(try MLOpsProcess.run(["infer", "latest", "--input", "x.csv", "--format", "xml"], in: dir).status == 64)
        #expect(try MLOpsProcess.run(["infer", "latest", "--input", "serving.csv", "--json"], in: dir).status == 64)
    }

    @Test func aThreeClassModelGivesAProbabilityPerClass() throws {
        let dir = try TemporaryDirectory()
        #expect(try MLOpsProcess.run(["init", dir.url.path, "--template", "penguins"]).status == 0)
        #expect(try MLOpsProcess.run(["train"], in: dir.url).status == 0)
        let result = try MLOpsProcess.run(["infer", "latest", "--input", "data/penguins.csv"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows[0].suffix(4) == ["probability_0", "probability_1", "probability_2", "predicted_class"])
        for row in rows.dropFirst() {
            let probabilities = row.suffix(4).prefix(3).compactMap(Double.init)
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }
            #expect(best.map(String.init) == row.last)
        }
    }
}
