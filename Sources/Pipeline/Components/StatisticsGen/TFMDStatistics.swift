import Foundation
import SwiftProtobuf
import TFMetadata
import Tabular

/// Statistics as TFMD's `DatasetFeatureStatisticsList`, the message TFDV's `load_statistics`,
/// `visualize_statistics` and Facets read (docs/statistics.md has the field mapping).
///
/// - features are named by `path { step: NAME }`, as TFDV writes them;
/// - text features are `STRING` with `string_stats` (unique, top values, a rank histogram of the
///   top values, average length); numbers are `INT` or `FLOAT` with `num_stats` and two
///   histograms, `STANDARD` (equal width) and `QUANTILES` (the exact deciles), both carrying the
///   NaN count in `num_nan`;
/// - a CSV cell holds one value, so `common_stats` has 1 value per present example;
/// - infinities, which TFMD has no field for, are a custom statistic `num_infinite` when there are any.
extension DatasetStatistics {
    public var tfmd: TFMD_DatasetFeatureStatistics {
        var dataset = TFMD_DatasetFeatureStatistics()
        dataset.name = name
        dataset.numExamples = UInt64(numExamples)
        dataset.features = features.map(\.tfmd)
        return dataset
    }
}

extension FeatureStatistics {
    public var tfmd: TFMD_FeatureNameStatistics {
        var feature = TFMD_FeatureNameStatistics()
        feature.path.step = [name]
        var common = TFMD_CommonStatistics()
        common.numNonMissing = UInt64(numNonMissing)
        common.numMissing = UInt64(numMissing)
        if numNonMissing > 0 {
            common.minNumValues = 1
            common.maxNumValues = 1
            common.avgNumValues = 1
        }
        common.totNumValues = UInt64(numNonMissing)
        switch type {
        case .bytes:
            feature.type = .string
            var stats = TFMD_StringStatistics()
            stats.commonStats = common
            if let string {
                stats.unique = UInt64(string.unique)
                stats.avgLength = Float(string.avgLength)
                stats.topValues = string.topValues.map {
                    var value = TFMD_StringStatistics.FreqAndValue()
                    value.value = $0.value
                    value.frequency = Double($0.frequency)
                    return value
                }
                stats.rankHistogram.buckets = string.topValues.enumerated().map { rank, value in
                    var bucket = TFMD_RankHistogram.Bucket()
                    bucket.lowRank = UInt64(rank)
                    bucket.highRank = UInt64(rank)
                    bucket.label = value.value
                    bucket.sampleCount = Double(value.frequency)
                    return bucket
                }
            }
            feature.stringStats = stats
        case .int, .float:
            feature.type = type == .int ? .int : .float
            var stats = TFMD_NumericStatistics()
            stats.commonStats = common
            if let numeric {
                if !numeric.mean.isNaN {
                    stats.mean = numeric.mean
                    stats.stdDev = numeric.stdDev
                    stats.min = numeric.min
                    stats.median = numeric.median
                    stats.max = numeric.max
                }
                stats.numZeros = UInt64(numeric.numZeros)
                stats.histograms = numeric.histograms.map { histogram in
                    var out = TFMD_Histogram()
                    out.type = histogram.type == .standard ? .standard : .quantiles
                    out.numNan = UInt64(numeric.numNaN)
                    out.buckets = histogram.buckets.map {
                        var bucket = TFMD_Histogram.Bucket()
                        bucket.lowValue = $0.lowValue
                        bucket.highValue = $0.highValue
                        bucket.sampleCount = $0.sampleCount
                        return bucket
                    }
                    return out
                }
                if numeric.numInfinite > 0 {
                    var infinite = TFMD_CustomStatistic()
                    infinite.name = "num_infinite"
                    infinite.num = Double(numeric.numInfinite)
                    feature.customStats = [infinite]
                }
            }
            feature.numStats = stats
        }
        return feature
    }
}

extension StatisticsList {
    public var tfmd: TFMD_DatasetFeatureStatisticsList {
        var list = TFMD_DatasetFeatureStatisticsList()
        list.datasets = datasets.map(\.tfmd)
        return list
    }

    /// TFX's file for one split's statistics: `Split-NAME/FeatureStats.pb`.
    public static func tfxFile(split: String) -> String { "Split-\(split)/FeatureStats.pb" }
}

/// How `mlops data stats|validate` write TFMD messages: binary, or protobuf's JSON mapping with
/// the .proto field names (what `json_format.Parse` and TFDV's loaders read).
public enum TFMDEncoding {
    public static func binary(_ message: some SwiftProtobuf.Message) throws -> Data {
        try message.serializedData()
    }

    public static func json(_ message: some SwiftProtobuf.Message) throws -> Data {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return try message.jsonUTF8Data(options: options)
    }
}
