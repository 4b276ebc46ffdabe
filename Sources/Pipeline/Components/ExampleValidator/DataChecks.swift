import Foundation

/// ExampleValidator's checks as the gate reads them (`checks.json` in the anomalies
/// artifact): every anomaly found, and every drift or skew measurement against its threshold,
/// each with the outcome `gates.policy` gave it.
public struct DataChecks: Sendable, Codable, Equatable {
    public static let fileName = "checks.json"

    /// One check: an anomaly (always over), or a measurement (over its threshold or not).
    public struct Check: Sendable, Codable, Equatable {
        public enum Outcome: String, Sendable, Codable { case passed, failed, warned, ignored }

        public let split: String
        /// The feature, or `(dataset)`.
        public let feature: String
        /// TFDV's reason name (for a measurement, the one it raises when over its threshold);
        /// the policy keys on it.
        public let reason: String
        /// The policy category: `anomalies`, `drift` or `skew`.
        public let category: String
        public let outcome: Outcome
        /// A measurement's kind (`L_INFTY`, `JENSEN_SHANNON_DIVERGENCE`), value and threshold.
        public let measure: String?
        public let value: Double?
        public let threshold: Double?
        public let detail: String

        /// A short stable name: `train: company ENUM_TYPE_UNEXPECTED_STRING_VALUES`, or
        /// `train: drift fare JENSEN_SHANNON_DIVERGENCE <= 0.1`.
        public var name: String {
            guard let measure, let threshold else { return "\(split): \(feature) \(reason)" }
            return "\(split): \(category) \(feature) \(measure) <= \(threshold)"
        }
    }

    /// The spans of the examples checked, the span drift was measured against (nil: none
    /// earlier, or the sources have no `{SPAN}`), and the serving data skew was measured on.
    public let spans: [Int]
    public let previousSpan: Int?
    /// Without spans: what drift was measured against (`the data at the merge-base …`), or
    /// why it was not (`the data sources are unchanged since the merge-base …`).
    public var base: String?
    public var baseMeasured: Bool?
    public let serving: String?
    /// The split compared with the previous span and serving data.
    public let comparedSplit: String
    public let checks: [Check]

    enum CodingKeys: String, CodingKey {
        case spans, previousSpan = "previous_span", base, baseMeasured = "base_measured", serving
        case comparedSplit = "compared_split", checks
    }

    public init(
        spans: [Int], previousSpan: Int?, base: String? = nil, baseMeasured: Bool? = nil, serving: String?,
        comparedSplit: String, checks: [Check]
    ) {
        self.spans = spans
        self.previousSpan = previousSpan
        self.base = base
        self.baseMeasured = baseMeasured
        self.serving = serving
        self.comparedSplit = comparedSplit
        self.checks = checks
    }

    /// The checks of one split's anomalies, each given its action by `action(reason, category)`.
    /// Comparator reasons are reported once, as their measurements.
    public static func checks(
        split: String, anomalies: Anomalies, action: (_ reason: String, _ category: String) -> GateAction
    ) -> [Check] {
        func outcome(_ action: GateAction) -> Check.Outcome {
            switch action {
            case .fail: .failed
            case .warn: .warned
            case .ignore: .ignored
            }
        }
        var checks: [Check] = []
        var entries = anomalies.features.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let dataset = anomalies.dataset { entries.append(("(dataset)", dataset)) }
        for (feature, info) in entries {
            for reason in info.reasons where !reason.type.hasPrefix("COMPARATOR_") {
                checks.append(
                    Check(
                        split: split, feature: feature, reason: reason.type, category: "anomalies",
                        outcome: outcome(action(reason.type, "anomalies")), measure: nil, value: nil, threshold: nil,
                        detail: reason.description))
            }
        }
        for measurement in anomalies.measurements {
            let reason =
                measurement.type == .lInfinity
                ? "COMPARATOR_L_INFTY_HIGH" : "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"
            let over = measurement.value > measurement.threshold
            let between =
                measurement.comparison == "drift"
                ? "against \(measurement.against ?? "the previous span")" : "against serving data"
            var what = measurement.type == .lInfinity ? "L-infinity distance" : "Jensen-Shannon divergence"
            if measurement.type == .jensenShannon {
                what += measurement.method == .sharedBuckets ? " (shared buckets)" : " (TFDV's buckets)"
            }
            let source =
                measurement.method == .sharedBuckets
                ? "gates.\(measurement.comparison).\(measurement.feature)"
                : "the schema's \(measurement.comparison)_comparator"
            checks.append(
                Check(
                    split: split, feature: measurement.feature, reason: reason, category: measurement.comparison,
                    outcome: over ? outcome(action(reason, measurement.comparison)) : .passed,
                    measure: measurement.type.rawValue, value: measurement.value, threshold: measurement.threshold,
                    detail:
                        "\(what) \(between) is \(String(format: "%.4g", measurement.value)), \(over ? "above" : "within") the threshold \(measurement.threshold) (\(source))"
                ))
        }
        return checks
    }

    /// The findings the runner prints: `fail …` and `warn …` lines.
    public var findings: [String] {
        checks.compactMap { check in
            let action: String
            switch check.outcome {
            case .failed: action = "fail"
            case .warned: action = "warn"
            case .passed, .ignored: return nil
            }
            let detail = check.detail.count > 160 ? String(check.detail.prefix(157)) + "…" : check.detail
            return check.measure == nil
                ? "\(action) \(check.split): \(check.feature) \(check.reason): \(detail)"
                : "\(action) \(check.split): \(check.category) \(check.feature) \(check.reason): \(detail)"
        }
    }

    /// One sentence on what drift and skew were measured against, for reports.
    public var comparisonSummary: String {
        let drift = checks.filter { $0.category == "drift" }.count
        let skew = checks.filter { $0.category == "skew" }.count
        var parts: [String] = []
        if let previousSpan {
            let spanText = spans.map(String.init).joined(separator: ", ")
            parts.append(
                drift > 0
                    ? "Drift: the \(comparedSplit) split of span \(spanText) against span \(previousSpan), \(drift) measurement\(drift == 1 ? "" : "s")."
                    : "Drift: span \(previousSpan) was there to compare with, but no drift threshold is set (gates.drift or the schema's drift_comparator)."
            )
        } else if let base {
            if baseMeasured != true {
                parts.append("Drift: not measured (\(base)).")
            } else {
                parts.append(
                    drift > 0
                        ? "Drift: the \(comparedSplit) split against \(base), \(drift) measurement\(drift == 1 ? "" : "s")."
                        : "Drift: \(base) was there to compare with, but no drift threshold is set (gates.drift or the schema's drift_comparator)."
                )
            }
        } else {
            parts.append(
                "Drift: not measured (no earlier span of the data sources, and no merge-base to compare with).")
        }
        if let serving {
            parts.append(
                skew > 0
                    ? "Skew: the \(comparedSplit) split against serving data `\(serving)`, \(skew) measurement\(skew == 1 ? "" : "s")."
                    : "Skew: serving data `\(serving)` was there, but no skew threshold is set (gates.skew or the schema's skew_comparator)."
            )
        } else {
            parts.append("Skew: not measured (no `data.serving`).")
        }
        return parts.joined(separator: " ")
    }
}
