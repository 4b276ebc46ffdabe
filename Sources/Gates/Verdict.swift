import MLOpsCore
import Pipeline

/// What a policy does with a finding: fail the gate, warn, or ignore it (`gates.policy`).
public typealias PolicyAction = GateAction

extension GateAction {
    /// The action `gates.policy` gives the category `key` (`metrics`, `infra`); fail when unlisted.
    public init(_ gates: GatesSection, _ key: String) {
        self = gates.policy[key] ?? .fail
    }
}

/// The outcome of one check (a metric threshold, a data anomaly, an infra probe).
public struct CheckResult: Sendable, Codable, Hashable {
    public enum Outcome: String, Sendable, Codable {
        case passed, failed, warned, skipped
    }

    /// A stable name such as `mlops.gate.evaluation.overall` (the JUnit class name).
    public let className: String
    /// The check itself, e.g. `auc >= 0.7`.
    public let name: String
    public let outcome: Outcome
    /// Why: the value, the bound, the policy that decided.
    public let detail: String

    public init(className: String, name: String, outcome: Outcome, detail: String) {
        self.className = className
        self.name = name
        self.outcome = outcome
        self.detail = detail
    }

    /// The check under `gates.policy.KEY`: a failure becomes a warning (`warn`) or is skipped
    /// (`ignore`), saying which policy decided.
    public func under(_ policy: PolicyAction, _ key: String) -> CheckResult {
        guard outcome == .failed, policy != .fail else { return self }
        return CheckResult(
            className: className, name: name, outcome: policy == .warn ? .warned : .skipped,
            detail: detail + " (gates.policy.\(key): \(policy.rawValue))")
    }
}

/// A gate's verdict is data; the exit status is decided from it once, at the top.
public struct GateVerdict: Sendable, Codable, Hashable {
    public let checks: [CheckResult]

    public init(checks: [CheckResult]) {
        self.checks = checks
    }

    /// Passed when no check failed and at least one check ran: a gate with nothing to
    /// check blesses nothing.
    public var passed: Bool {
        !checks.isEmpty && !checks.contains { $0.outcome == .failed }
            && checks.contains { $0.outcome == .passed || $0.outcome == .warned }
    }

    public var failures: [CheckResult] { checks.filter { $0.outcome == .failed } }
    public var warnings: [CheckResult] { checks.filter { $0.outcome == .warned } }

    /// `--strict`: warnings count as failures.
    public func strict() -> GateVerdict {
        GateVerdict(
            checks: checks.map {
                $0.outcome == .warned
                    ? CheckResult(
                        className: $0.className, name: $0.name, outcome: .failed, detail: $0.detail + " (--strict)")
                    : $0
            })
    }

    /// 0 when the gate passed, 1 when it failed. "Could not evaluate" is an error, never a verdict.
    public var exitStatus: ExitStatus { passed ? .success : .verdictFailed }
}
