import Foundation
import MLOpsCore
import Metadata
import XGBoostKit

/// The per-round metric history the Trainer writes beside the model (`history.json`).
public struct TrainingHistory: Sendable, Codable, Equatable {
    public struct Round: Sendable, Codable, Equatable {
        public let round: Int
        public let train: Double?
        public let eval: Double?
    }

    public static let fileName = "history.json"
    public let task: TaskKind
    public let objective: String
    public let metric: String
    /// The round kept (0-based): the best on the eval split when early stopping was on.
    public let bestRound: Int
    public let rounds: [Round]
    public let features: [String]
    /// A binary model's decision threshold (`evaluation.decision_threshold`): `predicted_class`
    /// is 1 at or above it, in the Evaluator, serve and infer alike. Nil (0.5) when not set, and
    /// in folders written before mlops stored it.
    public var decisionThreshold: Double?

    enum CodingKeys: String, CodingKey {
        case task, objective, metric, bestRound = "best_round", rounds, features
        case decisionThreshold = "decision_threshold"
    }
}

/// Trainer, built in: XGBoost through its C API on the transformed splits, early stopping on
/// the eval split, fixed seeds (two runs give the same model bytes). Output `model`, a
/// servable model folder (``ModelFolder``): `model.json` (XGBoost's JSON format with feature
/// names), `history.json`, and the fitted `transform.json` and `schema.pbtxt` it goes with.
///
/// Its hyperparameters are inline, read from a file when the component is made (so the
/// file's values are part of the key), or the Tuner's best trial (input `hyperparameters`).
public struct TrainerComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let task: TaskKind
        public let objective: String?
        public let booster: BoosterKind
        public let rounds: Int
        public let earlyStoppingRounds: Int?
        public let numClass: Int?
        public let threads: Int
        public let seed: Int
        public let evalMetric: String?
        /// XGBoost parameters from `trainer.hyperparameters` (inline or from its file), in order.
        public let hyperparameters: [Hyperparameter]
        public let missingLabel: MissingLabelPolicy
        /// An external trainer program (run with `MLOPS_FN_ARGS`), nil for the built-in one.
        public let command: String?
        public let timeoutSeconds: Int
        /// `evaluation.decision_threshold` when it is not 0.5, stored with the model.
        public let decisionThreshold: Double?
    }

    public let id = Component.trainer
    public let version = "3"
    public let parameters: Parameters
    public let inputs: [String: InputBinding]
    public let outputs = Component.trainer.outputs
    /// Globs of the code the external command runs (`paths.code`): fingerprinted into the key.
    let code: [String]
    let schemaPath: String?
    /// `trainer.hyperparameters: {file: PATH}`: read with the other paths for lineage.
    let hyperparameterFile: String?

    /// - Parameters:
    ///   - root: where a hyperparameters file is read from (not needed otherwise).
    ///   - schemaFrom: the component whose schema is copied into the model folder; nil for
    ///     a training that is not kept (a Tuner trial).
    public init(
        trainer: TrainerSection, code: [String] = [], schemaPath: String? = nil, root: URL? = nil,
        schemaFrom: Component? = nil, decisionThreshold: Double = 0.5
    ) throws(ConfigError) {
        self.code = trainer.command == nil ? [] : code
        self.schemaPath = schemaPath
        var hyperparameters: [(name: String, value: ParameterValue)] = []
        // A kept model carries its transform and schema; a Tuner trial's does not.
        var names = ["transformed"] + (schemaFrom == nil ? [] : ["transform", "schema"])
        hyperparameterFile = if case .file(let path) = trainer.hyperparameters { path } else { nil }
        switch trainer.hyperparameters {
        case .inline(let pairs): hyperparameters = pairs.pairs
        case .file(let path):
            hyperparameters = try HyperparameterFile.load(path, root: root ?? URL(fileURLWithPath: "."))
        case .fromTuner: names.append("hyperparameters")
        }
        inputs = Component.trainer.bindings(names, schema: schemaFrom)
        parameters = Parameters(
            task: trainer.task, objective: trainer.objective, booster: trainer.booster,
            rounds: trainer.rounds, earlyStoppingRounds: trainer.earlyStoppingRounds, numClass: trainer.numClass,
            threads: trainer.threads, seed: trainer.seed, evalMetric: trainer.evalMetric,
            hyperparameters: hyperparameters.map { Hyperparameter($0.name, $0.value) },
            missingLabel: trainer.missingLabel,
            command: trainer.command, timeoutSeconds: trainer.timeoutSeconds,
            decisionThreshold: decisionThreshold == 0.5 ? nil : decisionThreshold)
    }

    public func readPaths(root: URL) throws -> [String] {
        // The external program is handed the schema: it is an input of its result.
        var files: [String] = parameters.command != nil ? schemaPath.map { [$0] } ?? [] : []
        if let hyperparameterFile { files.append(hyperparameterFile) }
        for pattern in code {
            let compiled = SpanPattern(pattern)
            for path in SpanResolver.candidates(below: compiled.literalFolder, root: root)
            where compiled.match(path) != nil {
                files.append(path)
            }
        }
        return files.sorted()
    }

    /// Copies the fitted transform and the schema beside the model, so the model folder is
    /// all that serving and bulk inference need.
    func copyServingFiles(_ context: ExecutionContext, into folder: URL) throws {
        for (input, file) in [("transform", ModelFolder.transformFile), ("schema", ModelFolder.schemaFile)] {
            guard let artifact = context.inputs[input] else { continue }
            let data: Data
            do { data = try Data(contentsOf: artifact.url.appendingPathComponent(file)) } catch {
                throw ArtifactError(
                    path: artifact.url.appendingPathComponent(file).path,
                    detail: "cannot be read: \((error as NSError).localizedDescription)")
            }
            try AtomicFile.write(data, to: folder.appendingPathComponent(file))
        }
    }

    /// A split as the trainer takes it: row-major features and labels.
    struct Split {
        var values: [Float]
        var labels: [Float]
        var rows: Int
    }

    /// The transformed splits, read and checked: what the Trainer and each Tuner trial train on.
    struct TrainingData {
        let layout: TransformedSplits
        let label: String
        let train: Split
        let eval: Split
        var names: [String] { layout.features }
    }

    /// What the data and the configuration decide before training: the task, objective,
    /// eval metric and number of classes.
    struct Setup {
        /// Binary, multiclass or regression: never auto.
        let task: TaskKind
        let objective: String
        let metric: String
        let numClass: Int?
        let threads: Int
    }

    /// The features (row-major) and labels of a transformed split; rows without a label are
    /// dropped or refused per `missing_label`.
    func matrix(_ folder: URL, _ split: TransformedSplits.Split, features: Int, label: String) throws -> Split {
        guard let labelsFile = split.labels else { throw TrainerError(.noLabel(label)) }
        let values = try TransformComponent.readFloats(
            folder.appendingPathComponent(split.features), count: split.rows * features)
        let labels = try TransformComponent.readFloats(folder.appendingPathComponent(labelsFile), count: split.rows)
        let keep = labels.indices.filter { !labels[$0].isNaN }
        guard keep.count < split.rows else { return Split(values: values, labels: labels, rows: split.rows) }
        if parameters.missingLabel == .fail {
            throw TrainerError(.missingLabels(label, split: split.name, count: split.rows - keep.count))
        }
        var kept = [Float]()
        kept.reserveCapacity(keep.count * features)
        for row in keep { kept.append(contentsOf: values[(row * features)..<((row + 1) * features)]) }
        return Split(values: kept, labels: keep.map { labels[$0] }, rows: keep.count)
    }

    /// Reads the Transform's output: train and eval splits with their labels.
    func trainingData(_ transformed: ResolvedArtifact) throws -> TrainingData {
        let layout = try readArtifactJSON(
            TransformedSplits.self, transformed.url.appendingPathComponent(TransformedSplits.fileName))
        guard let label = layout.label else { throw TrainerError(.noLabel("(none)")) }
        guard let trainSplit = layout.splits.first(where: { $0.name == "train" }),
            let evalSplit = layout.splits.first(where: { $0.name == "eval" })
        else { throw InternalError("the transformed examples need a train and an eval split") }
        let train = try matrix(transformed.url, trainSplit, features: layout.features.count, label: label)
        let eval = try matrix(transformed.url, evalSplit, features: layout.features.count, label: label)
        guard train.rows > 0 else { throw TrainerError(.noRows) }
        return TrainingData(layout: layout, label: label, train: train, eval: eval)
    }

    /// The task from the configuration or the train labels, and what follows from it.
    func setup(_ data: TrainingData) throws -> Setup {
        let classes = Set(data.train.labels)
        var task = parameters.task
        if task == .auto {
            task =
                classes.isSubset(of: [0, 1])
                ? .binary
                : classes.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) && classes.count <= 100
                    ? .multiclass : .regression
        }
        if task != .regression, classes.count < 2 {
            throw TrainerError(.oneClass(data.label, value: classes.first.map { Double($0) }))
        }
        let (objective, metric): (String, String) =
            switch task {
            case .binary: ("binary:logistic", "auc")
            case .multiclass: ("multi:softprob", "mlogloss")
            case .regression, .auto: ("reg:squarederror", "rmse")
            }
        return Setup(
            task: task, objective: parameters.objective ?? objective, metric: parameters.evalMetric ?? metric,
            numClass: task == .multiclass ? parameters.numClass ?? (Int(classes.max() ?? 0) + 1) : nil,
            threads: parameters.threads > 0 ? parameters.threads : ProcessInfo.processInfo.activeProcessorCount)
    }

    /// XGBoost's settings for one training: the fixed ones, then the hyperparameters in order.
    func settings(_ setup: Setup, metric: String, threads: Int, hyperparameters: [(String, String)]) -> [(
        String, String
    )] {
        var settings: [(String, String)] = [
            ("objective", setup.objective), ("booster", parameters.booster.rawValue), ("seed", String(parameters.seed)),
            ("nthread", String(threads)), ("eval_metric", metric),
        ]
        if let numClass = setup.numClass { settings.append(("num_class", String(numClass))) }
        return settings + hyperparameters
    }

    /// The hyperparameters this training uses: its own, or the Tuner's best.
    func hyperparameters(_ context: ExecutionContext) throws -> [(String, String)] {
        guard let tuned = context.inputs["hyperparameters"] else {
            return parameters.hyperparameters.map { ($0.name, $0.value.description) }
        }
        let result = try readArtifactJSON(TuningResult.self, tuned.url.appendingPathComponent(TuningResult.fileName))
        return result.hyperparameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value.description) }
    }

    /// The matrices XGBoost trains on, with labels and feature names.
    static func matrices(_ data: TrainingData, threads: Int) throws -> (train: DMatrix, eval: DMatrix) {
        func matrix(_ split: Split) throws -> DMatrix {
            let matrix = try DMatrix(
                values: split.values, rows: split.rows, columns: data.names.count, threads: threads)
            try matrix.setLabels(split.labels)
            try matrix.setFeatureNames(data.names)
            return matrix
        }
        return (try matrix(data.train), try matrix(data.eval))
    }

    /// One XGBoost training: rounds with the eval split's metric after each, early stopping
    /// when configured. Returns the booster with every round and the round to keep.
    ///
    /// Binary AUC on the eval split is computed by mlops (``EvalMargins``, XGBoost's value)
    /// when the round's trees can be read: XGBoost's per-round evaluation costs nearly as much
    /// as the round itself on large splits. Otherwise, and for every other metric, XGBoost's.
    func boost(
        settings: [(String, String)], train: DMatrix, eval: DMatrix, evalSplit: Split, metric: String,
        threads: Int, context: ExecutionContext, progress: (Int) -> Void
    ) throws -> (booster: Booster, history: [TrainingHistory.Round], best: Int) {
        let booster: Booster
        do {
            booster = try Booster(parameters: settings, cache: [train, eval])
        } catch {
            throw TrainerError(.xgboost(error.message))
        }
        let setting = { (name: String) in settings.last { $0.0 == name }?.1 }
        let objective = setting("objective") ?? ""
        var own: EvalMargins? =
            metric == "auc" && evalSplit.rows > 0 && setting("booster") == "gbtree"
                && ["binary:logistic", "binary:logitraw"].contains(objective)
            ? EvalMargins(split: evalSplit, matrix: eval, threads: threads, logistic: objective == "binary:logistic")
            : nil
        let higherIsBetter = Self.higherIsBetter(metric)
        var history: [TrainingHistory.Round] = []
        var best = 0
        var bestValue: Double?
        for round in 0..<parameters.rounds {
            try context.checkCancellation()
            do {
                try booster.update(iteration: round, train: train)
                if own != nil, try own?.add(round, of: booster) == true, let auc = own?.auc() {
                    history.append(.init(round: round, train: nil, eval: auc))
                } else {
                    own = nil  // XGBoost's evaluation from here on (its cache holds every round)
                    // The eval split only, as Python's xgboost.train with evals=[eval] does: a
                    // metric over the whole train split every round costs more than the round.
                    let results = try booster.evaluate(
                        iteration: round, on: evalSplit.rows == 0 ? [("train", train)] : [("eval", eval)])
                    let value = { (set: String) in results.first { $0.0 == "\(set)-\(metric)" }?.1 }
                    history.append(.init(round: round, train: value("train"), eval: value("eval")))
                }
            } catch {
                throw TrainerError(.xgboost(error.message))
            }
            progress(1)
            if let current = history.last?.eval {
                if bestValue == nil || (higherIsBetter ? current > (bestValue ?? 0) : current < (bestValue ?? 0)) {
                    bestValue = current
                    best = round
                }
                if let patience = parameters.earlyStoppingRounds, round - best >= patience { break }
            } else {
                best = round
            }
        }
        // Without early stopping every round is kept, whatever round scored best.
        if parameters.earlyStoppingRounds == nil { best = history.count - 1 }
        return (booster, history, best)
    }

    /// Whether a larger value of the metric is better (AUC) or a smaller one (log loss, RMSE,
    /// MAPE). `ndcg@5` and `map@10-` are judged by their name before the `@`.
    static func higherIsBetter(_ metric: String) -> Bool {
        let name = metric.split(separator: "@", maxSplits: 1).first.map(String.init) ?? metric
        return ["auc", "aucpr", "map", "ndcg", "pre", "interval-regression-accuracy"].contains(name)
    }

    /// What a training reports for tracking: the metric on each split by round (`train-auc`,
    /// `eval-auc` at step = round, as MLflow's XGBoost autologging names them), the round kept,
    /// and the hyperparameters it used (`trainer.max_depth`; the Tuner's or a file's too).
    static func record(
        history: [TrainingHistory.Round], best: Int, metric: String, hyperparameters: [(String, String)]
    ) -> ExecutionRecord {
        let now = Date().timeIntervalSince1970
        var metrics: [TrackedMetric] = []
        for round in history {
            if let train = round.train {
                metrics.append(
                    TrackedMetric(key: "train-\(metric)", step: Int64(round.round), value: train, timestamp: now))
            }
            if let eval = round.eval {
                metrics.append(
                    TrackedMetric(key: "eval-\(metric)", step: Int64(round.round), value: eval, timestamp: now))
            }
        }
        if best >= 0 { metrics.append(TrackedMetric(key: "best_round", value: Double(best), timestamp: now)) }
        var params: [String: String] = [:]
        for (name, value) in hyperparameters { params["trainer.\(name)"] = value }
        return ExecutionRecord(params: params, metrics: metrics)
    }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let data = try trainingData(try context.input("transformed"))
        let setup = try setup(data)
        let hyperparameters = try hyperparameters(context)
        if let command = parameters.command {
            return try runExternal(
                command, context: context, data: data, setup: setup, hyperparameters: hyperparameters)
        }
        let names = data.names
        let (trainMatrix, evalMatrix) = try Self.matrices(data, threads: setup.threads)
        let progress = context.progress(parameters.rounds)
        let (booster, history, best) = try boost(
            settings: settings(setup, metric: setup.metric, threads: setup.threads, hyperparameters: hyperparameters),
            train: trainMatrix, eval: evalMatrix, evalSplit: data.eval, metric: setup.metric, threads: setup.threads,
            context: context,
            progress: progress)
        let kept = best + 1 < history.count ? try booster.slice(rounds: best + 1) : booster
        try kept.setFeatureNames(names)
        let folder = context.output("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try kept.serialized(format: "json"), to: folder.appendingPathComponent("model.json"))
        let record = TrainingHistory(
            task: setup.task, objective: setup.objective, metric: setup.metric, bestRound: best, rounds: history,
            features: names, decisionThreshold: setup.task == .binary ? parameters.decisionThreshold : nil)
        try AtomicFile.write(
            try artifactEncoder.encode(record),
            to: folder.appendingPathComponent(TrainingHistory.fileName))
        try copyServingFiles(context, into: folder)
        let score = history[best].eval.map { String(format: "%.4f", $0) } ?? "–"
        let metric = setup.metric
        return ExecutorOutput(
            properties: [
                "model": ["task": setup.task.rawValue, "metric": metric, "eval": score, "rounds": String(best + 1)]
            ],
            summary: "\(setup.task), \(best + 1) of \(history.count) rounds kept, eval \(metric) \(score)",
            record: Self.record(history: history, best: best, metric: metric, hyperparameters: hyperparameters))
    }
}

extension TrainerComponent {
    /// Writes the transformed splits as CSV and `fn_args.json`, runs the command, then loads
    /// and checks the model it wrote: the transform's feature count, finite predictions on
    /// eval rows.
    func runExternal(
        _ command: String, context: ExecutionContext, data: TrainingData, setup: Setup,
        hyperparameters tuned: [(String, String)]
    ) throws -> ExecutorOutput {
        let (train, eval, task) = (data.train, data.eval, setup.task)
        let manager = FileManager.default
        let work = context.staging.appendingPathComponent("trainer-input", isDirectory: true)
        try manager.createDirectory(at: work, withIntermediateDirectories: true)
        let (names, label) = (data.names, data.label)
        func csv(_ split: Split, _ name: String) throws -> String {
            var text = (names + [label]).joined(separator: ",") + "\n"
            for row in 0..<split.rows {
                var fields: [String] = []
                for index in 0..<names.count {
                    let value = split.values[row * names.count + index]
                    fields.append(value.isNaN ? "" : "\(value)")
                }
                fields.append("\(split.labels[row])")
                text += fields.joined(separator: ",") + "\n"
            }
            let url = work.appendingPathComponent("\(name).csv")
            try AtomicFile.write(Data(text.utf8), to: url)
            return url.path
        }
        let folder = context.output("model")
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        let modelPath = folder.appendingPathComponent("model.json")
        let hyperparameters = Dictionary(tuned, uniquingKeysWith: { _, last in last })
        let arguments = TrainerFnArgs(
            trainFiles: [try csv(train, "train")], evalFiles: [try csv(eval, "eval")],
            schemaPath: schemaPath.map { context.root.appendingPathComponent($0).path },
            transformPath: try context.input("transformed").url.appendingPathComponent(TransformedSplits.fileName).path,
            label: label, features: names, task: task, numClass: setup.numClass, rounds: parameters.rounds,
            seed: parameters.seed, threads: setup.threads, hyperparameters: hyperparameters, modelPath: modelPath.path)
        let argumentsURL = work.appendingPathComponent("fn_args.json")
        try AtomicFile.write(try artifactEncoder.encode(arguments), to: argumentsURL)
        let outcome = try ExternalProcess.run(
            command, in: context.root, environment: ["MLOPS_FN_ARGS": argumentsURL.path],
            timeout: TimeInterval(parameters.timeoutSeconds), output: context.log)
        try context.checkCancellation()  // stopped by the run's SIGTERM: interrupted, not failed
        if outcome.timedOut {
            throw TrainerError(
                .external(
                    command,
                    "ran past trainer.timeout_seconds (\(parameters.timeoutSeconds) s) and was killed with its process group",
                    tail: outcome.tail))
        }
        guard outcome.status == 0 else {
            throw TrainerError(.external(command, "exited with status \(outcome.status)", tail: outcome.tail))
        }
        guard manager.fileExists(atPath: modelPath.path) else {
            throw TrainerError(.external(command, "wrote no model at MLOPS_FN_ARGS model_path", tail: outcome.tail))
        }
        let booster: Booster
        do {
            booster = try Booster(contentsOf: modelPath.path)
        } catch {
            throw TrainerError(
                .external(command, "wrote a model XGBoost cannot read: \(error.detail)", tail: outcome.tail))
        }
        let count = try booster.featureCount()
        guard count == names.count else {
            throw TrainerError(
                .external(command, "wrote a model with \(count) features; the transform gives \(names.count)", tail: [])
            )
        }
        let sample = min(eval.rows, 50)
        if sample > 0 {
            let matrix = try DMatrix(
                values: Array(eval.values.prefix(sample * names.count)), rows: sample, columns: names.count)
            let predictions = try booster.predict(matrix)
            guard predictions.allSatisfy(\.isFinite) else {
                throw TrainerError(.external(command, "wrote a model that predicts non-finite values", tail: []))
            }
        }
        // The model as mlops keeps it: XGBoost JSON with the transform's feature names.
        try booster.setFeatureNames(names)
        try AtomicFile.write(try booster.serialized(format: "json"), to: modelPath)
        let record = TrainingHistory(
            task: task, objective: setup.objective, metric: setup.metric, bestRound: -1, rounds: [], features: names,
            decisionThreshold: task == .binary ? parameters.decisionThreshold : nil)
        try AtomicFile.write(
            try artifactEncoder.encode(record),
            to: folder.appendingPathComponent(TrainingHistory.fileName))
        try copyServingFiles(context, into: folder)
        return ExecutorOutput(
            properties: ["model": ["task": task.rawValue, "trainer": "external"]],
            summary: "\(task), external trainer; model checked (\(count) features, finite predictions)",
            record: Self.record(history: [], best: -1, metric: setup.metric, hyperparameters: tuned))
    }
}

/// The Trainer cannot train: no label, no rows, one class, missing labels, or XGBoost refused.
public struct TrainerError: MLOpsError, Equatable {
    public enum Kind: Sendable, Equatable {
        case noLabel(String)
        case noRows
        case oneClass(String, value: Double?)
        case missingLabels(String, split: String, count: Int)
        case xgboost(String)
        case external(String, String, tail: [String])
        /// A Tuner trial XGBoost refused: its number, hyperparameters and XGBoost's message.
        case trial(Int, String, String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var message: String {
        switch kind {
        case .noLabel(let name): "the transformed examples have no label column '\(name)'"
        case .noRows: "the train split has no rows with a label"
        case .oneClass(let name, let value):
            "the label '\(name)' has one class only in the train split (\(value.map { String($0) } ?? "none")): nothing to learn"
        case .missingLabels(let name, let split, let count):
            "\(count) row\(count == 1 ? "" : "s") of the \(split) split ha\(count == 1 ? "s" : "ve") no value for the label '\(name)'"
        case .xgboost(let detail): detail
        case .trial(let number, let point, let detail): "tuner trial \(number) (\(point)): \(detail)"
        case .external(let command, let what, let tail):
            "the trainer command `\(command)` \(what)"
                + (tail.isEmpty ? "" : "; its last output:\n    " + tail.suffix(8).joined(separator: "\n    "))
        }
    }

    public var hint: String? {
        switch kind {
        case .missingLabels: "set `trainer.missing_label: drop` to train on the labelled rows only"
        case .oneClass: "check the label expression and the data"
        case .xgboost: "check trainer.hyperparameters against XGBoost's parameter names and values"
        case .external: "run it by hand with MLOPS_FN_ARGS set to see the whole output"
        case .trial: "narrow tuner.search_space to values XGBoost accepts for that parameter"
        default: nil
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .xgboost, .trial: .configError
        default: .dataError
        }
    }
}
