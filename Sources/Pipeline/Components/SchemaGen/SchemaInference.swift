import Foundation
import TFMetadata
import Tabular

/// SchemaGen's executor: a TFMD schema inferred from a table and its statistics, the way
/// TFDV's `infer_schema` does it.
///
/// - every feature gets its type, `value_count { min: 1 max: 1 }` (a CSV cell holds one value)
///   and `presence { min_count: 1 }`, with `min_fraction: 1.0` when no value was missing;
/// - a text feature with at most ``maxDomainSize`` distinct values gets a top-level
///   `string_domain` named after it (values in byte order) and `domain: "NAME"`; larger ones
///   are free text;
/// - numeric features get no range (TFDV does not infer one either);
/// - with a label, the schema has the environments TRAINING and SERVING and the label is
///   `not_in_environment: "SERVING"`.
public enum SchemaInference {
    public static let maxDomainSize = 100

    public static func infer(
        from table: DataTable, statistics: DatasetStatistics, label: String? = nil
    ) -> TFMD_Schema {
        var schema = TFMD_Schema()
        for (column, feature) in zip(table.columns, statistics.features) {
            var inferred = TFMD_Feature()
            inferred.name = feature.name
            switch feature.type {
            case .bytes: inferred.type = .bytes
            case .int: inferred.type = .int
            case .float: inferred.type = .float
            }
            var presence = TFMD_FeaturePresence()
            if feature.numMissing == 0 && feature.numNonMissing > 0 { presence.minFraction = 1 }
            presence.minCount = 1
            inferred.presence = presence
            var count = TFMD_ValueCount()
            count.min = 1
            count.max = 1
            inferred.valueCount = count
            if case .bytes(let dictionary, let codes) = column.values {
                var used = [Bool](repeating: false, count: dictionary.count)
                for code in codes where code >= 0 { used[Int(code)] = true }
                let values = dictionary.indices.filter { used[$0] }.map { dictionary[$0] }
                if !values.isEmpty, values.count <= maxDomainSize {
                    inferred.domain = feature.name
                    var domain = TFMD_StringDomain()
                    domain.name = feature.name
                    domain.value = values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                    schema.stringDomain.append(domain)
                }
            }
            if feature.name == label { inferred.notInEnvironment = ["SERVING"] }
            schema.feature.append(inferred)
        }
        if label != nil { schema.defaultEnvironment = ["TRAINING", "SERVING"] }
        return schema
    }
}
