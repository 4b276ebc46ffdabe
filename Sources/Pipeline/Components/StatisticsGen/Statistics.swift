import Foundation

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
/// the values are sorted, and quantile q is the value at rank ⌊q·(N−1)⌋ (nearest rank,
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

        enum CodingKeys: String, CodingKey {
            case lowValue = "low_value", highValue = "high_value", sampleCount = "sample_count"
        }
    }

    public let type: Kind
    public let buckets: [Bucket]
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

    public static func statistics(of table: CSVTable, name: String) -> DatasetStatistics {
        let features = table.columns.map { column in feature(column, rows: table.rowCount) }
        return DatasetStatistics(name: name, numExamples: table.rowCount, features: features)
    }

    static func feature(_ column: Column, rows: Int) -> FeatureStatistics {
        let present = column.presentCount
        switch column.values {
        case .int(let values):
            let numbers = zip(values, column.present).compactMap { $1 ? Double($0) : nil }
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present,
                numeric: numeric(numbers), string: nil)
        case .float(let values):
            let numbers = zip(values, column.present).compactMap { $1 ? $0 : nil }
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present,
                numeric: numeric(numbers), string: nil)
        case .bytes(let dictionary, let codes):
            return FeatureStatistics(
                name: column.name, type: column.type, numNonMissing: present, numMissing: rows - present, numeric: nil,
                string: strings(dictionary: dictionary, codes: codes))
        }
    }

    static func numeric(_ all: [Double]) -> NumericStatistics {
        let numNaN = all.lazy.filter(\.isNaN).count
        let numInfinite = all.lazy.filter(\.isInfinite).count
        var values = all.filter(\.isFinite)
        values.sort()
        guard let low = values.first, let high = values.last else {
            return NumericStatistics(
                mean: .nan, stdDev: .nan, numZeros: 0, min: .nan, median: .nan, max: .nan, numNaN: numNaN,
                numInfinite: numInfinite, quantiles: [], histograms: [])
        }
        // Two passes for mean and variance: exact enough to agree with a direct computation to 1e-9.
        let count = Double(values.count)
        let mean = values.reduce(0, +) / count
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / count
        let quantiles = (0...buckets).map { values[Int(Double($0) / Double(buckets) * Double(values.count - 1))] }
        return NumericStatistics(
            mean: mean, stdDev: variance.squareRoot(), numZeros: values.lazy.filter { $0 == 0 }.count, min: low,
            median: values[(values.count - 1) / 2], max: high, numNaN: numNaN, numInfinite: numInfinite,
            quantiles: quantiles,
            histograms: [standardHistogram(sorted: values), quantileHistogram(sorted: values, boundaries: quantiles)])
    }

    /// `buckets` equal-width buckets from min to max; the last bucket includes max.
    static func standardHistogram(sorted values: [Double]) -> Histogram {
        guard let low = values.first, let high = values.last else { return Histogram(type: .standard, buckets: []) }
        let width = (high - low) / Double(buckets)
        var counts = [Double](repeating: 0, count: buckets)
        for value in values {
            let index = width > 0 ? Swift.min(buckets - 1, Int((value - low) / width)) : 0
            counts[index] += 1
        }
        let edges = (0...buckets).map { $0 == buckets ? high : low + Double($0) * width }
        return Histogram(
            type: .standard,
            buckets: (0..<buckets).map {
                Histogram.Bucket(lowValue: edges[$0], highValue: edges[$0 + 1], sampleCount: counts[$0])
            })
    }

    /// Buckets between consecutive quantile boundaries, each counting the values in
    /// [low, high) (the last [low, high]), so counts are exact even with repeated values.
    static func quantileHistogram(sorted values: [Double], boundaries: [Double]) -> Histogram {
        guard boundaries.count == buckets + 1 else { return Histogram(type: .quantiles, buckets: []) }
        func lowerBound(_ x: Double) -> Int {
            var low = 0
            var high = values.count
            while low < high {
                let middle = (low + high) / 2
                if values[middle] < x { low = middle + 1 } else { high = middle }
            }
            return low
        }
        var result: [Histogram.Bucket] = []
        for index in 0..<buckets {
            let start = lowerBound(boundaries[index])
            let end = index == buckets - 1 ? values.count : lowerBound(boundaries[index + 1])
            result.append(
                .init(
                    lowValue: boundaries[index], highValue: boundaries[index + 1],
                    sampleCount: Double(max(0, end - start))))
        }
        return Histogram(type: .quantiles, buckets: result)
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
