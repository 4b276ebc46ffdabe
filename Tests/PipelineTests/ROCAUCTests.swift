import Foundation
import MLOpsTestSupport
import Pipeline
import Testing
import XGBoostKit

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
