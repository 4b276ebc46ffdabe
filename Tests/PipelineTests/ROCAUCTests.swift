import Foundation
import MLOpsTestSupport
import Testing
import XGBoostKit

@testable import Pipeline

@Suite struct ROCAUCTests {
    /// The definition, pair by pair: a positive above a negative counts 1, a tie counts half.
    func pairwise(_ scores: [Float], _ labels: [Float]) -> Double {
        var wins = 0.0
        var pairs = 0.0
        for i in scores.indices where labels[i] == 1 {
            for j in scores.indices where labels[j] == 0 {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
            }
        }
        return wins / pairs
    }

    @Test func itIsTheProbabilityAPositiveOutscoresANegativeWithTiesHalf() {
        var random = SplitMix64(seed: 5)
        var scores: [Float] = []
        var labels: [Float] = []
        for _ in 0..<700 {
            // Coarse scores (many ties), both signs, zero of both signs.
            var score = Float((random.unit() * 40).rounded(.down) - 20) / 4
            if score == 0, random.unit() < 0.5 { score = -0.0 }
            scores.append(score)
            labels.append(random.unit() < 0.3 + 0.04 * Double(score + 5) ? 1 : 0)
        }
        #expect(abs(ROCAUC.area(scores: scores, labels: labels) - pairwise(scores, labels)) < 1e-12)
        #expect(ROCAUC.area(scores: [0.1, 0.9, 0.4], labels: [0, 1, 0]) == 1)
        #expect(ROCAUC.area(scores: [0.1, 0.9, 0.4], labels: [1, 0, 1]) == 0)
        #expect(ROCAUC.area(scores: [0.5, 0.5], labels: [1, 0]) == 0.5)
        #expect(ROCAUC.area(scores: [0.2, 0.7], labels: [1, 1]).isNaN)
        #expect(ROCAUC.area(scores: [], labels: []).isNaN)
    }

    /// Weighted: row i is `labels[i]` of a positive and `1 − labels[i]` of a negative; every
    /// pair (a row with itself too) counts by the product of those weights.
    func weightedPairwise(_ scores: [Float], _ labels: [Float]) -> Double {
        var wins = 0.0
        for i in scores.indices {
            for j in scores.indices {
                let weight = Double(labels[i]) * Double(1 - labels[j])
                wins += weight * (scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0)
            }
        }
        let positives = labels.reduce(0.0) { $0 + Double($1) }
        let negatives = labels.reduce(0.0) { $0 + Double(1 - $1) }
        return wins / (positives * negatives)
    }

    @Test func fullPrecisionScoresSpecialValuesAndFractionalLabelsSortExactly() {
        var random = SplitMix64(seed: 13)
        var scores: [Float] = [.infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1e-40]
        while scores.count < 600 {
            // Every bit of the score varies: sign, exponent over a wide range, full mantissa.
            let magnitude = Float(random.unit()) * Float(pow(2.0, Double(random.int(in: -30...30))))
            scores.append(random.unit() < 0.5 ? -magnitude : magnitude)
        }
        scores += scores.prefix(40)  // exact ties among full-precision values too
        let labels = scores.indices.map { _ in
            random.unit() < 0.25 ? Float(random.int(in: 0...4)) / 4 : Float(random.int(in: 0...1))
        }
        #expect(abs(ROCAUC.area(scores: scores, labels: labels) - weightedPairwise(scores, labels)) < 1e-12)
    }

    @Test func saturatedProbabilitiesTieAsInXGBoost() throws {
        // Deep trees, eta 1 and noisy labels: many eval margins pass 16.6, where XGBoost's float
        // sigmoid gives exactly 1 and its AUC sees ties that the margins do not have.
        var random = SplitMix64(seed: 21)
        var values: [Float] = []
        var labels: [Float] = []
        for _ in 0..<3000 {
            let row = (0..<3).map { _ in Float((random.unit() * 8).rounded(.down)) }
            values += row
            labels.append((row[0] + row[1] > 7) != (random.unit() < 0.1) ? 1 : 0)  // 10% flipped
        }
        let train = try DMatrix(values: Array(values[0..<6000]), rows: 2000, columns: 3)
        try train.setLabels(Array(labels[0..<2000]))
        let evalSplit = TrainerComponent.Split(
            values: Array(values[6000...]), labels: Array(labels[2000...]), rows: 1000)
        let eval = try DMatrix(values: evalSplit.values, rows: 1000, columns: 3)
        try eval.setLabels(evalSplit.labels)
        let booster = try Booster(
            parameters: [
                ("objective", "binary:logistic"), ("max_depth", "8"), ("eta", "1"), ("min_child_weight", "0"),
                ("lambda", "0"), ("nthread", "1"), ("eval_metric", "auc"), ("tree_method", "hist"),
            ], cache: [train, eval])
        var own = EvalMargins(split: evalSplit, matrix: eval, threads: 2, logistic: true)
        var saturated = false
        for round in 0..<12 {
            try booster.update(iteration: round, train: train)
            #expect(try own.add(round, of: booster))
            saturated = saturated || own.margins.contains { $0 > 17 }
            let theirs = try #require(try booster.evaluate(iteration: round, on: [("eval", eval)]).first?.1)
            #expect(abs(own.auc() - theirs) < 2e-6, "round \(round)")  // XGBoost prints 6 digits
        }
        #expect(saturated, "the test data must push margins past the sigmoid's saturation")
        // The margins are XGBoost's own, bit for bit.
        #expect(own.margins == (try booster.predictMargins(eval, rounds: 0..<12)))
    }

    @Test func eachMetricIsOptimizedInItsDirection() {
        for metric in ["auc", "aucpr", "map", "map@10", "ndcg@5-", "pre@3", "interval-regression-accuracy"] {
            #expect(TrainerComponent.higherIsBetter(metric), "\(metric)")
        }
        for metric in ["mape", "logloss", "rmse", "mlogloss", "error@0.7", "mae", "poisson-nloglik"] {
            #expect(!TrainerComponent.higherIsBetter(metric), "\(metric)")
        }
    }

    @Test func roundByRoundItAgreesWithXGBoostsAUC() throws {
        var random = SplitMix64(seed: 8)
        var values: [Float] = []
        var labels: [Float] = []
        for _ in 0..<3000 {
            let row = (0..<4).map { _ in Float(random.unit()) }
            values += row
            labels.append(row[0] + 0.3 * row[1] + 0.4 * Float(random.unit()) > 0.8 ? 1 : 0)
        }
        let train = try DMatrix(values: Array(values[0..<8000]), rows: 2000, columns: 4)
        try train.setLabels(Array(labels[0..<2000]))
        let eval = try DMatrix(values: Array(values[8000...]), rows: 1000, columns: 4)
        let evalLabels = Array(labels[2000...])
        try eval.setLabels(evalLabels)
        let booster = try Booster(
            parameters: [
                ("objective", "binary:logistic"), ("max_depth", "4"), ("eta", "0.3"), ("nthread", "1"),
                ("eval_metric", "auc"), ("tree_method", "hist"),
            ], cache: [train, eval])
        var margins = [Float](repeating: 0, count: 1000)
        for round in 0..<15 {
            try booster.update(iteration: round, train: train)
            let added = try booster.predictMargins(eval, rounds: round..<(round + 1))
            for row in margins.indices { margins[row] += added[row] }
            let theirs = try #require(try booster.evaluate(iteration: round, on: [("eval", eval)]).first?.1)
            // XGBoost prints its metric with 5 or 6 significant digits.
            #expect(abs(ROCAUC.area(scores: margins, labels: evalLabels) - theirs) < 1e-5, "round \(round)")
        }
    }
}
