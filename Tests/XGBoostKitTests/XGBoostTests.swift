import Foundation
import MLOpsCore
import MLOpsTestSupport
import Testing
import XGBoostKit

@Suite struct XGBoostTests {
    /// 400 rows × 3 features; label = x0 + 0.5·x1 > 0.75; every 7th x2 is missing (NaN).
    static func dataset() -> (values: [Float], labels: [Float]) {
        var generator = SplitMix64(seed: 7)
        var values: [Float] = []
        var labels: [Float] = []
        for row in 0..<400 {
            let x0 = Float(generator.unit())
            let x1 = Float(generator.unit())
            let x2: Float = row % 7 == 0 ? .nan : Float(generator.unit())
            values += [x0, x1, x2]
            labels.append(x0 + 0.5 * x1 > 0.75 ? 1 : 0)
        }
        return (values, labels)
    }

    static func train(rounds: Int = 10) throws -> (Booster, DMatrix) {
        let (values, labels) = dataset()
        let matrix = try DMatrix(values: values, rows: 400, columns: 3)
        try matrix.setLabels(labels)
        try matrix.setFeatureNames(["x0", "x1", "x2"])
        let booster = try Booster(
            parameters: [
                ("objective", "binary:logistic"), ("max_depth", "3"), ("eta", "0.3"), ("nthread", "1"), ("seed", "0"),
                ("eval_metric", "logloss"), ("tree_method", "hist"),
            ], cache: [matrix])
        try booster.setFeatureNames(["x0", "x1", "x2"])
        for round in 0..<rounds { try booster.update(iteration: round, train: matrix) }
        return (booster, matrix)
    }

    @Test func nanIsMissing() throws {
        let (values, _) = Self.dataset()
        let matrix = try DMatrix(values: values, rows: 400, columns: 3)
        #expect(try matrix.nonMissingCount() == 1200 - 58)  // rows 0, 7, …, 399: 58 of them
    }

    @Test func trainsPredictsAndLearns() throws {
        let (booster, matrix) = try Self.train()
        let predictions = try booster.predict(matrix)
        #expect(predictions.count == 400)
        #expect(predictions.allSatisfy { $0 >= 0 && $0 <= 1 })
        let labels = try matrix.labels()
        let correct = zip(predictions, labels).filter { ($0 > 0.5 ? 1 : 0) == $1 }.count
        #expect(correct > 360, "train accuracy \(correct)/400 is too low for a separable problem")
        let metrics = try booster.evaluate(iteration: 9, on: [("train", matrix)])
        #expect(metrics.count == 1 && metrics[0].0 == "train-logloss")
        #expect(metrics[0].1 > 0 && metrics[0].1 < 0.4)
        #expect(try booster.featureCount() == 3)
        #expect(try booster.boostedRounds() == 10)
    }

    @Test func savedAndReloadedModelsPredictIdentically() throws {
        let (booster, matrix) = try Self.train()
        let expected = try booster.predict(matrix)
        let json = try booster.serialized(format: "json")
        #expect(String(decoding: json.prefix(11), as: UTF8.self) == "{\"learner\":")
        #expect(String(decoding: json, as: UTF8.self).contains("\"feature_names\":[\"x0\",\"x1\",\"x2\"]"))
        let fromBuffer = try Booster(modelData: json)
        #expect(try fromBuffer.predict(matrix) == expected)

        let dir = try TemporaryDirectory()
        let path = dir.appending("model.json").path
        try booster.save(to: path)
        let fromFile = try Booster(contentsOf: path)
        #expect(try fromFile.predict(matrix) == expected)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == json)
    }

    @Test func trainingTwiceGivesTheSameModelBytes() throws {
        let (a, _) = try Self.train()
        let (b, _) = try Self.train()
        #expect(try a.serialized() == b.serialized())
    }

    @Test func badShapesAndParametersAreErrorsWithXGBoostsMessage() throws {
        #expect(throws: XGBoostError.self) { _ = try DMatrix(values: [1, 2, 3], rows: 2, columns: 2) }
        let matrix = try DMatrix(values: [1, 2, 3, 4], rows: 2, columns: 2)
        #expect(throws: XGBoostError.self) { try matrix.setLabels([1]) }
        let booster = try Booster(parameters: [("max_depth", "-3")], cache: [matrix])
        try matrix.setLabels([0, 1])
        do {
            try booster.update(iteration: 0, train: matrix)
            Issue.record("a negative max_depth must be refused")
        } catch {
            #expect(error.function == "XGBoosterUpdateOneIter")
            #expect(error.detail.contains("max_depth"))
        }
        #expect(throws: XGBoostError.self) { _ = try Booster(modelData: Data("not a model".utf8)) }
        #expect(throws: XGBoostError.self) { _ = try Booster(contentsOf: "/nonexistent/model.json") }
    }
}

@Suite struct DecisionTreeTests {
    @Test func eachRoundsTreesPredictWhatXGBoostPredicts() throws {
        let (values, _) = XGBoostTests.dataset()  // every 7th row has a missing value
        let (booster, matrix) = try XGBoostTests.train(rounds: 6)
        for round in 0..<6 {
            let trees = try #require(try DecisionTree.trees(of: booster, round: round, features: 3))
            #expect(trees.count == 1)
            var ours = [Float](repeating: 0, count: 400)
            values.withUnsafeBufferPointer { values in
                ours.withUnsafeMutableBufferPointer { margins in
                    trees[0].addPredictions(values, features: 3, to: margins)
                }
            }
            // XGBoost's margin for one round is the base score plus the same leaf value.
            let theirs = try booster.predictMargins(matrix, rounds: round..<(round + 1))
            let base = theirs[0] - ours[0]
            for row in 0..<400 { #expect(theirs[row] == base + ours[row], "round \(round), row \(row)") }
        }
    }

    @Test func aLinearModelOrATreeOutOfBoundsIsNotRead() throws {
        let (values, labels) = XGBoostTests.dataset()
        let matrix = try DMatrix(values: values, rows: 400, columns: 3)
        try matrix.setLabels(labels)
        let linear = try Booster(
            parameters: [("booster", "gblinear"), ("objective", "binary:logistic"), ("nthread", "1")], cache: [matrix])
        try linear.update(iteration: 0, train: matrix)
        #expect(throws: XGBoostError.self) { try DecisionTree.trees(of: linear, round: 0, features: 3) }
        // A tree that names a feature the data does not have is refused, not walked.
        let (booster, _) = try XGBoostTests.train(rounds: 1)
        #expect(try DecisionTree.trees(of: booster, round: 0, features: 1) == nil)
    }
}
