/// The area under the ROC curve, exactly: the chance that a random positive scores above a
/// random negative, a tie counting half (the trapezoidal ROC area, as XGBoost's `auc`
/// computes it). A label is the row's positive weight and `1 − label` its negative weight,
/// as in XGBoost, so 0/1 labels count rows. NaN when either class has no weight.
///
/// Scores are ordered by an LSD radix sort on their bits (3 passes of 11 bits), not a
/// comparison sort: the Trainer computes this after every boosting round.
public enum ROCAUC {
    public static func area(scores: [Float], labels: [Float]) -> Double {
        precondition(scores.count == labels.count, "one label per score")
        let count = scores.count
        guard count > 0 else { return .nan }
        // Each row as (order key << 32 | label bits): the key sorts as the score does.
        var keys = [UInt64](repeating: 0, count: count)
        var buffer = [UInt64](repeating: 0, count: count)
        var counts = [Int](repeating: 0, count: 3 * 2048)
        scores.withUnsafeBufferPointer { scores in
            labels.withUnsafeBufferPointer { labels in
                for row in 0..<count {
                    let bits = (scores[row] == 0 ? 0 : scores[row]).bitPattern  // -0 ties with +0
                    let key = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
                    keys[row] = UInt64(key) << 32 | UInt64(labels[row].bitPattern)
                    counts[Int(key & 0x7FF)] += 1
                    counts[2048 + Int((key >> 11) & 0x7FF)] += 1
                    counts[4096 + Int(key >> 22)] += 1
                }
            }
        }
        keys.withUnsafeMutableBufferPointer { keys in
            buffer.withUnsafeMutableBufferPointer { buffer in
                counts.withUnsafeMutableBufferPointer { counts in
                    var source = keys
                    var target = buffer
                    for pass in 0..<3 {
                        let shift = UInt64(32 + pass * 11)
                        let base = pass * 2048
                        var total = 0
                        for digit in 0..<2048 {
                            let here = counts[base + digit]
                            counts[base + digit] = total
                            total += here
                        }
                        for value in source {
                            let slot = base + Int((value >> shift) & 0x7FF)
                            target[counts[slot]] = value
                            counts[slot] += 1
                        }
                        swap(&source, &target)
                    }
                    // An odd number of passes leaves the sorted keys in `buffer`: copy them back.
                    _ = keys.update(fromContentsOf: source)
                }
            }
        }
        // From the highest score down, in groups of equal scores: each negative in a group
        // counts the positives above it plus half the group's.
        var positivesAbove = 0.0
        var area = 0.0
        var negatives = 0.0
        keys.withUnsafeBufferPointer { keys in
            var index = count - 1
            while index >= 0 {
                let key = keys[index] >> 32
                var groupPositive = 0.0
                var groupNegative = 0.0
                while index >= 0, keys[index] >> 32 == key {
                    let label = Double(Float(bitPattern: UInt32(truncatingIfNeeded: keys[index])))
                    groupPositive += label
                    groupNegative += 1 - label
                    index -= 1
                }
                area += groupNegative * (positivesAbove + groupPositive / 2)
                positivesAbove += groupPositive
                negatives += groupNegative
            }
        }
        guard positivesAbove > 0, negatives > 0 else { return .nan }
        return area / (positivesAbove * negatives)
    }
}
