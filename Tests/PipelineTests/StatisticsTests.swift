import Foundation
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@Suite struct StatisticsTests {
    @Test func handComputedSmallTable() throws {
        let t = try table("x,label\n1,a\n2,b\n3,a\n4,\n0,a\n,c\n")
        let stats = StatisticsGenerator.statistics(of: t, name: "small")
        #expect(stats.numExamples == 6)
        let x = try #require(stats.feature("x"))
        #expect(x.type == .int && x.numNonMissing == 5 && x.numMissing == 1)
        let n = try #require(x.numeric)
        #expect(n.mean == 2 && n.min == 0 && n.max == 4 && n.median == 2 && n.numZeros == 1)
        #expect(abs(n.stdDev - 2.0.squareRoot()) < 1e-12)  // population variance of 0…4 is 2
        #expect(n.quantiles.first == 0 && n.quantiles.last == 4 && n.quantiles.count == 11)
        let standard = try #require(n.histograms.first { $0.type == .standard })
        #expect(standard.buckets.count == 10)
        #expect(standard.buckets.map(\.sampleCount).reduce(0, +) == 5)
        #expect(standard.buckets.last?.highValue == 4 && standard.buckets.last?.sampleCount == 1)
        let quantile = try #require(n.histograms.first { $0.type == .quantiles })
        #expect(quantile.buckets.map(\.sampleCount).reduce(0, +) == 5)
        let label = try #require(stats.feature("label")?.string)
        #expect(label.unique == 3)
        #expect(label.topValues.map(\.value) == ["a", "b", "c"])
        #expect(label.topValues.map(\.frequency) == [3, 1, 1])
        #expect(label.avgLength == 1)
    }

    @Test func quantilesBySelectionEqualSortedRanks() throws {
        var generator = SplitMix64(seed: 9)
        for size in [1, 2, 3, 10, 91, 101, 5000] {
            // Many repeats (a third zeros), as in real columns like tips.
            let values = (0..<size).map { _ -> Double in
                generator.next() % 3 == 0 ? 0 : Double(generator.next() % 50) / 4
            }
            let numeric = StatisticsGenerator.numeric(values)
            let sorted = values.sorted()
            let expected = (0...10).map { sorted[$0 * (size - 1) / 10] }  // ⌊q·(N−1)⌋ in integers
            #expect(numeric.quantiles == expected, "size \(size)")
            #expect(numeric.median == sorted[(size - 1) / 2])
            let histogram = try #require(numeric.histograms.first { $0.type == .quantiles })
            #expect(histogram.buckets.map(\.sampleCount).reduce(0, +) == Double(size))
        }
    }

    /// Integers of a small range are summarised from counts; the same numbers written as
    /// floats take the general path (selection). Both must agree.
    @Test func countedIntegersAgreeWithTheGeneralPath() throws {
        var generator = SplitMix64(seed: 3)
        for (size, range) in [(1, 1), (7, 3), (1000, 24), (20000, 86400), (5000, 2)] {
            var text = "i,f\n"
            for row in 0..<size {
                let value = Int(generator.next() % UInt64(range)) - (row % 5 == 0 ? range / 2 : 0)
                text += row % 13 == 7 ? ",\n" : "\(value),\(value).0\n"
            }
            let stats = StatisticsGenerator.statistics(of: try table(text), name: "t")
            let counted = try #require(stats.feature("i")?.numeric)
            let general = try #require(stats.feature("f")?.numeric)
            #expect(stats.feature("i")?.type == .int && stats.feature("f")?.type == .float)
            #expect(counted.quantiles == general.quantiles, "size \(size)")
            #expect(counted.histograms == general.histograms, "size \(size)")
            #expect(counted.min == general.min && counted.max == general.max && counted.median == general.median)
            #expect(counted.numZeros == general.numZeros)
            #expect(abs(counted.mean - general.mean) <= 1e-9 * max(1, abs(general.mean)) || general.mean.isNaN)
            #expect(abs(counted.stdDev - general.stdDev) <= 1e-9 * max(1, general.stdDev) || general.stdDev.isNaN)
        }
    }

    @Test func theSeventhDecileOf91ValuesIsRank63() {
        // 0.7 × 90 is 62.999… in floating point; the rank is 63.
        let numeric = StatisticsGenerator.numeric((0..<91).map(Double.init))
        #expect(numeric.quantiles[7] == 63)
    }

    @Test func valuesNearTheLimitsOfADoubleDoNotCrash() throws {
        let numeric = StatisticsGenerator.numeric([-1e308, 1e308, 0])
        #expect(numeric.min == -1e308 && numeric.max == 1e308)
        #expect(numeric.mean == 0)
        let histogram = try #require(numeric.histograms.first { $0.type == .standard })
        #expect(histogram.buckets.map(\.sampleCount) == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(histogram.buckets.allSatisfy { $0.lowValue.isFinite && $0.highValue.isFinite })
    }

    @Test func allMissingAndNonFiniteValues() throws {
        let t = try table("empty,v\n,1\n,nan\n,inf\n,3\n")
        let stats = StatisticsGenerator.statistics(of: t, name: "odd")
        #expect(stats.feature("empty")?.numNonMissing == 0)
        #expect(stats.feature("empty")?.numeric?.mean.isNaN == true)
        let v = try #require(stats.feature("v")?.numeric)
        #expect(v.numNaN == 1 && v.numInfinite == 1)
        #expect(v.mean == 2 && v.min == 1 && v.max == 3)
    }

    /// The 15k taxi file against values computed here from the raw text, independently of the reader.
    @Test func taxiAgainstAnIndependentComputation() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let stats = StatisticsGenerator.statistics(of: try CSVReader.read(path: path), name: "taxi")
        #expect(stats.numExamples == rows.count)
        for name in ["fare", "trip_miles", "tips", "trip_seconds", "pickup_latitude"] {
            let index = try #require(header.firstIndex(of: name))
            let values = rows.compactMap { Double($0[index]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
            let numeric = try #require(stats.feature(name)?.numeric)
            #expect(stats.feature(name)?.numNonMissing == values.count, "\(name) count")
            #expect(abs(numeric.mean - mean) <= 1e-9 * max(1, abs(mean)), "\(name) mean")
            #expect(abs(numeric.stdDev - std) <= 1e-9 * max(1, std), "\(name) std dev")
            #expect(numeric.min == values.min() && numeric.max == values.max(), "\(name) min/max")
        }
        let paymentIndex = try #require(header.firstIndex(of: "payment_type"))
        var counts: [String: Int] = [:]
        for row in rows where !row[paymentIndex].isEmpty { counts[String(row[paymentIndex]), default: 0] += 1 }
        let top = try #require(stats.feature("payment_type")?.string?.topValues)
        #expect(top.first?.value == counts.max { $0.value < $1.value }?.key)
        #expect(Dictionary(uniqueKeysWithValues: top.map { ($0.value, $0.frequency) }) == counts)
    }
}
