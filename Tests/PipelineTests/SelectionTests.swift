import Foundation
import Testing

@testable import Pipeline

/// The selection behind the shared buckets' percentiles: the k-th smallest, as a sort gives it.
@Suite struct SelectionTests {
    @Test func theKthSmallestIsWhatASortGives() {
        var generator = SplitMix(seed: 3)
        for size in [1, 2, 3, 10, 101, 5000] {
            // Many ties, negative values and a wide range.
            let values = (0..<size).map { _ in Double(Int(generator.next() % 50)) - 20 + (size > 100 ? 0.5 : 0) }
            let sorted = values.sorted()
            for k in Set([0, size / 200, size / 2, size - 1 - size / 200, size - 1]) {
                var scratch = values
                #expect(SharedBuckets.select(&scratch, k) == sorted[k], "size \(size), k \(k)")
            }
        }
    }
}
