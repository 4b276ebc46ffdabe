import Foundation
import MLOpsCore

/// A TensorFlow Metadata schema (`schema.pbtxt`), read and written in protobuf text format.
///
/// The whole file is kept as a ``TextProto``, so every field survives a round trip, including
/// ones mlops does not model; ``features`` is the typed view ImportSchemaGen, the validator and
/// the transform use. Fields that are not part of TFMD's schema at all (most likely typos)
/// are listed in ``unknownFields`` for a warning.
public struct Schema: Sendable, Equatable {
    public struct Feature: Sendable, Equatable {
        public var name: String
        /// BYTES, INT or FLOAT; nil for STRUCT features (not read as columns).
        public var type: FeatureType?
        public var presenceMinFraction: Double?
        public var presenceMinCount: Int?
        public var valueCountMin: Int?
        public var valueCountMax: Int?
        /// Allowed strings, from an inline `string_domain` or a named top-level one (`domain:`).
        public var stringDomain: [String]?
        public var intDomain: IntDomain?
        public var floatDomain: FloatDomain?
        public var inEnvironments: [String]
        public var notInEnvironments: [String]
        /// L-infinity threshold of `drift_comparator` / `skew_comparator`, for categorical features.
        public var driftLInfinity: Double?
        public var skewLInfinity: Double?
        /// Jensen–Shannon divergence threshold, for numeric features.
        public var driftJensenShannon: Double?
        public var skewJensenShannon: Double?
        /// Where the feature is in the file (1-based line).
        public var line: Int
    }

    public struct IntDomain: Sendable, Equatable {
        public var min: Int64?
        public var max: Int64?
        /// `is_categorical: true`: the integers are category ids (drift and skew use L-infinity).
        public var isCategorical: Bool

        public init(min: Int64?, max: Int64?, isCategorical: Bool = false) {
            self.min = min
            self.max = max
            self.isCategorical = isCategorical
        }
    }

    public struct FloatDomain: Sendable, Equatable {
        public var min: Double?
        public var max: Double?
        public var disallowNaN: Bool
        public var disallowInf: Bool

        public init(min: Double?, max: Double?, disallowNaN: Bool, disallowInf: Bool) {
            self.min = min
            self.max = max
            self.disallowNaN = disallowNaN
            self.disallowInf = disallowInf
        }
    }

    public let file: String
    public var proto: TextProto
    public let features: [Feature]
    public let defaultEnvironments: [String]
    /// `path (line N)` of fields that are not TFMD schema fields; kept, but unused.
    public let unknownFields: [String]

    public func feature(_ name: String) -> Feature? { features.first { $0.name == name } }

    /// Features expected in an environment (`SERVING`, `TRAINING`), per TFMD's rules.
    public func features(in environment: String) -> [Feature] {
        features.filter { feature in
            if feature.notInEnvironments.contains(environment) { return false }
            if !feature.inEnvironments.isEmpty { return feature.inEnvironments.contains(environment) }
            return true
        }
    }

    /// The canonical text of the whole schema.
    public func text() -> String { proto.text() }

    public static func load(path: String) throws -> Schema {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw TextProtoError(file: path, line: 1, column: 1, message: "the schema is not UTF-8 text")
            }
            text = decoded
        } catch let error as TextProtoError {
            throw error
        } catch {
            throw FileError(.missing, path: path, detail: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(TextProtoError) -> Schema {
        let proto = try TextProtoParser.parse(text, file: file)
        var unknown: [String] = []
        for field in proto.fields where !Self.schemaFields.contains(field.name) {
            unknown.append("\(field.name) (line \(field.line))")
        }
        var namedDomains: [String: [String]] = [:]
        for domain in proto.messages("string_domain") {
            if let name = domain.string("name") { namedDomains[name] = domain.strings("value") }
        }
        var features: [Feature] = []
        var seen = Set<String>()
        for field in proto.all("feature") {
            guard case .message(let message) = field.value else {
                throw TextProtoError(
                    file: file, line: field.line, column: field.column, message: "'feature' must be a message { … }")
            }
            guard let name = message.string("name") else {
                throw TextProtoError(
                    file: file, line: field.line, column: field.column, message: "a feature has no name")
            }
            guard seen.insert(name).inserted else {
                throw TextProtoError(
                    file: file, line: field.line, column: field.column, message: "feature '\(name)' is defined twice")
            }
            for inner in message.fields where !Self.featureFields.contains(inner.name) {
                unknown.append("feature '\(name)'.\(inner.name) (line \(inner.line))")
            }
            features.append(try Self.feature(message, name: name, line: field.line, domains: namedDomains, file: file))
        }
        return Schema(
            file: file, proto: proto, features: features, defaultEnvironments: proto.strings("default_environment"),
            unknownFields: unknown)
    }

    private static func feature(
        _ message: TextProto, name: String, line: Int, domains: [String: [String]], file: String
    ) throws(TextProtoError) -> Feature {
        var type: FeatureType?
        if let typeField = message.first("type") {
            guard case .identifier(let text) = typeField.value else {
                throw TextProtoError(
                    file: file, line: typeField.line, column: typeField.column,
                    message: "the type of feature '\(name)' must be BYTES, INT, FLOAT or STRUCT")
            }
            switch text {
            case "BYTES": type = .bytes
            case "INT": type = .int
            case "FLOAT": type = .float
            case "STRUCT": type = nil
            default:
                let hint = Suggestions.nearest(to: text, in: ["BYTES", "INT", "FLOAT", "STRUCT"]).map {
                    "did you mean '\($0)'?"
                }
                throw TextProtoError(
                    file: file, line: typeField.line, column: typeField.column,
                    message: "unknown type '\(text)' for feature '\(name)'",
                    hint: hint ?? "types are BYTES, INT, FLOAT and STRUCT")
            }
        }
        var stringDomain = message.message("string_domain")?.strings("value")
        if let domainField = message.first("domain"), case .string(let domainName) = domainField.value {
            guard let values = domains[domainName] else {
                throw TextProtoError(
                    file: file, line: domainField.line, column: domainField.column,
                    message: "feature '\(name)' names domain '\(domainName)', which no top-level string_domain defines")
            }
            stringDomain = values
        }
        let intDomain = message.message("int_domain").map { domain in
            IntDomain(
                min: domain.integer("min"), max: domain.integer("max"),
                isCategorical: domain.identifier("is_categorical") == "true")
        }
        let floatDomain = message.message("float_domain").map { domain in
            FloatDomain(
                min: domain.number("min"), max: domain.number("max"),
                disallowNaN: domain.identifier("disallow_nan") == "true",
                disallowInf: domain.identifier("disallow_inf") == "true")
        }
        func threshold(_ comparator: String, _ kind: String) -> Double? {
            message.message(comparator)?.message(kind)?.number("threshold")
        }
        return Feature(
            name: name, type: type, presenceMinFraction: message.message("presence")?.number("min_fraction"),
            presenceMinCount: message.message("presence")?.integer("min_count").map { Int($0) },
            valueCountMin: message.message("value_count")?.integer("min").map { Int($0) },
            valueCountMax: message.message("value_count")?.integer("max").map { Int($0) }, stringDomain: stringDomain,
            intDomain: intDomain, floatDomain: floatDomain, inEnvironments: message.strings("in_environment"),
            notInEnvironments: message.strings("not_in_environment"),
            driftLInfinity: threshold("drift_comparator", "infinity_norm"),
            skewLInfinity: threshold("skew_comparator", "infinity_norm"),
            driftJensenShannon: threshold("drift_comparator", "jensen_shannon_divergence"),
            skewJensenShannon: threshold("skew_comparator", "jensen_shannon_divergence"), line: line)
    }

    /// Top-level fields of TFMD's `Schema` message (schema.proto).
    static let schemaFields: Set<String> = [
        "feature", "sparse_feature", "weighted_feature", "sequence_feature", "string_domain", "float_domain",
        "int_domain", "default_environment", "annotation", "dataset_constraints", "tensor_representation_group",
        "generate_legacy_feature_spec", "represent_variable_length_as_ragged",
    ]

    /// Fields of TFMD's `Feature` message.
    static let featureFields: Set<String> = [
        "name", "deprecated", "presence", "group_presence", "shape", "value_count", "value_counts", "type", "domain",
        "int_domain", "float_domain", "string_domain", "bool_domain", "struct_domain", "natural_language_domain",
        "image_domain", "mid_domain", "url_domain", "time_domain", "time_of_day_domain", "distribution_constraints",
        "annotation", "skew_comparator", "drift_comparator", "in_environment", "not_in_environment",
        "lifecycle_stage", "unique_constraints",
    ]
}
