import Foundation
import MLOpsCore
import MLOpsTestSupport
import Testing

@testable import XGBoostKit

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
    /// 600 rows × 3 features; the label follows x0, which is missing in every 5th row (NaN),
    /// so the trees split on x0 and its missing values take the default branches.
    static func dataset() -> (values: [Float], labels: [Float]) {
        var generator = SplitMix64(seed: 17)
        var values: [Float] = []
        var labels: [Float] = []
        for row in 0..<600 {
            let x0 = Float(generator.unit())
            let x1 = Float(generator.unit())
            values += [row % 5 == 0 ? .nan : x0, x1, Float(generator.unit())]
            labels.append(x0 + 0.3 * x1 > 0.6 || (row % 5 == 0 && row % 2 == 0) ? 1 : 0)
        }
        return (values, labels)
    }

    static func train(rounds: Int) throws -> (Booster, DMatrix, [Float]) {
        let (values, labels) = dataset()
        let matrix = try DMatrix(values: values, rows: 600, columns: 3)
        try matrix.setLabels(labels)
        let booster = try Booster(
            parameters: [
                ("objective", "binary:logistic"), ("max_depth", "4"), ("eta", "0.3"), ("nthread", "1"),
                ("tree_method", "hist"),
            ], cache: [matrix])
        for round in 0..<rounds { try booster.update(iteration: round, train: matrix) }
        return (booster, matrix, values)
    }

    @Test func eachRoundsTreesPredictWhatXGBoostPredicts() throws {
        let (booster, matrix, values) = try Self.train(rounds: 6)
        var splitsOnMissing = 0
        for round in 0..<6 {
            let trees = try #require(try DecisionTree.trees(of: booster, round: round, features: 3))
            #expect(trees.count == 1)
            splitsOnMissing += trees[0].feature.filter { $0 == 0 }.count
            var ours = [Float](repeating: 0, count: 600)
            values.withUnsafeBufferPointer { values in
                ours.withUnsafeMutableBufferPointer { margins in trees[0].addPredictions(values, to: margins) }
            }
            // XGBoost's margin for one round is the base score plus the same leaf value.
            let theirs = try booster.predictMargins(matrix, rounds: round..<(round + 1))
            let base = theirs[1] - ours[1]
            for row in 0..<600 { #expect(theirs[row] == base + ours[row], "round \(round), row \(row)") }
        }
        #expect(splitsOnMissing > 0, "the trees must split on the feature with missing values")
    }

    @Test func aLinearModelOrATreeOutOfBoundsIsNotRead() throws {
        let (values, labels) = Self.dataset()
        let matrix = try DMatrix(values: values, rows: 600, columns: 3)
        try matrix.setLabels(labels)
        let linear = try Booster(
            parameters: [("booster", "gblinear"), ("objective", "binary:logistic"), ("nthread", "1")], cache: [matrix])
        try linear.update(iteration: 0, train: matrix)
        #expect(throws: XGBoostError.self) { try DecisionTree.trees(of: linear, round: 0, features: 3) }
        // A tree that names a feature the data does not have is refused, not walked.
        let (booster, _, _) = try Self.train(rounds: 1)
        #expect(try DecisionTree.trees(of: booster, round: 0, features: 1) == nil)
    }

    @Test func damagedModelBytesAreRefusedNotWalked() throws {
        let (booster, _, _) = try Self.train(rounds: 1)
        let model = [UInt8](try booster.slice(0..<1).serialized(format: "ubj"))
        let parse = { (bytes: [UInt8]) in bytes.withUnsafeBytes { DecisionTree.parse($0, features: 3) } }
        let tree = try #require(parse(model)?.first)
        // Cut short anywhere: refused or read whole, never read past the end.
        for length in stride(from: 0, to: model.count, by: 7) {
            if let trees = parse(Array(model.prefix(length))) { #expect(trees.allSatisfy { $0.features == 3 }) }
        }
        // A child pointing back at the root (a cycle), then at a node out of range.
        let key = Array("left_children".utf8)
        let at = try #require(
            (0...(model.count - key.count)).first { Array(model[$0..<($0 + key.count)]) == key })
        // `[$l#L` + 8-byte count, then the big-endian int32 children: the root's left child first.
        #expect(Array(model[(at + key.count)..<(at + key.count + 5)]) == Array("[$l#L".utf8))
        let first = at + key.count + 5 + 8
        #expect(tree.left[0] > 0 && Array(model[first..<(first + 4)]) == [0, 0, 0, UInt8(tree.left[0])])
        var cycle = model
        cycle.replaceSubrange(first..<(first + 4), with: [0, 0, 0, 0])
        #expect(parse(cycle) == nil)
        var outside = model
        outside.replaceSubrange(first..<(first + 4), with: [0, 0, 0x7F, 0])
        #expect(parse(outside) == nil)
    }
}
