import Foundation
import Pipeline
import Testing

@Suite struct DriftTests {
    func histogram(_ buckets: [(Double, Double, Double)]) -> Histogram {
        Histogram(
            type: .standard,
            buckets: buckets.map { Histogram.Bucket(lowValue: $0.0, highValue: $0.1, sampleCount: $0.2) })
    }

    @Test func lInfinityIsTheLargestShareDifference() {
        #expect(Distribution.lInfinity(["a": 1, "b": 1], ["a": 1, "b": 1]) == 0)
        #expect(abs(Distribution.lInfinity(["a": 3, "b": 1], ["a": 1, "b": 1, "c": 2]) - 0.5) < 1e-12)
        #expect(Distribution.lInfinity(["a": 1], ["b": 1]) == 1)
    }

    @Test func jensenShannonBounds() {
        let a = histogram([(0, 1, 10), (1, 2, 10)])
        #expect(Distribution.jensenShannon(a, a) == 0)
        let disjoint = histogram([(5, 6, 4)])
        #expect(abs(Distribution.jensenShannon(a, disjoint) - 1) < 1e-12)
        // Half the mass shared: P = (½, ½, 0), Q = (0, ½, ½) → JSD = ½.
        let shifted = histogram([(1, 2, 10), (2, 3, 10)])
        #expect(abs(Distribution.jensenShannon(a, shifted) - 0.5) < 1e-12)
    }

    /// The first and second half of the 15k taxi file (rows in file order).
    @Test func taxiHalves() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let half = (lines.count - 1) / 2
        let first = try table(([lines[0]] + lines[1...half]).joined(separator: "\n") + "\n")
        let second = try table(([lines[0]] + lines[(half + 1)...]).joined(separator: "\n") + "\n")
        // payment_type: checked against a count made here.
        let column = lines[0].split(separator: ",").firstIndex(of: "payment_type") ?? 0
        func shares(_ rows: ArraySlice<String>) -> [String: Double] {
            var counts: [String: Double] = [:]
            for row in rows {
                counts[String(row.split(separator: ",", omittingEmptySubsequences: false)[column]), default: 0] += 1
            }
            return counts.mapValues { $0 / Double(rows.count) }
        }
        let a = shares(lines[1...half])
        let b = shares(lines[(half + 1)...])
        let expected = Set(a.keys).union(b.keys).map { abs((a[$0] ?? 0) - (b[$0] ?? 0)) }.max() ?? 0
        let lInfinity = Distribution.lInfinity(
            Distribution.valueCounts(try #require(first.column("payment_type"))),
            Distribution.valueCounts(try #require(second.column("payment_type"))))
        #expect(abs(lInfinity - expected) < 1e-12)
        // TFDV 1.16.1 on the same halves (bench/data/tfdv_drift.py): 0.0185309.
        #expect(abs(lInfinity - 0.0185309) < 1e-6)
        // fare: 10 equal-width buckets per half, rebucketed on the union of boundaries.
        let fareA = try #require(
            StatisticsGenerator.statistics(of: first, name: "a").feature("fare")?.numeric?.histograms.first)
        let fareB = try #require(
            StatisticsGenerator.statistics(of: second, name: "b").feature("fare")?.numeric?.histograms.first)
        let jsd = Distribution.jensenShannon(fareA, fareB)
        #expect(abs(jsd - 0.3029) < 5e-4, "fare JSD \(jsd)")
        // TFDV 1.16.1 on the same halves: 0.303923 (its buckets come from a quantile sketch).
        #expect(abs(jsd - 0.303923) < 2e-3, "fare JSD \(jsd)")
    }
}
