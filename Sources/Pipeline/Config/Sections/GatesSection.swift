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

    public enum Key: String, ConfigKey { case policy, strict }
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
