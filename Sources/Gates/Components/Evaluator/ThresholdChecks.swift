import Foundation
import Pipeline

/// `evaluation.thresholds` checked against the candidate's slice metrics and, for change
/// thresholds, the baseline's: one ``CheckResult`` per bound and slice, class name
/// `mlops.gate.evaluation.<slice>`.
///
/// TFMA's semantics: `lower_bound` passes when the value is at least the bound, `upper_bound`
/// when at most. A change threshold compares candidate − baseline: with `higher_is_better` the
/// change must be at least `absolute` (`absolute: -0.01` allows a drop of 0.01) and the
/// relative change, (candidate − baseline) / |baseline|, at least `relative`; with
/// `lower_is_better`, at most. What cannot be measured never passes:
/// - a metric that is undefined on the slice (NaN: one class only) fails;
/// - a threshold on a slice with no eval rows fails, naming the slice;
/// - a slice below `min_slice_size` is skipped (reported, not gated);
/// - with no baseline, or a baseline that lacks the slice or the metric, a change threshold is
///   skipped and says why.
///
/// `policy` decides what a failed metric check does (`gates.policy.metrics`): fail, warn or
/// ignore (reported as skipped).
public enum ThresholdChecks {
    public static func check(
        _ thresholds: [ThresholdSpec], candidate: [SliceMetrics], baseline: [SliceMetrics]?,
        allowNoThresholds: Bool = false, policy: PolicyAction = .fail
    ) -> [CheckResult] {
        guard !thresholds.isEmpty else {
            return [
                CheckResult(
                    className: "mlops.gate.evaluation", name: "thresholds",
                    outcome: allowNoThresholds ? .skipped : .failed,
                    detail: allowNoThresholds
                        ? "no thresholds: nothing was checked (evaluation.allow_no_thresholds: true)"
                        : "a gate without thresholds blesses nothing: set evaluation.thresholds, or "
                            + "evaluation.allow_no_thresholds: true to bless without checks")
            ]
        }
        let candidates = Dictionary(candidate.map { ($0.slice, $0) }, uniquingKeysWith: { first, _ in first })
        let baselines = baseline.map { Dictionary($0.map { ($0.slice, $0) }, uniquingKeysWith: { first, _ in first }) }
        var results: [CheckResult] = []
        for threshold in thresholds {
            let slices = threshold.slice == "*" ? candidate.filter(\.gated).map(\.slice) : [threshold.slice]
            for slice in slices {
                results += check(
                    threshold, slice: slice, candidate: candidates[slice], baseline: baselines.map { $0[slice] },
                    policy: policy)
            }
        }
        return results
    }

    static func check(
        _ threshold: ThresholdSpec, slice: String, candidate: SliceMetrics?, baseline: SliceMetrics??,
        policy: PolicyAction
    ) -> [CheckResult] {
        let className = "mlops.gate.evaluation.\(slice)"
        let metric = threshold.metric
        var bounds: [(name: String, test: (Double) -> Bool)] = []
        if let lower = threshold.lowerBound { bounds.append(("\(metric) >= \(format(lower))", { $0 >= lower })) }
        if let upper = threshold.upperBound { bounds.append(("\(metric) <= \(format(upper))", { $0 <= upper })) }
        var results: [CheckResult] = []
        func add(_ name: String, _ outcome: CheckResult.Outcome, _ detail: String) {
            results.append(
                CheckResult(className: className, name: name, outcome: outcome, detail: detail).under(policy, "metrics")
            )
        }
        let changeNames = changeBounds(threshold)
        guard let candidate, candidate.size > 0 else {
            for name in bounds.map(\.name) + changeNames.map(\.name) {
                add(name, .failed, "the slice '\(slice)' has no eval rows: the threshold cannot be checked")
            }
            return results
        }
        guard candidate.gated else {
            for name in bounds.map(\.name) + changeNames.map(\.name) {
                add(name, .skipped, "the slice has \(candidate.size) rows, fewer than evaluation.min_slice_size")
            }
            return results
        }
        guard let value = candidate.metrics[metric] else {
            for name in bounds.map(\.name) + changeNames.map(\.name) {
                add(name, .failed, "\(metric) is not computed for this model's task")
            }
            return results
        }
        for (name, test) in bounds {
            if value.isNaN {
                add(name, .failed, "\(metric) is undefined on this slice (for example, one class only)")
            } else {
                add(name, test(value) ? .passed : .failed, "\(metric) = \(format(value))")
            }
        }
        for (name, test) in changeNames {
            guard let baseline else {
                add(name, .skipped, "no baseline: change thresholds were not checked")
                continue
            }
            guard let reference = baseline?.metrics[metric], !reference.isNaN, baseline?.gated == true else {
                add(name, .skipped, "the baseline has no \(metric) on this slice: the change was not checked")
                continue
            }
            if value.isNaN {
                add(name, .failed, "\(metric) is undefined on this slice (for example, one class only)")
                continue
            }
            let change = value - reference
            let relative = reference == 0 ? Double.nan : change / abs(reference)
            let passed = test(change, relative)
            add(
                name, passed ? .passed : .failed,
                "\(metric) \(format(value)) against the baseline's \(format(reference)): change \(signed(change))"
                    + (relative.isNaN ? "" : " (\(signed(100 * relative))%)"))
        }
        return results
    }

    /// The change bounds of a threshold, named for reports.
    static func changeBounds(_ threshold: ThresholdSpec) -> [(name: String, test: (Double, Double) -> Bool)] {
        guard let change = threshold.change else { return [] }
        let higher = change.direction == .higherIsBetter
        let symbol = higher ? ">=" : "<="
        var bounds: [(String, (Double, Double) -> Bool)] = []
        if let absolute = change.absolute {
            bounds.append(
                (
                    "\(threshold.metric) change \(symbol) \(signed(absolute)) vs baseline",
                    { change, _ in higher ? change >= absolute : change <= absolute }
                ))
        }
        if let relative = change.relative {
            bounds.append(
                (
                    "\(threshold.metric) relative change \(symbol) \(signed(100 * relative))% vs baseline",
                    { _, ratio in !ratio.isNaN && (higher ? ratio >= relative : ratio <= relative) }
                ))
        }
        return bounds
    }

    /// A value in its shortest form up to 6 significant digits: `0.75`, `0.812345`.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        var text = String(format: "%.6g", value)
        if text.contains("e") { return text }
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + format(value) }
}
