import Foundation
import MLOpsCore
import Metadata
import Tabular
import XGBoostKit

/// What the Tuner found (`best_hyperparameters.json`): the best trial's hyperparameters, the
/// objective, and every trial with its score. The Trainer reads `hyperparameters` (with
/// `trainer.hyperparameters: from_tuner`); the same file, committed, can be imported with
/// `trainer.hyperparameters: {file: PATH}` so tuning does not rerun on every change.
public struct TuningResult: Codable, Sendable, Equatable {
    public struct Trial: Codable, Sendable, Equatable {
        /// 1-based, in plan order.
        public let trial: Int
        public let hyperparameters: [String: ParameterValue]
        /// The eval-split metric at the kept round; nil when XGBoost gave none (NaN).
        public let score: Double?
        /// Rounds kept (early stopping), as the Trainer would keep them.
        public let rounds: Int
    }

    public static let fileName = "best_hyperparameters.json"
    public let hyperparameters: [String: ParameterValue]
    public let metric: String
    public let direction: OptimizationDirection
    public let strategy: SearchStrategy
    public let bestTrial: Int
    public let score: Double?
    public let trials: [Trial]

    enum CodingKeys: String, CodingKey {
        case hyperparameters, metric, direction, strategy, bestTrial = "best_trial", score, trials
    }
}

/// Tuner: trains one built-in XGBoost model per trial of the search plan on the transformed
/// train split, scores each on the eval split, and keeps the best (the earliest on a tie).
/// Trials run in parallel up to the cores available, each with `nthread` = threads / trials
/// at once, so the machine is never oversubscribed. Output `best_hyperparameters`.
public struct TunerComponent: PipelineComponent {
    public static let output = "best_hyperparameters"

    public struct Parameters: Codable, Hashable, Sendable {
        /// The training every trial shares (objective, rounds, early stopping, seed).
        public let trainer: TrainerComponent.Parameters
        public let strategy: SearchStrategy
        public let trials: Int
        public let seed: Int
        public let parallel: Int
        public let metric: String?
        public let direction: OptimizationDirection?
        /// The planned trials, `max_depth=4 eta=0.1` each: the search space as it is searched.
        public let plan: [String]
    }

    public let id = Component.tuner
    public let version = "1"
    public let parameters: Parameters
    public let inputs = Component.tuner.bindings()
    public let outputs = Component.tuner.outputs
    let trainer: TrainerComponent
    let plan: SearchPlan
    let strategy: SearchStrategy

    public init(tuner: TunerSection, trainer section: TrainerSection) throws(ConfigError) {
        // Trials use the built-in trainer with the trainer's settings and only the trial's
        // hyperparameters (an external trainer is handed the best ones afterwards).
        var base = section
        base.hyperparameters = .inline(OrderedPairs())
        base.command = nil
        trainer = try TrainerComponent(trainer: base)
        strategy = tuner.strategy
        plan = SearchPlan(space: tuner.searchSpace, strategy: tuner.strategy, budget: tuner.trials, seed: tuner.seed)
        parameters = Parameters(
            trainer: trainer.parameters, strategy: tuner.strategy, trials: tuner.trials, seed: tuner.seed,
            parallel: tuner.parallel, metric: tuner.metric, direction: tuner.direction,
            plan: plan.trials.map(SearchPlan.describe))
    }

    public func readPaths(root: URL) throws -> [String] { [] }

    /// Exit 64 unless trial `number` is one of the search plan's (1 to its size; a grid smaller
    /// than the budget has fewer).
    public func checkTrial(_ number: Int) throws(UsageError) {
        guard !plan.trials.isEmpty, (1...plan.trials.count).contains(number) else {
            throw UsageError(
                "--trial \(number): the Tuner's search plan has trials 1 to \(plan.trials.count)",
                hint: "the exported pipeline runs one task per trial number")
        }
    }

    /// How the trials share the machine: at most the cores, the trials and the trainer's
    /// threads trials at a time, each with an equal share of the threads. A trial run alone
    /// (``runTrial(_:context:)``) uses the same share, so it trains the same model.
    func workers(_ setup: TrainerComponent.Setup, trials: Int) -> (workers: Int, threads: Int) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let workers = max(1, min(parameters.parallel > 0 ? parameters.parallel : cores, cores, trials, setup.threads))
        return (workers, max(1, setup.threads / workers))
    }

    /// The metric and direction trials are scored by.
    func objective(_ setup: TrainerComponent.Setup) -> (metric: String, direction: OptimizationDirection) {
        let metric = parameters.metric ?? setup.metric
        return (metric, parameters.direction ?? (TrainerComponent.higherIsBetter(metric) ? .maximize : .minimize))
    }

    /// Trains trial `number` (1-based, in plan order) alone, as a fanned-out task does, and
    /// keeps its result in `context.trials` under the Tuner's cache key for the gathering
    /// Tuner to read.
    public func runTrial(_ number: Int, context: ExecutionContext) throws -> TuningResult.Trial {
        try checkTrial(number)
        let trials = plan.trials
        let data = try trainer.trainingData(try context.input("transformed"))
        let setup = try trainer.setup(data)
        let (metric, _) = objective(setup)
        let (_, threads) = workers(setup, trials: trials.count)
        let matrices = try TrainerComponent.matrices(data, threads: threads)
        let progress = context.progress(parameters.trainer.rounds)
        let trial = try train(
            number - 1, trials[number - 1], data: data, setup: setup, metric: metric, threads: threads,
            matrices: matrices, context: context, progress: progress)
        try context.trials?.save(key: context.cacheKey, trial: number, data: try artifactEncoder.encode(trial))
        return trial
    }

    /// One trial: the trainer's settings with the point's hyperparameters, scored on eval.
    func train(
        _ index: Int, _ point: SearchPlan.Point, data: TrainerComponent.TrainingData, setup: TrainerComponent.Setup,
        metric: String, threads: Int, matrices: (train: DMatrix, eval: DMatrix), context: ExecutionContext,
        progress: @escaping @Sendable (Int) -> Void
    ) throws -> TuningResult.Trial {
        do {
            let settings = trainer.settings(
                setup, metric: metric, threads: threads, hyperparameters: point.map { ($0.name, $0.value.description) })
            let (_, history, best) = try trainer.boost(
                settings: settings, train: matrices.train, eval: matrices.eval, evalSplit: data.eval, metric: metric,
                threads: threads, context: context, progress: progress)
            let score = history[best].eval.flatMap { $0.isNaN ? nil : $0 }
            return TuningResult.Trial(
                trial: index + 1, hyperparameters: Dictionary(point.map { ($0.name, $0.value) }) { $1 }, score: score,
                rounds: best + 1)
        } catch let error as TrainerError {
            guard case .xgboost(let detail) = error.kind else { throw error }
            throw TrainerError(.trial(index + 1, SearchPlan.describe(point), detail))
        }
    }

    /// A trial another task computed for this cache key, when it is there and is the plan's
    /// point (a result for other hyperparameters is not used).
    func precomputed(_ index: Int, _ point: SearchPlan.Point, context: ExecutionContext) -> TuningResult.Trial? {
        guard let store = context.trials, !context.cacheKey.isEmpty,
            let data = try? store.load(key: context.cacheKey, trial: index + 1),
            let trial = try? JSONDecoder().decode(TuningResult.Trial.self, from: data),
            trial.trial == index + 1,
            trial.hyperparameters == Dictionary(point.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        else { return nil }
        return trial
    }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let data = try trainer.trainingData(try context.input("transformed"))
        let setup = try trainer.setup(data)
        let (metric, direction) = objective(setup)
        let trials = plan.trials
        guard !trials.isEmpty else { throw InternalError("the search plan has no trials") }
        let (workers, threads) = workers(setup, trials: trials.count)
        let progress = context.progress(trials.count * parameters.trainer.rounds)
        let queue = TrialQueue(count: trials.count)
        // Trials fanned-out tasks already trained are read, not trained again.
        var gathered = 0
        for (index, point) in trials.enumerated() {
            guard let trial = precomputed(index, point, context: context) else { continue }
            queue.record(index, trial)
            queue.skip(index)
            progress(parameters.trainer.rounds)
            gathered += 1
        }
        if gathered > 0, let store = context.trials {
            context.log("\(gathered) of \(trials.count) trials gathered from their own tasks (\(store.location))")
        }
        let how =
            switch plan.gridSize {
            case .some(let size) where size > trials.count:
                "grid search: \(trials.count) of \(size) points, seed \(parameters.seed)"
            case .some: "grid search"
            case .none: "random search, seed \(parameters.seed)"
            }
        if gathered < trials.count {
            context.log(
                "\(trials.count - gathered) trial\(trials.count - gathered == 1 ? "" : "s") (\(how)), \(workers) at a time "
                    + "with \(threads) thread\(threads == 1 ? "" : "s") each; \(direction.rawValue) eval \(metric)")
        }
        _ = concurrentMap(gathered < trials.count ? workers : 0) { _ in
            let matrices: (train: DMatrix, eval: DMatrix)
            do {
                matrices = try TrainerComponent.matrices(data, threads: threads)
            } catch {
                queue.fail(error)
                return 0
            }
            while let index = queue.next() {
                let point = trials[index]
                let started = ContinuousClock.now
                do {
                    let trial = try train(
                        index, point, data: data, setup: setup, metric: metric, threads: threads, matrices: matrices,
                        context: context, progress: progress)
                    queue.record(index, trial)
                    let seconds = (ContinuousClock.now - started).inSeconds
                    context.log(
                        "trial \(index + 1)/\(trials.count): \(SearchPlan.describe(point)) → \(metric) "
                            + (trial.score.map { String(format: "%.4f", $0) } ?? "none")
                            + " (\(trial.rounds) rounds, \(String(format: "%.1f", seconds)) s)")
                } catch {
                    queue.fail(error)
                }
            }
            return 0
        }
        if let failure = queue.failure { throw failure }
        let results = queue.results.compactMap { $0 }
        // The best score in the chosen direction; the earliest trial on a tie; a trial
        // without a score never wins over one with a score.
        var best: TuningResult.Trial?
        for trial in results {
            guard let score = trial.score else { continue }
            if let current = best?.score,
                direction == .maximize ? score <= current : score >= current
            {
                continue
            }
            best = trial
        }
        guard let best = best ?? results.first else { throw InternalError("no trial finished") }
        let result = TuningResult(
            hyperparameters: best.hyperparameters, metric: metric, direction: direction, strategy: strategy,
            bestTrial: best.trial, score: best.score, trials: results)
        let folder = context.output(Self.output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(
            try artifactEncoder.encode(result), to: folder.appendingPathComponent(TuningResult.fileName))
        let chosen = best.hyperparameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: " ")
        let score = best.score.map { String(format: "%.4f", $0) } ?? "none"
        return ExecutorOutput(
            properties: [
                Self.output: [
                    "best_trial": String(best.trial), "trials": String(results.count), "metric": metric,
                    "score": score, "hyperparameters": chosen,
                ]
            ],
            summary: "\(results.count) trials, best #\(best.trial) eval \(metric) \(score): \(chosen)",
            record: Self.record(results, best: best))
    }
}

extension TunerComponent {
    /// What tuning reports for tracking: each trial's score at step = its number
    /// (`tuner/score`), the best score, and the best trial's hyperparameters (`tuner.best.NAME`).
    static func record(_ trials: [TuningResult.Trial], best: TuningResult.Trial) -> ExecutionRecord {
        let now = Date().timeIntervalSince1970
        var metrics = trials.map { trial in
            TrackedMetric(key: "tuner/score", step: Int64(trial.trial), value: trial.score ?? .nan, timestamp: now)
        }
        metrics.append(TrackedMetric(key: "tuner/best_score", value: best.score ?? .nan, timestamp: now))
        metrics.append(TrackedMetric(key: "tuner/best_trial", value: Double(best.trial), timestamp: now))
        var params: [String: String] = [:]
        for (name, value) in best.hyperparameters { params["tuner.best.\(name)"] = value.description }
        return ExecutionRecord(params: params, metrics: metrics)
    }
}

/// The trials handed to the workers one at a time, their results by index, and the first
/// failure (which stops the handing out). Every access is under `lock`; hence @unchecked Sendable.
private final class TrialQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var skipped: Set<Int> = []
    private let count: Int
    private(set) var results: [TuningResult.Trial?]
    private(set) var failure: (any Error)?

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        while nextIndex < count, skipped.contains(nextIndex) { nextIndex += 1 }
        guard failure == nil, nextIndex < count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    /// Marks a trial done already (gathered), so no worker takes it.
    func skip(_ index: Int) {
        lock.lock()
        skipped.insert(index)
        lock.unlock()
    }

    func record(_ index: Int, _ trial: TuningResult.Trial) {
        lock.lock()
        results[index] = trial
        lock.unlock()
    }

    func fail(_ error: any Error) {
        lock.lock()
        if failure == nil { failure = error }
        lock.unlock()
    }
}
