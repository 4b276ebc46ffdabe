import Foundation
import MLOpsCore
import Yams

// The `gates` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum GateAction: String, Sendable, Codable, CaseIterable {
    case fail, warn, ignore

    /// The action `policy` (finding → action, as `gates.policy`) gives a finding: its reason's
    /// entry, else its category's, else fail; `strict` makes a warning a failure.
    public static func resolve(_ policy: [String: String], reason: String, category: String, strict: Bool)
        -> GateAction
    {
        let named = policy[reason] ?? policy[category]
        let action = named.flatMap(GateAction.init(rawValue:)) ?? .fail
        return strict && action == .warn ? .fail : action
    }
}

public struct GatesSection: ConfigSection {
    /// Finding → action. Keys are TFDV anomaly reason names (e.g. SCHEMA_NEW_COLUMN) or the
    /// categories `anomalies` (every other anomaly), `drift`, `skew`, `metrics`, `infra`.
    public var policy: OrderedPairs<GateAction>
    /// Treat warnings as failures (also `--strict`).
    public var strict: Bool
    /// Feature → drift threshold (against the previous span, or the data at the merge-base),
    /// and → skew threshold (against `data.serving`), measured on shared buckets.
    public var drift: OrderedPairs<DriftThreshold>
    public var skew: OrderedPairs<DriftThreshold>

    public enum Key: String, ConfigKey { case policy, strict, drift, skew }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        var policy: [(name: String, value: GateAction)] = Self.defaults
        for pair in f.pairs(.policy) ?? [] {
            let path = f.keyPath(.policy) + "." + pair.name
            guard GatePolicyNames.all.contains(pair.name) else {
                let hint =
                    Suggestions.nearest(to: pair.name, in: GatePolicyNames.all).map { "did you mean '\($0)'?" }
                    ?? "keys are the categories \(GatePolicyNames.categories.joined(separator: ", ")) or a TFDV anomaly reason"
                f.reader.report(pair.keyNode, path, "unknown gate finding '\(pair.name)'", hint: hint)
                continue
            }
            guard let action = ConfigValue.choice(pair.value, f.reader, path, as: GateAction.self) else { continue }
            if let index = policy.firstIndex(where: { $0.name == pair.name }) {
                policy[index].value = action
            } else {
                policy.append((pair.name, action))
            }
        }
        self.policy = OrderedPairs(policy)
        strict = f.bool(.strict, default: false)
        drift = Self.thresholds(f, .drift)
        skew = Self.thresholds(f, .skew)
    }

    /// `feature: 0.1` (the feature's own measure) or `feature: {l_infinity: 0.1, jensen_shannon: 0.05}`.
    private static func thresholds(_ f: Fields<Key>, _ key: Key) -> OrderedPairs<DriftThreshold> {
        var result: [(name: String, value: DriftThreshold)] = []
        for pair in f.pairs(key) ?? [] {
            let path = f.keyPath(key) + "." + pair.name
            if case .mapping = pair.value {
                let threshold = DriftThreshold(Fields<DriftThreshold.Key>(f.reader, path: path, node: pair.value))
                if threshold.lInfinity == nil, threshold.jensenShannon == nil {
                    f.reader.report(
                        pair.value, path, "'\(path)' sets no threshold",
                        hint: "write l_infinity: 0.1 (categorical) or jensen_shannon: 0.1 (numeric), or one number")
                    continue
                }
                result.append((pair.name, threshold))
            } else if let value = ConfigValue.double(pair.value, f.reader, path, in: 0...1) {
                result.append((pair.name, DriftThreshold(any: value)))
            }
        }
        return OrderedPairs(result)
    }

    /// The policy as finding → action name.
    public var actions: [String: String] {
        var actions: [String: String] = [:]
        for pair in policy { actions[pair.name] = pair.value.rawValue }
        return actions
    }

    static let defaults: [(name: String, value: GateAction)] = [
        ("anomalies", .fail), ("drift", .fail), ("skew", .fail), ("metrics", .fail), ("infra", .fail),
    ]
}

/// One feature's drift or skew threshold in `gates.drift` / `gates.skew`: a distance in [0, 1]
/// above which the finding fails (or what `gates.policy` says). A bare number applies the
/// feature's own measure: L-infinity for a categorical feature (text, or integers the schema
/// marks `is_categorical`), Jensen–Shannon divergence for a numeric one.
public struct DriftThreshold: ConfigSection, Hashable {
    public var any: Double?
    public var lInfinity: Double?
    public var jensenShannon: Double?

    public enum Key: String, ConfigKey { case lInfinity = "l_infinity", jensenShannon = "jensen_shannon" }

    public init(any: Double? = nil, lInfinity: Double? = nil, jensenShannon: Double? = nil) {
        self.any = any
        self.lInfinity = lInfinity
        self.jensenShannon = jensenShannon
    }

    init(_ f: Fields<Key>) {
        any = nil
        lInfinity = f.optionalDouble(.lInfinity, in: 0...1)
        jensenShannon = f.optionalDouble(.jensenShannon, in: 0...1)
    }

    /// The thresholds for a feature that is categorical or not.
    public func resolved(categorical: Bool) -> (lInfinity: Double?, jensenShannon: Double?) {
        guard let any else { return (lInfinity, jensenShannon) }
        return categorical ? (any, nil) : (nil, any)
    }

    public func encode(to encoder: any Encoder) throws {
        if let any {
            var container = encoder.singleValueContainer()
            try container.encode(any)
            return
        }
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(lInfinity, forKey: .lInfinity)
        try container.encodeIfPresent(jensenShannon, forKey: .jensenShannon)
    }
}
