import Foundation
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

    public static func infer(from table: DataTable, statistics: DatasetStatistics, label: String? = nil) -> TextProto {
        var features: [TextProto.Field] = []
        var domains: [TextProto.Field] = []
        for (column, feature) in zip(table.columns, statistics.features) {
            var fields: [TextProto.Field] = [
                .init(name: "name", value: .string(feature.name)),
                .init(name: "type", value: .identifier(feature.type.rawValue)),
            ]
            var presence: [TextProto.Field] = []
            if feature.numMissing == 0 && feature.numNonMissing > 0 {
                presence.append(.init(name: "min_fraction", value: .number("1.0")))
            }
            presence.append(.init(name: "min_count", value: .number("1")))
            fields.append(.init(name: "presence", value: .message(TextProto(fields: presence))))
            let count = TextProto(fields: [
                .init(name: "min", value: .number("1")), .init(name: "max", value: .number("1")),
            ])
            fields.append(.init(name: "value_count", value: .message(count)))
            if case .bytes(let dictionary, let codes) = column.values {
                var used = [Bool](repeating: false, count: dictionary.count)
                for code in codes where code >= 0 { used[Int(code)] = true }
                let values = dictionary.indices.filter { used[$0] }.map { dictionary[$0] }
                if !values.isEmpty, values.count <= maxDomainSize {
                    fields.append(.init(name: "domain", value: .string(feature.name)))
                    let sorted = values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                    let domain =
                        [TextProto.Field(name: "name", value: .string(feature.name))]
                        + sorted.map { TextProto.Field(name: "value", value: .string($0)) }
                    domains.append(.init(name: "string_domain", value: .message(TextProto(fields: domain))))
                }
            }
            if feature.name == label {
                fields.append(.init(name: "not_in_environment", value: .string("SERVING")))
            }
            features.append(.init(name: "feature", value: .message(TextProto(fields: fields))))
        }
        var top = features + domains
        if label != nil {
            top.append(.init(name: "default_environment", value: .string("TRAINING")))
            top.append(.init(name: "default_environment", value: .string("SERVING")))
        }
        return TextProto(fields: top)
    }
}
