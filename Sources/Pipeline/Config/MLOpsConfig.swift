import Foundation
import MLOpsCore
import Metadata
import Yams

/// The whole of `mlops.yaml`, validated, with every default filled in.
///
/// Sections that switch a component on are optional: without `trainer` the pipeline ends
/// after Transform; without `tuner` there is no tuning; without `evaluation` there is no
/// Evaluator gate. Everything else always has a value.
public struct MLOpsConfig: ConfigSection {
    public var pipeline: PipelineSection
    public var data: DataSection
    public var schema: SchemaSource
    public var transform: TransformSection
    public var trainer: TrainerSection?
    public var tuner: TunerSection?
    public var evaluation: EvaluationSection?
    public var infra: InfraSection
    public var serving: ServingSection
    public var gates: GatesSection
    public var release: ReleaseSection
    public var paths: PathsSection
    public var cache: CacheSection
    /// The metadata store: a `postgresql://` URI or an SQLite path; nil for `.mlops/store.sqlite`.
    public var store: StoreSetting?
    /// What `mlops pipeline export` writes into an orchestrator's pipeline.
    public var orchestration: OrchestrationSection
    /// The MLflow tracking server runs are mirrored to.
    public var tracking: TrackingSection
    /// What `mlops monitor` reads by default, and its prediction threshold.
    public var monitor: MonitorSection
    public var tests: [TestCommand]

    public enum Key: String, ConfigKey {
        case pipeline, data, schema, transform, trainer, tuner, evaluation, infra, serving, gates, release, paths
        case cache, store, orchestration, tracking, monitor, tests
    }
    typealias CodingKeys = Key

    /// The default file name at the repository root.
    public static let fileName = "mlops.yaml"

    init(_ f: Fields<Key>) {
        if !f.has(.pipeline) {
            f.reader.report(
                f.node, "pipeline", "missing required section 'pipeline'", hint: "add `pipeline: {name: my-model}`")
        }
        if !f.has(.data) {
            f.reader.report(
                f.node, "data", "missing required section 'data': the pipeline needs at least one data source",
                hint: "add `data: {sources: [\"data/*.csv\"]}`")
        }
        pipeline = f.section(.pipeline)
        data = f.section(.data)
        schema = Self.schemaSource(f)
        transform = f.section(.transform)
        trainer = f.optionalSection(.trainer)
        tuner = f.optionalSection(.tuner)
        evaluation = f.optionalSection(.evaluation)
        infra = f.section(.infra)
        serving = f.section(.serving)
        gates = f.section(.gates)
        release = f.section(.release)
        paths = f.section(.paths)
        cache = f.section(.cache)
        store = f.string(.store).map(StoreSetting.init)
        if let store, let node = f.value(.store) {
            do {
                _ = try StoreLocation.parse(
                    store.value, environment: [:], root: URL(fileURLWithPath: "/"), source: "store")
            } catch { f.reader.report(node, "store", error.message, hint: error.hint) }
        }
        orchestration = f.section(.orchestration)
        tracking = f.section(.tracking)
        monitor = f.section(.monitor)
        tests = (f.list(.tests) ?? []).enumerated().compactMap { TestCommand.parse($1, f.reader, "tests[\($0)]") }
        crossCheck(f)
        fillPathDefaults()
    }

    private static func schemaSource(_ f: Fields<Key>) -> SchemaSource {
        guard let node = f.value(.schema) else { return .infer }
        guard let text = ConfigValue.string(node, f.reader, "schema") else { return .infer }
        if text == "infer" { return .infer }
        if let problem = PathPattern.problem(text) {
            f.reader.report(node, "schema", "schema path '\(text)' \(problem)")
        } else if let root = f.reader.root,
            !FileManager.default.fileExists(atPath: root.appendingPathComponent(text).path)
        {
            f.reader.report(
                node, "schema", "schema file '\(text)' does not exist",
                hint: "write `schema: infer` to let SchemaGen infer one, or fix the path")
        }
        return .file(text)
    }

    /// Rules that span sections.
    private func crossCheck(_ f: Fields<Key>) {
        if let trainer, case .fromTuner = trainer.hyperparameters, tuner == nil {
            f.reader.report(
                f.value(.trainer), "trainer.hyperparameters",
                "'trainer.hyperparameters' is from_tuner but there is no 'tuner' section",
                hint: "add a tuner section or give the hyperparameters inline")
        }
        if trainer == nil {
            for key in [Key.tuner, .evaluation] where f.has(key) {
                f.reader.report(
                    f.value(key), key.rawValue,
                    "'\(key.rawValue)' needs a 'trainer' section: there is no model to \(key == .tuner ? "tune" : "evaluate")"
                )
            }
        }
        if let trainer, transform.features[trainer.label]?.contains(.drop) == true {
            f.reader.report(
                f.value(.transform), "transform.features.\(trainer.label)",
                "the label '\(trainer.label)' cannot be dropped")
        }
        for threshold in evaluation?.thresholds ?? []
        where threshold.change != nil && evaluation?.baseline == BaselineChoice.none {
            f.reader.report(
                f.value(.evaluation), "evaluation.thresholds",
                "a change threshold on '\(threshold.metric)' can never be checked with 'baseline: none'")
        }
    }

    /// What is valid but probably not meant, for `mlops config check` to print.
    public var warnings: [String] {
        var warnings: [String] = []
        if evaluation != nil, !data.splits.names.contains("test") {
            var choosers: [String] = []
            if tuner != nil { choosers.append("the Tuner") }
            if trainer?.earlyStoppingRounds != nil { choosers.append("early stopping (trainer.early_stopping_rounds)") }
            if !choosers.isEmpty {
                warnings.append(
                    "data.splits has no 'test' split: \(choosers.joined(separator: " and ")) choose on the eval split, "
                        + "and the Evaluator gates on that same split, so its metrics are optimistic; add a held-out "
                        + "split, e.g. `splits: {train: 6, eval: 2, test: 2}`, and the Evaluator gates on it")
            }
        }
        if let store,
            case .postgres(let address)? = try? StoreLocation.parse(
                store.value, environment: [:], root: URL(fileURLWithPath: "/"), source: "store"), address.passwordInURI
        {
            warnings.append(
                "store holds a password, which mlops.yaml commits to git: give it in PGPASSWORD (a CI secret) instead")
        }
        return warnings
    }

    /// `paths` defaults come from the other sections: data from the sources (with `{SPAN}`
    /// and `{VERSION}` as wildcards) and serving data, schema from its file, config from
    /// mlops.yaml, code from the script paths named by trainer.command and tests.
    private mutating func fillPathDefaults() {
        if paths.data.isEmpty {
            paths.data = (data.sources + (data.serving.map { [$0] } ?? [])).map {
                $0.replacingOccurrences(of: "{SPAN}", with: "*").replacingOccurrences(of: "{VERSION}", with: "*")
            }
        }
        if paths.config.isEmpty { paths.config = [Self.fileName] }
        if paths.schema.isEmpty, case .file(let path) = schema { paths.schema = [path] }
        if paths.code.isEmpty {
            let commands = (trainer?.command.map { [$0] } ?? []) + tests.map(\.run)
            let scriptExtensions = [".py", ".sh", ".r", ".R", ".js", ".rb", ".jl", ".swift"]
            var code: [String] = []
            for command in commands {
                for token in command.split(separator: " ").map(String.init)
                where scriptExtensions.contains(where: token.hasSuffix) && PathPattern.problem(token) == nil
                    && !code.contains(token)
                {
                    code.append(token)
                }
            }
            paths.code = code
        }
    }

    /// The pipeline components this configuration switches on, in DAG order.
    public var components: [String] {
        var names = ["ExampleGen", "StatisticsGen"]
        if case .file = schema { names.append("ImportSchemaGen") } else { names.append("SchemaGen") }
        names.append("ExampleValidator")
        // Transform when there is something to transform or a model to feed; a data-only
        // pipeline (statistics and validation, say) ends at ExampleValidator.
        if trainer != nil || !transform.derive.isEmpty || !transform.features.isEmpty { names.append("Transform") }
        if trainer != nil {
            if tuner != nil { names.append("Tuner") }
            names.append("Trainer")
            if evaluation != nil { names.append("Evaluator") }
            if infra.enabled { names.append("InfraValidator") }
        }
        return names
    }

    // MARK: - Loading

    /// Only the `store` value of the mlops.yaml at `url`, for the commands that only ask the
    /// store questions (`runs`, `lineage`): nil when the file is missing or has none. The rest
    /// of the file is not checked, so a half-edited configuration does not hide the store;
    /// only YAML that cannot be read at all is an error (exit 78).
    public static func storeSetting(from url: URL) throws(ConfigError) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ConfigError.syntax(syntaxDiagnostic(error, yaml: text, file: fileName))
        }
        guard let value = node?.mapping?["store"]?.scalar?.string, !value.isEmpty else { return nil }
        return value
    }

    /// Reads and validates `mlops.yaml` at `url`; `root` (the repository root) enables checks
    /// that referenced files exist.
    public static func load(from url: URL, root: URL?) throws(ConfigError) -> MLOpsConfig {
        let display = displayName(url, root: root)
        guard FileManager.default.fileExists(atPath: url.path) else { throw ConfigError.missing(path: display) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError.unreadable(path: display, detail: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadable(path: display, detail: "it is not valid UTF-8 text")
        }
        return try parse(yaml: text, file: display, root: root)
    }

    /// Validates YAML text as a configuration; `file` names it in messages.
    public static func parse(yaml: String, file: String, root: URL?) throws(ConfigError) -> MLOpsConfig {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError.syntax(syntaxDiagnostic(error, yaml: yaml, file: file))
        }
        let reader = ConfigReader(file: file, root: root)
        if let node, !ConfigReader.isNull(node), node.mapping == nil {
            reader.report(
                node, "",
                "\(file) must be a mapping of sections (pipeline, data, …), found \(ConfigReader.describe(node))")
            throw ConfigError.invalid(reader.sortedDiagnostics)
        }
        let config = MLOpsConfig(Fields<Key>(reader, path: "", node: node ?? Node.mapping(Node.Mapping([]))))
        guard reader.diagnostics.isEmpty else { throw ConfigError.invalid(reader.sortedDiagnostics) }
        return config
    }

    private static func displayName(_ url: URL, root: URL?) -> String {
        guard let root else { return url.path }
        let rootPath = root.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(rootPath + "/") ? String(path.dropFirst(rootPath.count + 1)) : path
    }

    static func syntaxDiagnostic(_ error: any Error, yaml: String, file: String) -> ConfigDiagnostic {
        func located(_ mark: Mark, _ message: String, _ hint: String? = nil) -> ConfigDiagnostic {
            ConfigDiagnostic(
                location: SourceLocation(file: file, line: mark.line, column: mark.column), keyPath: "",
                message: "invalid YAML: " + message, hint: hint)
        }
        func tabHint(_ mark: Mark) -> String? {
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            guard mark.line >= 1, mark.line <= lines.count else { return nil }
            return lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t")
                ? "YAML does not allow tabs for indentation; indent with spaces" : nil
        }
        guard let error = error as? YamlError else {
            return ConfigDiagnostic(
                location: SourceLocation(file: file), keyPath: "", message: "invalid YAML: \(error)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            if let context, context.text.contains("quoted scalar") {
                // The problem is at the end of the file; the useful place is where the quote opened.
                return located(
                    context.mark, "unclosed quoted string (\(problem) at line \(mark.line), column \(mark.column))",
                    "close the quote on the line where it opens")
            }
            let prefix = context.map { $0.text + ": " } ?? ""
            return located(mark, prefix + problem, tabHint(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return located(
                context.mark, "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping",
                "each key may appear once per section")
        case .reader(let problem, let offset, _, _):
            return ConfigDiagnostic(
                location: SourceLocation(file: file), keyPath: "",
                message: "invalid YAML: \(problem)" + (offset.map { " at byte \($0)" } ?? ""))
        default:
            return ConfigDiagnostic(
                location: SourceLocation(file: file), keyPath: "", message: "invalid YAML: \(error)")
        }
    }
}
