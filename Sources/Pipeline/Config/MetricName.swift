/// The metrics the Evaluator computes and `evaluation.metrics` / `evaluation.thresholds`
/// name (DESIGN.md section 4): the one list both the configuration checks and the metrics use.
public enum MetricName: String, Sendable, CaseIterable, Codable {
    case auc, prAUC = "pr_auc", accuracy, precision, recall, f1, logLoss = "log_loss", brierScore = "brier_score"
    case calibrationError = "calibration_error", exampleCount = "example_count"
    case macroF1 = "macro_f1", weightedF1 = "weighted_f1"
    case rmse, mae, r2, mape

    /// The metrics computed for a task, in report order.
    public static func computed(for task: TaskKind) -> [MetricName] {
        switch task {
        case .binary:
            [
                .auc, .prAUC, .accuracy, .precision, .recall, .f1, .logLoss, .brierScore, .calibrationError,
                .exampleCount,
            ]
        case .multiclass: [.accuracy, .macroF1, .weightedF1, .logLoss, .exampleCount]
        case .regression: [.rmse, .mae, .r2, .mape, .exampleCount]
        case .auto: []
        }
    }

    /// The metric a task's report leads with.
    public static func headline(for task: TaskKind) -> MetricName {
        switch task {
        case .binary: .auc
        case .regression: .rmse
        case .multiclass, .auto: .accuracy
        }
    }

    /// Every name, without repeats, in the order the tasks list them.
    public static var names: [String] {
        var seen = Set<String>()
        return [TaskKind.binary, .multiclass, .regression].flatMap(computed).map(\.rawValue).filter {
            seen.insert($0).inserted
        }
    }
}

extension Dictionary where Key == String, Value == Double {
    /// A metric's value by name.
    public subscript(metric metric: MetricName) -> Double? {
        get { self[metric.rawValue] }
        set { self[metric.rawValue] = newValue }
    }
}
