import Foundation
import Tabular

/// Statistics of one dataset (a file or a split), with TFMD's `DatasetFeatureStatistics`
/// field names in snake_case (docs/statistics.md gives the mapping).
public struct DatasetStatistics: Sendable, Codable, Equatable {
    public let name: String
    public let numExamples: Int
    public let features: [FeatureStatistics]

    enum CodingKeys: String, CodingKey { case name, numExamples = "num_examples", features }

    public func feature(_ name: String) -> FeatureStatistics? { features.first { $0.name == name } }
}

public struct FeatureStatistics: Sendable, Codable, Equatable {
    public let name: String
    public let type: FeatureType
    /// Present and missing counts (TFMD `CommonStatistics.num_non_missing` / `num_missing`).
    public let numNonMissing: Int
    public let numMissing: Int
    public let numeric: NumericStatistics?
    public let string: StringStatistics?

    enum CodingKeys: String, CodingKey {
        case name, type, numNonMissing = "num_non_missing", numMissing = "num_missing", numeric = "num_stats"
        case string = "string_stats"
    }
}

/// TFMD `NumericStatistics`. Mean, standard deviation, min, max, zeros, median and
/// quantiles are over the finite values; NaN and infinities are counted apart. The standard
/// deviation is the population one (divided by N), as TFDV computes it. Quantiles are exact:
/// quantile q is the value at rank ⌊q·(N−1)⌋ (computed in integers) of the sorted values (nearest rank,
/// lower), so there is no approximation error to bound.
public struct NumericStatistics: Sendable, Codable, Equatable {
    public let mean: Double
    public let stdDev: Double
    public let numZeros: Int
    public let min: Double
    public let median: Double
    public let max: Double
    public let numNaN: Int
    public let numInfinite: Int
    /// Quantile boundaries at 0, 10%, …, 100% (11 values).
    public let quantiles: [Double]
    public let histograms: [Histogram]

    enum CodingKeys: String, CodingKey {
        case mean, stdDev = "std_dev", numZeros = "num_zeros", min, median, max, numNaN = "num_nan"
        case numInfinite = "num_infinite", quantiles, histograms
    }
}

/// TFMD `Histogram`: equal-width (`STANDARD`) or equal-count (`QUANTILES`) buckets.
public struct Histogram: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case standard = "STANDARD", quantiles = "QUANTILES" }

    public struct Bucket: Sendable, Codable, Equatable {
        public let lowValue: Double
        public let highValue: Double
        public let sampleCount: Double

        public init(lowValue: Double, highValue: Double, sampleCount: Double) {
            self.lowValue = lowValue
            self.highValue = highValue
            self.sampleCount = sampleCount
        }

        enum CodingKeys: String, CodingKey {
            case lowValue = "low_value", highValue = "high_value", sampleCount = "sample_count"
        }
    }

    public let type: Kind
    public let buckets: [Bucket]

    public init(type: Kind, buckets: [Bucket]) {
        self.type = type
        self.buckets = buckets
    }
}

/// TFMD `StringStatistics`: unique values, the most frequent ones, average length in bytes.
public struct StringStatistics: Sendable, Codable, Equatable {
    public struct FrequentValue: Sendable, Codable, Equatable {
        public let value: String
        public let frequency: Int
    }

    public let unique: Int
    /// The 20 most frequent values, most frequent first; ties by value.
    public let topValues: [FrequentValue]
    public let avgLength: Double

    enum CodingKeys: String, CodingKey { case unique, topValues = "top_values", avgLength = "avg_length" }
}

/// StatisticsGen's executor for one table.
public enum StatisticsGenerator {
    public static let buckets = 10
    public static let topValueCount = 20

    /// Columns are summarised in parallel, one at a time per core.
    public static func statistics(of table: DataTable, name: String) -> DatasetStatistics {
        let columns = table.columns
        let features = concurrentMap(columns.count) { feature(columns[$0], rows: table.rowCount) }
        return DatasetStatistics(name: name, numExamples: table.rowCount, features: features)
    }

    static func feature(_ column: Column, rows: Int) -> FeatureStatistics {
        let present = column.presentCount
        switch column.values {
        case .int(let values):
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present,
                numeric: integers(values, present: column.present), string: nil)
        case .float(let values):
            var finite: [Double] = []
            finite.reserveCapacity(present)
            var numNaN = 0
            var numInfinite = 0
            for (value, isPresent) in zip(values, column.present) where isPresent {
                if value.isFinite {
                    finite.append(value)
                } else if value.isNaN {
                    numNaN += 1
                } else {
                    numInfinite += 1
                }
            }
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present,
                numeric: finiteNumbers(finite, numNaN: numNaN, numInfinite: numInfinite), string: nil)
        case .bytes(let dictionary, let codes):
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present, numeric: nil,
                string: strings(dictionary: dictionary, codes: codes))
        }
    }

    /// Statistics of any numbers: NaN and infinities are counted apart.
    public static func numeric(_ all: [Double]) -> NumericStatistics {
        var numNaN = 0
        var numInfinite = 0
        var values: [Double] = []
        values.reserveCapacity(all.count)
        for value in all {
            if value.isFinite { values.append(value) } else if value.isNaN { numNaN += 1 } else { numInfinite += 1 }
        }
        return finiteNumbers(values, numNaN: numNaN, numInfinite: numInfinite)
    }

    static let empty = NumericStatistics(
        mean: .nan, stdDev: .nan, numZeros: 0, min: .nan, median: .nan, max: .nan, numNaN: 0, numInfinite: 0,
        quantiles: [], histograms: [])

    /// The ranks of the quantile boundaries and of the median among `count` sorted values:
    /// ⌊q·(N−1)⌋ in integers (floating point would put 0.7·90 at 62).
    static func ranks(_ count: Int) -> (quantiles: [Int], median: Int) {
        ((0...buckets).map { $0 * (count - 1) / buckets }, (count - 1) / 2)
    }

    /// Integers whose range is small enough to count each value (months, hours, areas, seconds)
    /// are summarised from their counts in one pass, with the same results as sorting them;
    /// others go through the general path as doubles.
    static func integers(_ values: [Int64], present: [Bool]) -> NumericStatistics {
        var low = Int64.max
        var high = Int64.min
        var count = 0
        for (value, isPresent) in zip(values, present) where isPresent {
            if value < low { low = value }
            if value > high { high = value }
            count += 1
        }
        guard count > 0 else { return empty }
        let (range, overflow) = high.subtractingReportingOverflow(low)
        guard !overflow, range < (1 << 20), range <= Int64(count) * 4 else {
            let doubles = zip(values, present).compactMap { $1 ? Double($0) : nil }
            return finiteNumbers(doubles, numNaN: 0, numInfinite: 0)
        }
        var counts = [Int](repeating: 0, count: Int(range) + 1)
        counts.withUnsafeMutableBufferPointer { counts in
            for (value, isPresent) in zip(values, present) where isPresent { counts[Int(value &- low)] += 1 }
        }
        let distinct = counts.indices.lazy.filter { counts[$0] > 0 }.map { (Double(low + Int64($0)), counts[$0]) }
        return fromCounts(Array(distinct), total: count)
    }

    /// Statistics from (value, count) pairs in ascending order of value.
    static func fromCounts(_ pairs: [(value: Double, count: Int)], total: Int) -> NumericStatistics {
        let n = Double(total)
        var mean = 0.0
        for pair in pairs { mean += pair.value * Double(pair.count) / n }
        var squares = 0.0
        var zeros = 0
        for pair in pairs {
            squares += (pair.value - mean) * (pair.value - mean) * Double(pair.count)
            if pair.value == 0 { zeros = pair.count }
        }
        let (quantileRanks, medianRank) = ranks(total)
        var cumulative = 0
        var index = 0
        func value(at rank: Int) -> Double {
            while cumulative + pairs[index].count <= rank {
                cumulative += pairs[index].count
                index += 1
            }
            return pairs[index].value
        }
        let quantiles = quantileRanks.map(value(at:))
        cumulative = 0
        index = 0
        let median = value(at: medianRank)
        let low = pairs.first?.value ?? .nan
        let high = pairs.last?.value ?? .nan
        let histograms = [
            standardHistogram(pairs, low: low, high: high), quantileHistogram(pairs, boundaries: quantiles),
        ]
        return NumericStatistics(
            mean: mean, stdDev: (squares / n).squareRoot(), numZeros: zeros, min: low, median: median, max: high,
            numNaN: 0, numInfinite: 0, quantiles: quantiles, histograms: histograms)
    }

    /// Statistics of finite values (reorders `values`).
    static func finiteNumbers(_ values: [Double], numNaN: Int, numInfinite: Int) -> NumericStatistics {
        var values = values
        guard !values.isEmpty else {
            return NumericStatistics(
                mean: .nan, stdDev: .nan, numZeros: 0, min: .nan, median: .nan, max: .nan, numNaN: numNaN,
                numInfinite: numInfinite, quantiles: [], histograms: [])
        }
        // Two passes for mean and variance: exact enough to agree with a direct computation to 1e-9.
        let count = Double(values.count)
        var sum = 0.0
        var low = Double.infinity
        var high = -Double.infinity
        var zeros = 0
        for value in values {
            sum += value
            if value < low { low = value }
            if value > high { high = value }
            if value == 0 { zeros += 1 }
        }
        var mean = sum / count
        if !mean.isFinite {
            // Values near ±1.8e308 overflow the sum: divide each by the count first.
            mean = 0
            for value in values { mean += value / count }
        }
        var squares = 0.0
        for value in values { squares += (value - mean) * (value - mean) }
        // Exact quantiles by selection (no full sort): the values at these ranks of the sorted order.
        let (quantileRanks, medianRank) = ranks(values.count)
        let picked = select(&values, ranks: Array(Set(quantileRanks + [medianRank])).sorted())
        let quantiles = quantileRanks.map { picked[$0] ?? .nan }
        let pairs = values.lazy.map { (value: $0, count: 1) }
        return NumericStatistics(
            mean: mean, stdDev: (squares / count).squareRoot(), numZeros: zeros, min: low,
            median: picked[medianRank] ?? .nan, max: high, numNaN: numNaN, numInfinite: numInfinite,
            quantiles: quantiles,
            histograms: [
                standardHistogram(pairs, low: low, high: high), quantileHistogram(pairs, boundaries: quantiles),
            ])
    }

    /// The values that would stand at `ranks` (ascending) if `values` were sorted, found by
    /// quickselect with three-way partitioning (many equal values, like zero tips, stay linear).
    /// Reorders `values`.
    static func select(_ values: inout [Double], ranks: [Int]) -> [Int: Double] {
        var found: [Int: Double] = [:]
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var pending: [(low: Int, high: Int, ranks: ArraySlice<Int>)] = [(0, buffer.count, ranks[...])]
            while let (low, high, wanted) = pending.popLast() {
                guard let target = wanted.dropFirst(wanted.count / 2).first, low < high else { continue }
                var lo = low
                var hi = high
                while true {
                    let a = base[lo], b = base[(lo + hi) / 2], c = base[hi - 1]
                    let pivot = Swift.max(Swift.min(a, b), Swift.min(Swift.max(a, b), c))  // median of three
                    var less = lo
                    var index = lo
                    var greater = hi
                    while index < greater {
                        let value = base[index]
                        if value < pivot {
                            base[index] = base[less]
                            base[less] = value
                            less += 1
                            index += 1
                        } else if value > pivot {
                            greater -= 1
                            base[index] = base[greater]
                            base[greater] = value
                        } else {
                            index += 1
                        }
                    }
                    if target < less {
                        hi = less
                    } else if target >= greater {
                        lo = greater
                    } else {
                        // Every wanted rank inside the block equal to the pivot has the pivot's value.
                        for rank in wanted where rank >= less && rank < greater { found[rank] = pivot }
                        let left = wanted.filter { $0 < less }
                        let right = wanted.filter { $0 >= greater }
                        if !left.isEmpty { pending.append((low, less, left[...])) }
                        if !right.isEmpty { pending.append((greater, high, right[...])) }
                        break
                    }
                }
            }
        }
        return found
    }

    /// `buckets` equal-width buckets from min to max; the last bucket includes max.
    static func standardHistogram(
        _ values: some Sequence<(value: Double, count: Int)>, low: Double, high: Double
    ) -> Histogram {
        // Halves keep max − min finite even for values near ±1.8e308.
        let span = high * 0.5 - low * 0.5
        var counts = [Double](repeating: 0, count: buckets)
        for (value, count) in values {
            let position = span > 0 ? (value * 0.5 - low * 0.5) / span * Double(buckets) : 0
            let index = position.isFinite ? Swift.max(0, Swift.min(buckets - 1, Int(position))) : 0
            counts[index] += Double(count)
        }
        let edges = (0...buckets).map { step -> Double in
            let t = Double(step) / Double(buckets)
            return step == buckets ? high : low * (1 - t) + high * t
        }
        return Histogram(
            type: .standard,
            buckets: (0..<buckets).map {
                Histogram.Bucket(lowValue: edges[$0], highValue: edges[$0 + 1], sampleCount: counts[$0])
            })
    }

    /// Buckets between consecutive quantile boundaries, each counting the values in
    /// [low, high) (the last [low, high]), so counts are exact even with repeated values.
    static func quantileHistogram(
        _ values: some Sequence<(value: Double, count: Int)>, boundaries: [Double]
    ) -> Histogram {
        guard boundaries.count == buckets + 1 else { return Histogram(type: .quantiles, buckets: []) }
        var counts = [Double](repeating: 0, count: buckets)
        for (value, count) in values { counts[quantileBucket(value, boundaries: boundaries)] += Double(count) }
        return Histogram(
            type: .quantiles,
            buckets: (0..<buckets).map {
                Histogram.Bucket(lowValue: boundaries[$0], highValue: boundaries[$0 + 1], sampleCount: counts[$0])
            })
    }

    /// The bucket between `boundaries` (ascending, one more than the buckets) that `value`
    /// counts in: the last one whose lower boundary is at or below it (equal boundaries: the
    /// last bucket that starts at or below it; the last bucket also takes its upper boundary).
    /// Below the first boundary it is the first bucket.
    package static func quantileBucket(_ value: Double, boundaries: [Double]) -> Int {
        let buckets = boundaries.count - 1
        var low = 0
        var high = buckets
        while low < high {
            let middle = (low + high + 1) / 2
            if boundaries[middle] <= value { low = middle } else { high = middle - 1 }
        }
        return Swift.min(low, buckets - 1)
    }

    static func strings(dictionary: [String], codes: [Int32]) -> StringStatistics {
        var counts = [Int](repeating: 0, count: dictionary.count)
        for code in codes where code >= 0 { counts[Int(code)] += 1 }
        var totalLength = 0
        var present = 0
        for (index, count) in counts.enumerated() where count > 0 {
            totalLength += dictionary[index].utf8.count * count
            present += count
        }
        let top = counts.indices.filter { counts[$0] > 0 }
            .sorted {
                counts[$0] != counts[$1]
                    ? counts[$0] > counts[$1] : dictionary[$0].utf8.lexicographicallyPrecedes(dictionary[$1].utf8)
            }
            .prefix(topValueCount)
            .map { StringStatistics.FrequentValue(value: dictionary[$0], frequency: counts[$0]) }
        return StringStatistics(
            unique: counts.lazy.filter { $0 > 0 }.count, topValues: Array(top),
            avgLength: present == 0 ? 0 : Double(totalLength) / Double(present))
    }
}
