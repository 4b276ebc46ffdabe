import Foundation
import TFMetadata
import Tabular

/// Anomalies found in a dataset against a schema, shaped like TFMD's `Anomalies` message
/// (`anomaly_info` per feature, `dataset_anomaly_info`), with TFDV's reason names.
public struct Anomalies: Sendable, Codable, Equatable {
    public enum Severity: String, Sendable, Codable { case error = "ERROR", warning = "WARNING" }

    public struct Reason: Sendable, Codable, Equatable {
        /// TFDV's reason name, e.g. `SCHEMA_NEW_COLUMN`; gate policies key on it.
        public let type: String
        public let shortDescription: String
        public let description: String

        public init(type: String, shortDescription: String, description: String) {
            self.type = type
            self.shortDescription = shortDescription
            self.description = description
        }

        enum CodingKeys: String, CodingKey { case type, shortDescription = "short_description", description }
    }

    public struct Info: Sendable, Codable, Equatable {
        public let severity: Severity
        public let reasons: [Reason]

        public init(severity: Severity, reasons: [Reason]) {
            self.severity = severity
            self.reasons = reasons
        }

        enum CodingKeys: String, CodingKey { case severity, reasons = "reason" }
    }

    /// One drift or skew measurement (TFMD `DriftSkewInfo`).
    public struct Measurement: Sendable, Codable, Equatable {
        public enum Kind: String, Sendable, Codable {
            case lInfinity = "L_INFTY", jensenShannon = "JENSEN_SHANNON_DIVERGENCE"
        }
        public let feature: String
        /// `drift` (against a previous span) or `skew` (training against serving).
        public let comparison: String
        public let type: Kind
        public let value: Double
        public let threshold: Double
        /// Shared buckets (a threshold of `gates.drift`/`gates.skew`) or TFDV's (the schema's
        /// comparator); nil in artifacts written before mlops 0.9, which measured TFDV's way.
        public var method: DriftMethod?
        /// What the data was compared with, e.g. `span 4`, `the data at the merge-base 1a2b3c4d5e6f`.
        public var against: String?

        public init(
            feature: String, comparison: String, type: Kind, value: Double, threshold: Double, method: DriftMethod,
            against: String
        ) {
            self.feature = feature
            self.comparison = comparison
            self.type = type
            self.value = value
            self.threshold = threshold
            self.method = method
            self.against = against
        }
    }

    /// By feature name.
    public let features: [String: Info]
    public let dataset: Info?
    /// Every drift and skew measurement made, over its threshold or not.
    public var measurements: [Measurement] = []

    public init(features: [String: Info], dataset: Info?, measurements: [Measurement] = []) {
        self.features = features
        self.dataset = dataset
        self.measurements = measurements
    }

    enum CodingKeys: String, CodingKey {
        case features = "anomaly_info", dataset = "dataset_anomaly_info", measurements = "drift_skew_info"
    }

    public var hasErrors: Bool {
        features.values.contains { $0.severity == .error } || dataset?.severity == .error
    }

    public var isEmpty: Bool { features.isEmpty && dataset == nil }
}

/// ExampleValidator's executor (anomaly checks; drift and skew come with span comparison).
public enum ExampleValidator {
    /// Checks a table against a schema in an environment (features `not_in_environment` it
    /// are not expected). Everything is an ERROR as in TFDV's defaults; gate policies decide
    /// what fails a gate.
    /// Another dataset to compare with: a previous span (drift) or serving data (skew).
    public struct Comparison {
        public let table: DataTable
        /// Its statistics, for TFDV-mode Jensen-Shannon thresholds (a schema's comparator);
        /// nil when none needs them (shared buckets read the table).
        public let statistics: DatasetStatistics?
        /// What this data is, for reports: `span 4`, `the data at the merge-base 1a2b3c4d5e6f`.
        public let label: String
        public init(table: DataTable, statistics: DatasetStatistics?, label: String) {
            self.table = table
            self.statistics = statistics
            self.label = label
        }
    }

    /// Thresholds set in `mlops.yaml` (`gates.drift`, `gates.skew`), by feature.
    public struct Thresholds: Sendable {
        public var drift: [String: DriftThreshold]
        public var skew: [String: DriftThreshold]
        public init(drift: [String: DriftThreshold] = [:], skew: [String: DriftThreshold] = [:]) {
            self.drift = drift
            self.skew = skew
        }
        /// Throws (exit 78) when a threshold names a feature that is no column of `table` (or,
        /// for skew, of the serving data), or asks for a measure its values cannot take:
        /// L-infinity counts text or integer values, Jensen-Shannon divergence needs numbers.
        public func requireColumns(of table: DataTable, serving: DataTable? = nil) throws {
            let columns = table.columns.map(\.name)
            for (key, named) in [("gates.drift", drift), ("gates.skew", skew)] {
                for (feature, threshold) in named.sorted(by: { $0.key < $1.key }) {
                    guard let column = table.column(feature) else {
                        throw ConfigError.unknownFeature(key: key, feature: feature, columns: columns)
                    }
                    if key == "gates.skew", let serving, serving.column(feature) == nil {
                        throw ConfigError.unknownFeature(
                            key: key + " (the serving data)", feature: feature, columns: serving.columns.map(\.name))
                    }
                    if threshold.lInfinity != nil, case .float = column.values {
                        throw ConfigError.wrongMeasure(
                            key: key, feature: feature,
                            detail: "l_infinity compares category shares, and '\(feature)' holds decimal numbers")
                    }
                    if threshold.jensenShannon != nil, case .bytes = column.values {
                        throw ConfigError.wrongMeasure(
                            key: key, feature: feature,
                            detail: "jensen_shannon compares numeric distributions, and '\(feature)' holds text")
                    }
                }
            }
        }

        public init(_ gates: GatesSection) {
            self.init(
                drift: Dictionary(gates.drift.pairs, uniquingKeysWith: { $1 }),
                skew: Dictionary(gates.skew.pairs, uniquingKeysWith: { $1 }))
        }
    }

    /// The features drift or skew is measured for: the schema's (in its order), then those
    /// only mlops.yaml names, in name order.
    private static func comparedFeatures(schema: Schema, configured: [String: DriftThreshold])
        -> [(name: String, schema: Schema.Feature?)]
    {
        let named = Set(schema.features.map(\.name))
        return schema.features.map { ($0.name, $0) }
            + configured.keys.filter { !named.contains($0) }.sorted().map { ($0, nil) }
    }

    public static func validate(
        table: DataTable, statistics: DatasetStatistics, schema: Schema, environment: String? = nil,
        previous: Comparison? = nil, serving: Comparison? = nil, thresholds: Thresholds = Thresholds()
    ) -> Anomalies {
        var features: [String: Anomalies.Info] = [:]
        func add(_ feature: String, _ type: String, _ short: String, _ description: String) {
            let reason = Anomalies.Reason(type: type, shortDescription: short, description: description)
            let existing = features[feature]?.reasons ?? []
            features[feature] = Anomalies.Info(severity: .error, reasons: existing + [reason])
        }
        let expected = environment.map { schema.features(in: $0) } ?? schema.features
        let expectedNames = Set(expected.map(\.name))
        let allSchemaNames = Set(schema.features.map(\.name))

        for feature in expected {
            guard let stats = statistics.feature(feature.name), let column = table.column(feature.name) else {
                // Only a schema that says the feature may be absent (min_count 0) lets it go missing.
                let mayBeAbsent = feature.presenceMinCount == 0 && (feature.presenceMinFraction ?? 0) == 0
                if !mayBeAbsent {
                    add(
                        feature.name, "SCHEMA_MISSING_COLUMN", "Column dropped",
                        "The feature was present in fewer examples than expected: it is missing from the data.")
                }
                continue
            }
            // Types: INT data is acceptable where FLOAT is expected; BYTES features were read as text.
            // A column with no value at all says nothing about its type (presence checks it).
            if let expectedType = feature.type, stats.numNonMissing > 0, stats.type != expectedType,
                !(expectedType == .float && stats.type == .int)
            {
                add(
                    feature.name, "UNEXPECTED_DATA_TYPE", "Unexpected data type",
                    "Expected data of type: \(expectedType.rawValue) but got \(stats.type.rawValue).")
            }
            let total = stats.numNonMissing + stats.numMissing
            if let fraction = feature.presenceMinFraction, total > 0,
                Double(stats.numNonMissing) / Double(total) < fraction
            {
                let actual = Double(stats.numNonMissing) / Double(total)
                add(
                    feature.name, "FEATURE_TYPE_LOW_FRACTION_PRESENT", "Column dropped",
                    "The feature was present in fewer examples than expected: minimum fraction = \(fraction), actual = \(String(format: "%.4f", actual))."
                )
            }
            if let count = feature.presenceMinCount, stats.numNonMissing < count {
                add(
                    feature.name, "FEATURE_TYPE_LOW_NUMBER_PRESENT", "Column dropped",
                    "The feature was present in fewer examples than expected: minimum count = \(count), actual = \(stats.numNonMissing)."
                )
            }
            if let domain = feature.stringDomain, case .bytes(let dictionary, let codes) = column.values {
                let allowed = Set(domain)
                var counts: [String: Int] = [:]
                for code in codes where code >= 0 && !allowed.contains(dictionary[Int(code)]) {
                    counts[dictionary[Int(code)], default: 0] += 1
                }
                if !counts.isEmpty {
                    let listed = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(
                        10
                    )
                    .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
                    add(
                        feature.name, "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "Unexpected string values",
                        "Examples contain values missing from the schema: \(listed)\(counts.count > 10 ? ", …" : "").")
                }
            }
            if let numeric = stats.numeric, !numeric.min.isNaN {
                if let domain = feature.intDomain {
                    if let low = domain.min, numeric.min < Double(low) {
                        add(
                            feature.name, "INT_TYPE_SMALL_INT", "Out-of-range values",
                            "Unexpectedly small value: \(numeric.min) (domain minimum \(low)).")
                    }
                    if let high = domain.max, numeric.max > Double(high) {
                        add(
                            feature.name, "INT_TYPE_BIG_INT", "Out-of-range values",
                            "Unexpectedly large value: \(numeric.max) (domain maximum \(high)).")
                    }
                }
                if let domain = feature.floatDomain {
                    if let low = domain.min, numeric.min < low {
                        add(
                            feature.name, "FLOAT_TYPE_SMALL_FLOAT", "Out-of-range values",
                            "Unexpectedly small value: \(numeric.min) (domain minimum \(low)).")
                    }
                    if let high = domain.max, numeric.max > high {
                        add(
                            feature.name, "FLOAT_TYPE_BIG_FLOAT", "Out-of-range values",
                            "Unexpectedly large value: \(numeric.max) (domain maximum \(high)).")
                    }
                }
            }
            if let numeric = stats.numeric {
                if feature.floatDomain?.disallowNaN == true, numeric.numNaN > 0 {
                    add(
                        feature.name, "FLOAT_TYPE_HAS_NAN", "Invalid values",
                        "Float feature has NaN values: \(numeric.numNaN).")
                }
                if feature.floatDomain?.disallowInf == true, numeric.numInfinite > 0 {
                    add(
                        feature.name, "FLOAT_TYPE_HAS_INF", "Invalid values",
                        "Float feature has infinite values: \(numeric.numInfinite).")
                }
            }
        }
        // New columns: in the data but not in the schema (features of other environments are not new).
        for column in table.columns where !expectedNames.contains(column.name) && !allSchemaNames.contains(column.name)
        {
            add(column.name, "SCHEMA_NEW_COLUMN", "New column", "New column (column in data but not in schema).")
        }
        // Drift against a previous span (or the data at the merge-base), skew against serving
        // data: thresholds from mlops.yaml (shared buckets), else from the schema (TFDV's way).
        var measurements: [Anomalies.Measurement] = []
        for (comparison, other) in [("drift", previous), ("skew", serving)] {
            guard let other else { continue }
            let configured = comparison == "drift" ? thresholds.drift : thresholds.skew
            for feature in comparedFeatures(schema: schema, configured: configured) {
                guard let mine = table.column(feature.name), let theirs = other.table.column(feature.name) else {
                    continue
                }
                let categorical: Bool =
                    if let declared = feature.schema {
                        declared.type == FeatureType.bytes || declared.intDomain?.isCategorical == true
                    } else {
                        mine.type == FeatureType.bytes
                    }
                let own = configured[feature.name]?.resolved(categorical: categorical)
                let between = comparison == "drift" ? "current and \(other.label)" : "training and serving"
                // Records a measurement, and an anomaly when it is over its threshold.
                func measure(
                    _ kind: Anomalies.Measurement.Kind, _ value: Double, _ threshold: Double, _ method: DriftMethod
                ) {
                    measurements.append(
                        .init(
                            feature: feature.name, comparison: comparison, type: kind, value: value,
                            threshold: threshold, method: method, against: other.label))
                    guard value > threshold else { return }
                    let (reason, short, name) =
                        kind == .lInfinity
                        ? ("COMPARATOR_L_INFTY_HIGH", "High L-infinity distance", "L-infinity distance")
                        : (
                            "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH", "High Jensen-Shannon divergence",
                            "Jensen-Shannon divergence"
                        )
                    add(
                        feature.name, reason, short,
                        "The \(name) between \(between) is \(String(format: "%.4g", value)), above the threshold \(threshold)."
                    )
                }
                let schemaLInfinity =
                    comparison == "drift" ? feature.schema?.driftLInfinity : feature.schema?.skewLInfinity
                if let threshold = own?.lInfinity ?? schemaLInfinity {
                    // Exact value counts: the same figure by either method.
                    measure(
                        .lInfinity, Distribution.lInfinity(mine, theirs), threshold,
                        own?.lInfinity != nil ? .sharedBuckets : .tfdv)
                }
                if let threshold = own?.jensenShannon {
                    measure(.jensenShannon, Distribution.jensenShannon(shared: mine, theirs), threshold, .sharedBuckets)
                } else if let threshold = comparison == "drift"
                    ? feature.schema?.driftJensenShannon : feature.schema?.skewJensenShannon
                {
                    func standard(_ statistics: DatasetStatistics) -> Histogram? {
                        statistics.feature(feature.name)?.numeric?.histograms.first { $0.type == .standard }
                    }
                    if let a = standard(statistics), let b = other.statistics.flatMap(standard) {
                        measure(.jensenShannon, Distribution.jensenShannon(a, b), threshold, .tfdv)
                    }
                }
            }
        }
        var dataset: Anomalies.Info?
        let constraints = schema.proto.datasetConstraints
        if schema.proto.hasDatasetConstraints, constraints.hasMinExamplesCount,
            case let minimum = constraints.minExamplesCount, Int64(statistics.numExamples) < minimum
        {
            dataset = Anomalies.Info(
                severity: .error,
                reasons: [
                    .init(
                        type: "DATASET_LOW_NUM_EXAMPLES", shortDescription: "Low num examples in dataset.",
                        description:
                            "The dataset has \(statistics.numExamples) examples, fewer than the minimum \(minimum).")
                ])
        }
        return Anomalies(features: features, dataset: dataset, measurements: measurements)
    }
}
