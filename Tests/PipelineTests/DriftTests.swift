import Foundation
import Pipeline
import Tabular
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

    /// The taxi file's header and rows.
    func taxiLines() throws -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Issue 22 item 2: L-infinity on an integer feature counts its values (it was always 0:
    /// only text columns had value counts). TFDV 1.16.1 gives 0.012131715771230497 for
    /// trip_start_hour on the two halves once its statistics treat the feature as categorical.
    @Test func lInfinityOfAnIntegerCategoricalFeature() throws {
        let lines = try taxiLines()
        let half = (lines.count - 1) / 2
        let first = try table(([lines[0]] + lines[1...half]).joined(separator: "\n") + "\n")
        let second = try table(([lines[0]] + lines[(half + 1)...]).joined(separator: "\n") + "\n")
        let a = try #require(first.column("trip_start_hour"))
        let b = try #require(second.column("trip_start_hour"))
        #expect(Distribution.valueCounts(a).count == 24)
        #expect(abs(Distribution.lInfinity(a, b) - 0.012131715771230497) < 1e-12)
        // In a schema that marks it categorical, ExampleValidator measures it so.
        let schema = try Schema.parse(
            #"feature { name: "trip_start_hour" type: INT int_domain { is_categorical: true } drift_comparator { infinity_norm { threshold: 0.01 } } }"#,
            file: "s.pbtxt")
        let anomalies = ExampleValidator.validate(
            table: second, statistics: StatisticsGenerator.statistics(of: second, name: "b"), schema: schema,
            previous: .init(table: first, statistics: StatisticsGenerator.statistics(of: first, name: "a"), label: "a"))
        let measured = try #require(anomalies.measurements.first)
        #expect(measured.type == .lInfinity && abs(measured.value - 0.012131715771230497) < 1e-12)
        #expect(anomalies.features["trip_start_hour"]?.reasons.map(\.type) == ["COMPARATOR_L_INFTY_HIGH"])
    }

    /// Issue 22 item 2: a feature that was constant and becomes another constant is the whole
    /// way apart (it scored 0: both point masses landed in one union bucket). TFDV 1.16.1: 1.0,
    /// and 0.0 for the same constant.
    @Test func aConstantThatBecomesAnotherConstantScoresOne() throws {
        let ones = try table("x\n" + String(repeating: "1.0\n", count: 200))
        let fives = try table("x\n" + String(repeating: "5.0\n", count: 200))
        func standard(_ t: DataTable) throws -> Histogram {
            try #require(StatisticsGenerator.statistics(of: t, name: "t").feature("x")?.numeric?.histograms.first)
        }
        #expect(Distribution.jensenShannon(try standard(ones), try standard(fives)) == 1)
        #expect(Distribution.jensenShannon(try standard(ones), try standard(ones)) == 0)
        let x1 = try #require(ones.column("x"))
        let x5 = try #require(fives.column("x"))
        #expect(Distribution.jensenShannon(shared: x1, x5) == 1)
        #expect(Distribution.jensenShannon(shared: x1, x1) == 0)
    }

    /// Issue 22 item 2: on shared buckets, two random halves of one file are near 0 (TFDV's
    /// per-side buckets give 0.33 for fare and 0.71 for trip_miles on them), and fares up 80%
    /// are far above the template's threshold 0.1 (TFDV's way: 0.117, below its own halves).
    @Test func sharedBucketsSeparateASampleFromAShift() throws {
        let lines = try taxiLines()
        let header = lines[0]
        var rows = Array(lines.dropFirst())
        var generator = SplitMix(seed: 7)
        rows.shuffle(using: &generator)
        let first = try table(([header] + rows[..<(rows.count / 2)]).joined(separator: "\n") + "\n")
        let second = try table(([header] + rows[(rows.count / 2)...]).joined(separator: "\n") + "\n")
        for feature in ["fare", "trip_miles", "trip_seconds", "trip_start_hour"] {
            let distance = Distribution.jensenShannon(
                shared: try #require(first.column(feature)), try #require(second.column(feature)))
            #expect(distance < 0.01, "\(feature) \(distance)")
        }
        let whole = try table(lines.joined(separator: "\n") + "\n")
        let fareColumn = header.split(separator: ",").firstIndex(of: "fare") ?? 0
        let shifted = rows.map { row in
            var fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[fareColumn] = String(format: "%.2f", (Double(fields[fareColumn]) ?? 0) * 1.8)
            return fields.joined(separator: ",")
        }
        let drifted = try table(([header] + shifted).joined(separator: "\n") + "\n")
        let distance = Distribution.jensenShannon(
            shared: try #require(whole.column("fare")), try #require(drifted.column("fare")))
        #expect(distance > 0.2, "fare ×1.8: \(distance)")
    }
}

extension DriftTests {
    /// An outlier far past the shared range (a sentinel, a unit error) lands in the end bucket
    /// instead of overflowing the bucket index.
    @Test func anOutlierFarPastTheRangeDoesNotOverflow() throws {
        let ints = (0..<200).map { "\($0 % 10)" } + ["9223372036854775807"]
        let a = try table("x\n" + ints.joined(separator: "\n") + "\n")
        let b = try table("x\n" + (0..<200).map { "\($0 % 10)" }.joined(separator: "\n") + "\n")
        let distance = Distribution.jensenShannon(shared: try #require(a.column("x")), try #require(b.column("x")))
        #expect(distance < 0.01, "\(distance)")
        let floats = try table("y\n" + (0..<200).map { "\(Double($0) / 10)" }.joined(separator: "\n") + "\n1e300\n")
        let plain = try table("y\n" + (0..<200).map { "\(Double($0) / 10)" }.joined(separator: "\n") + "\n")
        #expect(
            Distribution.jensenShannon(shared: try #require(floats.column("y")), try #require(plain.column("y"))) < 0.01
        )
    }

    /// A threshold whose measure does not fit the feature is a configuration error (it scored 0
    /// and always passed), and so is a skew feature the serving data lacks.
    @Test func aThresholdThatCannotBeMeasuredIsAConfigurationError() throws {
        let data = try table("fare,company\n1.5,A\n2.5,B\n")
        func error(_ thresholds: ExampleValidator.Thresholds, serving: DataTable? = nil) -> String? {
            do {
                try thresholds.requireColumns(of: data, serving: serving)
                return nil
            } catch { return "\(error)" }
        }
        #expect(
            error(.init(drift: ["fare": DriftThreshold(lInfinity: 0.1)]))?.contains("gates.drift.fare: l_infinity")
                == true)
        #expect(
            error(.init(drift: ["company": DriftThreshold(jensenShannon: 0.1)]))?.contains(
                "gates.drift.company: jensen_shannon") == true)
        #expect(error(.init(drift: ["fare": DriftThreshold(any: 0.1), "company": DriftThreshold(any: 0.1)])) == nil)
        let serving = try table("company\nA\n")
        #expect(
            error(.init(skew: ["fare": DriftThreshold(any: 0.1)]), serving: serving)?.contains(
                "gates.skew (the serving data).fare names a feature the data does not have") == true)
        #expect(error(.init(skew: ["company": DriftThreshold(any: 0.1)]), serving: serving) == nil)
    }
}

/// A seeded generator for reproducible shuffles.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
