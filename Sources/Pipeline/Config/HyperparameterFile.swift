import Foundation
import MLOpsCore
import Yams

/// A hyperparameters file (`trainer.hyperparameters: {file: PATH}`): a YAML or JSON mapping
/// of XGBoost parameters, or the Tuner's `best_hyperparameters.json` as it was saved (its
/// `hyperparameters` key is read, the trial record beside it ignored). Checked like inline
/// hyperparameters, with the file's own line and column in every message.
public enum HyperparameterFile {
    public static func load(_ path: String, root: URL) throws(ConfigError) -> [(name: String, value: ParameterValue)] {
        let url = root.appendingPathComponent(path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError.unreadable(path: path, detail: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError.unreadable(path: path, detail: "it is not valid UTF-8 text")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError.syntax(MLOpsConfig.syntaxDiagnostic(error, yaml: text, file: path))
        }
        let reader = ConfigReader(file: path, root: root)
        guard let node, case .mapping(let mapping) = node else {
            reader.report(
                node, "",
                "\(path) must be a mapping of XGBoost parameters, found "
                    + (node.map(ConfigReader.describe) ?? "nothing"))
            throw ConfigError.invalid(reader.sortedDiagnostics)
        }
        var parameters = Node.mapping(mapping)
        var keyPath = ""
        if let saved = mapping["hyperparameters"] {
            parameters = saved
            keyPath = "hyperparameters"
        }
        guard let pairs = ConfigValue.pairs(parameters, reader, keyPath) else {
            throw ConfigError.invalid(reader.sortedDiagnostics)
        }
        let values = TrainerSection.parameterValues(pairs, reader, keyPath)
        guard reader.diagnostics.isEmpty else { throw ConfigError.invalid(reader.sortedDiagnostics) }
        return values
    }
}
