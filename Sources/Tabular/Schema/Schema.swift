import Foundation
import MLOpsCore
import SwiftProtobuf
import TFMetadata

/// A TensorFlow Metadata schema (`schema.pbtxt`), read and written in protocol-buffer text
/// format through TFMD's generated types (Protos/, SwiftProtobuf).
///
/// The whole message is kept in ``proto``, so every field survives a round trip, including
/// ones mlops does not model; ``features`` is the typed view ImportSchemaGen, the validator and
/// the transform use. A field TFMD's Schema does not have is an error naming it, as in TFDV.
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
    /// The whole schema as TFMD's message: every field survives a round trip.
    public let proto: TFMD_Schema
    public let features: [Feature]
    public let defaultEnvironments: [String]

    public func feature(_ name: String) -> Feature? { features.first { $0.name == name } }

    /// Features expected in an environment (`SERVING`, `TRAINING`), per TFMD's rules.
    public func features(in environment: String) -> [Feature] {
        features.filter { feature in
            if feature.notInEnvironments.contains(environment) { return false }
            if !feature.inEnvironments.isEmpty { return feature.inEnvironments.contains(environment) }
            return true
        }
    }

    /// The schema in protocol-buffer text format (comments are not kept: see docs/statistics.md).
    public func text() -> String { Self.text(proto) }

    /// A schema message in protocol-buffer text format, as SwiftProtobuf writes it.
    public static func text(_ proto: TFMD_Schema) -> String { proto.textFormatString() }

    public static func load(path: String) throws -> Schema {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw TextFormatError(file: path, line: 1, column: 1, message: "the schema is not UTF-8 text")
            }
            text = decoded
        } catch let error as TextFormatError {
            throw error
        } catch {
            throw FileError(.missing, path: path, detail: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// A schema from its text: decoded by TFMD's generated types (SwiftProtobuf), then checked
    /// the way TFDV checks one (named features, once each; `domain:` names a top-level domain).
    public static func parse(_ text: String, file: String) throws(TextFormatError) -> Schema {
        let locator = TextFormatLocator(file: file)
        let proto: TFMD_Schema
        do {
            proto = try TFMD_Schema(textFormatString: text)
        } catch {
            throw locator.locate(text, kind: Self.schemaKind, error: error)
        }
        // Where feature `index` is written, looked for only to report a problem with it.
        func problem(_ index: Int, _ message: String) -> TextFormatError {
            let written = ((try? locator.outline(Substring(text), line: 1, column: 1)) ?? []).filter {
                $0.name == "feature"
            }
            let entry = index < written.count ? written[index] : nil
            return TextFormatError(file: file, line: entry?.line ?? 1, column: entry?.column ?? 1, message: message)
        }
        var features: [Feature] = []
        var seen = Set<String>()
        for (index, feature) in proto.feature.enumerated() {
            guard feature.hasName, !feature.name.isEmpty else { throw problem(index, "a feature has no name") }
            guard seen.insert(feature.name).inserted else {
                throw problem(index, "feature '\(feature.name)' is defined twice")
            }
            do throws(SchemaProblem) {
                features.append(try Self.feature(feature, in: proto))
            } catch {
                throw problem(index, error.message)
            }
        }
        return Schema(file: file, proto: proto, features: features, defaultEnvironments: proto.defaultEnvironment)
    }

    /// What is wrong with one feature, placed by ``parse(_:file:)``.
    struct SchemaProblem: Error {
        let message: String
    }

    private static func feature(_ message: TFMD_Feature, in schema: TFMD_Schema) throws(SchemaProblem) -> Feature {
        let name = message.name
        var type: FeatureType?
        if message.hasType {
            switch message.type {
            case .bytes: type = .bytes
            case .int: type = .int
            case .float: type = .float
            case .struct, .typeUnknown: type = nil
            }
        }
        var stringDomain: [String]?
        var intDomain: IntDomain?
        var floatDomain: FloatDomain?
        func int(_ domain: TFMD_IntDomain) -> IntDomain {
            IntDomain(
                min: domain.hasMin ? domain.min : nil, max: domain.hasMax ? domain.max : nil,
                isCategorical: domain.isCategorical)
        }
        func float(_ domain: TFMD_FloatDomain) -> FloatDomain {
            FloatDomain(
                min: domain.hasMin ? Self.decimal(domain.min) : nil,
                max: domain.hasMax ? Self.decimal(domain.max) : nil,
                disallowNaN: domain.disallowNan, disallowInf: domain.disallowInf)
        }
        switch message.domainInfo {
        case .stringDomain(let domain)?: stringDomain = domain.value
        case .intDomain(let domain)?: intDomain = int(domain)
        case .floatDomain(let domain)?: floatDomain = float(domain)
        case .domain(let domainName)?:
            if let domain = schema.stringDomain.first(where: { $0.name == domainName }) {
                stringDomain = domain.value
            } else if let domain = schema.intDomain.first(where: { $0.name == domainName }) {
                intDomain = int(domain)
            } else if let domain = schema.floatDomain.first(where: { $0.name == domainName }) {
                floatDomain = float(domain)
            } else {
                throw SchemaProblem(
                    message:
                        "feature '\(name)' names domain '\(domainName)', which no top-level string_domain, int_domain or float_domain defines"
                )
            }
        default: break
        }
        var presenceMinFraction: Double?
        var presenceMinCount: Int?
        if case .presence(let presence)? = message.presenceConstraints {
            presenceMinFraction = presence.hasMinFraction ? presence.minFraction : nil
            presenceMinCount = presence.hasMinCount ? Int(presence.minCount) : nil
        }
        var valueCountMin: Int?
        var valueCountMax: Int?
        if case .valueCount(let count)? = message.shapeType {
            valueCountMin = count.hasMin ? Int(count.min) : nil
            valueCountMax = count.hasMax ? Int(count.max) : nil
        }
        func lInfinity(_ comparator: TFMD_FeatureComparator?) -> Double? {
            guard let comparator, comparator.hasInfinityNorm, comparator.infinityNorm.hasThreshold else { return nil }
            return comparator.infinityNorm.threshold
        }
        func jensenShannon(_ comparator: TFMD_FeatureComparator?) -> Double? {
            guard let comparator, comparator.hasJensenShannonDivergence,
                comparator.jensenShannonDivergence.hasThreshold
            else { return nil }
            return comparator.jensenShannonDivergence.threshold
        }
        let drift = message.hasDriftComparator ? message.driftComparator : nil
        let skew = message.hasSkewComparator ? message.skewComparator : nil
        return Feature(
            name: name, type: type, presenceMinFraction: presenceMinFraction, presenceMinCount: presenceMinCount,
            valueCountMin: valueCountMin, valueCountMax: valueCountMax, stringDomain: stringDomain,
            intDomain: intDomain, floatDomain: floatDomain, inEnvironments: message.inEnvironment,
            notInEnvironments: message.notInEnvironment, driftLInfinity: lInfinity(drift),
            skewLInfinity: lInfinity(skew), driftJensenShannon: jensenShannon(drift),
            skewJensenShannon: jensenShannon(skew))
    }

    /// A `float` bound as the decimal it was written as: `min: 0.1` is stored as the float
    /// nearest 0.1, which as a double is 0.10000000149; the shortest decimal that reads back as
    /// the same float gives 0.1 again, so a value of 0.1 is not below it.
    static func decimal(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    /// How to name what is wrong in a schema file: TFMD's Schema, its Feature one level down and
    /// the Feature's common parts below that.
    static let schemaKind: TextFormatLocator.MessageKind = {
        let stages = [
            "UNKNOWN_STAGE", "PLANNED", "ALPHA", "BETA", "PRODUCTION", "DEPRECATED", "DEBUG_ONLY", "DISABLED",
            "VALIDATION_DERIVED",
        ]
        let stringDomain = TextFormatLocator.MessageKind(
            label: "TFMD's StringDomain", type: TFMD_StringDomain.self, fields: ["name", "value", "is_categorical"])
        let intDomain = TextFormatLocator.MessageKind(
            label: "TFMD's IntDomain", type: TFMD_IntDomain.self, fields: ["name", "min", "max", "is_categorical"])
        let floatDomain = TextFormatLocator.MessageKind(
            label: "TFMD's FloatDomain", type: TFMD_FloatDomain.self,
            fields: [
                "name", "min", "max", "disallow_nan", "disallow_inf", "is_embedding", "is_categorical", "embedding_dim",
                "embedding_type",
            ])
        let feature = TextFormatLocator.MessageKind(
            label: "TFMD's Feature", type: TFMD_Feature.self, fields: Array(featureFields),
            enums: ["type": ["TYPE_UNKNOWN", "BYTES", "INT", "FLOAT", "STRUCT"], "lifecycle_stage": stages],
            children: [
                "presence": .init(
                    label: "TFMD's FeaturePresence", type: TFMD_FeaturePresence.self,
                    fields: ["min_fraction", "min_count"]),
                "value_count": .init(label: "TFMD's ValueCount", type: TFMD_ValueCount.self, fields: ["min", "max"]),
                "string_domain": stringDomain, "int_domain": intDomain, "float_domain": floatDomain,
            ])
        return TextFormatLocator.MessageKind(
            label: "TFMD's Schema", type: TFMD_Schema.self, fields: Array(schemaFields),
            children: [
                "feature": feature, "string_domain": stringDomain, "int_domain": intDomain, "float_domain": floatDomain,
                "dataset_constraints": .init(
                    label: "TFMD's DatasetConstraints", type: TFMD_DatasetConstraints.self,
                    fields: [
                        "num_examples_drift_comparator", "num_examples_version_comparator", "min_examples_count",
                        "max_examples_count",
                    ]),
            ])
    }()

    /// Top-level fields of TFMD's `Schema` message (schema.proto), for "did you mean".
    static let schemaFields: Set<String> = [
        "feature", "sparse_feature", "weighted_feature", "string_domain", "float_domain", "int_domain",
        "default_environment", "annotation", "dataset_constraints", "tensor_representation_group",
        "represent_variable_length_as_ragged",
    ]

    /// Fields of TFMD's `Feature` message, for "did you mean".
    static let featureFields: Set<String> = [
        "name", "deprecated", "presence", "group_presence", "shape", "value_count", "value_counts", "type", "domain",
        "int_domain", "float_domain", "string_domain", "bool_domain", "struct_domain", "natural_language_domain",
        "image_domain", "mid_domain", "url_domain", "time_domain", "time_of_day_domain", "distribution_constraints",
        "annotation", "skew_comparator", "drift_comparator", "in_environment", "not_in_environment",
        "lifecycle_stage", "unique_constraints", "audio_domain", "video_domain",
        "content_chunk_domain", "validation_derived_source", "sequence_metadata",
    ]
}
