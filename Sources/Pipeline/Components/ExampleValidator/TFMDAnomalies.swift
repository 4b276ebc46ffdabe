import Foundation
import SwiftProtobuf
import TFMetadata
import Tabular

/// Anomalies as TFMD's `Anomalies` message, what TFDV's `validate_statistics` returns and
/// `load_anomalies_text`/`display_anomalies` read: the schema as `baseline`, `anomaly_info` by
/// raw feature name, `dataset_anomaly_info`, `data_missing` and a `drift_skew_info` per
/// compared feature.
extension Anomalies {
    public func tfmd(schema: Schema, numExamples: Int) -> TFMD_Anomalies {
        var out = TFMD_Anomalies()
        out.baseline = schema.proto
        out.anomalyNameFormat = .unknown
        for (name, info) in features { out.anomalyInfo[name] = Self.info(info, path: name) }
        if let dataset { out.datasetAnomalyInfo = Self.info(dataset, path: nil) }
        out.dataMissing = numExamples == 0
        var byFeature: [String: TFMD_DriftSkewInfo] = [:]
        var order: [String] = []
        for measurement in measurements {
            if byFeature[measurement.feature] == nil {
                var info = TFMD_DriftSkewInfo()
                info.path.step = [measurement.feature]
                byFeature[measurement.feature] = info
                order.append(measurement.feature)
            }
            var measured = TFMD_DriftSkewInfo.Measurement()
            measured.type = measurement.type == .lInfinity ? .lInfty : .jensenShannonDivergence
            measured.value = measurement.value
            measured.threshold = measurement.threshold
            if measurement.comparison == "skew" {
                byFeature[measurement.feature]?.skewMeasurements.append(measured)
            } else {
                byFeature[measurement.feature]?.driftMeasurements.append(measured)
            }
        }
        out.driftSkewInfo = order.compactMap { byFeature[$0] }
        return out
    }

    /// One AnomalyInfo: TFDV fills `description` and `short_description` from the single
    /// reason, or joins several under "Multiple errors".
    private static func info(_ info: Info, path: String?) -> TFMD_AnomalyInfo {
        var out = TFMD_AnomalyInfo()
        if let path { out.path.step = [path] }
        out.severity = info.severity == .error ? .error : .warning
        out.reason = info.reasons.map { reason in
            var converted = TFMD_AnomalyInfo.Reason()
            converted.type = reasonType(reason.type)
            converted.shortDescription = reason.shortDescription
            converted.description_p = reason.description
            return converted
        }
        if info.reasons.count == 1, let only = info.reasons.first {
            out.shortDescription = only.shortDescription
            out.description_p = only.description
        } else {
            out.shortDescription = "Multiple errors"
            out.description_p = info.reasons.map(\.description).joined(separator: " ")
        }
        return out
    }

    /// TFMD's enum value for a TFDV reason name (its text-format name), UNKNOWN_TYPE for others.
    static func reasonType(_ name: String) -> TFMD_AnomalyInfo.TypeEnum {
        (try? TFMD_AnomalyInfo.Reason(textFormatString: "type: \(name)"))?.type ?? .unknownType
    }

    /// TFX's file for one split's anomalies: `Split-NAME/SchemaDiff.pb`.
    public static func tfxFile(split: String) -> String { "Split-\(split)/SchemaDiff.pb" }
}
