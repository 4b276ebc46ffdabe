import Foundation
import Tabular
import XGBoostKit

/// The eval split's margins kept round by round as XGBoost's prediction cache keeps them, and
/// the binary AUC XGBoost would report from them.
///
/// After round 0 the margins are XGBoost's own (base score plus the first round's trees, from
/// its predictor); each later round's trees are read from the booster (``DecisionTree``) and
/// walked over the eval rows, their leaf values added in the same order and float precision
/// as XGBoost adds them. The AUC is taken over the probabilities XGBoost's float sigmoid gives
/// (`binary:logistic`; margins for `binary:logitraw`), so margins past about 16.6, which all
/// become 1.0, tie exactly as in XGBoost's `auc`.
struct EvalMargins {
    let split: TrainerComponent.Split
    let matrix: DMatrix
    /// Blocks of rows walked at once (the trainer's thread budget).
    let threads: Int
    let logistic: Bool
    private(set) var margins: [Float] = []

    init(split: TrainerComponent.Split, matrix: DMatrix, threads: Int, logistic: Bool) {
        self.split = split
        self.matrix = matrix
        self.threads = threads
        self.logistic = logistic
    }

    /// Adds round `round` (rounds must come in order from 0); false when its trees cannot be
    /// read, and the caller turns to XGBoost's evaluation.
    mutating func add(_ round: Int, of booster: Booster) throws(XGBoostError) -> Bool {
        guard let trees = try DecisionTree.trees(of: booster, round: round, features: matrix.columns) else {
            return false
        }
        if round == 0 {
            margins = try booster.predictMargins(matrix, rounds: 0..<1)
            return margins.count == split.rows
        }
        let columns = matrix.columns
        let rows = split.rows
        let blocks = max(1, min(threads, rows / 65_536))
        split.values.withUnsafeBufferPointer { values in
            margins.withUnsafeMutableBufferPointer { margins in
                nonisolated(unsafe) let margins = margins  // each block adds to its own rows
                _ = concurrentMap(blocks) { block in
                    let range = (rows * block / blocks)..<(rows * (block + 1) / blocks)
                    let part = UnsafeMutableBufferPointer(rebasing: margins[range])
                    let input = UnsafeBufferPointer(
                        rebasing: values[(range.lowerBound * columns)..<(range.upperBound * columns)])
                    for tree in trees { tree.addPredictions(input, to: part) }
                    return block
                }
            }
        }
        return true
    }

    func auc() -> Double {
        ROCAUC.area(scores: logistic ? margins.map(Self.sigmoid) : margins, labels: split.labels)
    }

    /// XGBoost's `common::Sigmoid` in float: 1 / (e^min(−x, 88.7) + 1).
    static func sigmoid(_ x: Float) -> Float { 1 / (expf(min(-x, 88.7)) + 1) }
}
