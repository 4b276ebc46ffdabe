import Foundation
import MLOpsCore
import Pipeline

/// Kubeflow Pipelines v2's contract with a container task: the launcher passes the
/// `ExecutorInput` (the `{{$}}` placeholder, proto3 JSON) and reads back the `ExecutorOutput`
/// the task writes to `outputs.outputFile`, plus each output parameter's own `outputFile`.
/// Only the fields mlops uses are read; the others are ignored, as KFP's own executor does.
public struct KFPExecutorContract: Sendable {
    public struct OutputArtifact: Sendable, Decodable {
        public let name: String?
        public let uri: String?
    }

    /// Output parameter name → the file KFP reads it from.
    public let parameterFiles: [String: String]
    /// Output artifact name → the artifact KFP made for it (its name and the URI it suggests).
    public let artifacts: [String: OutputArtifact]
    /// Where the `ExecutorOutput` goes.
    public let outputFile: String?
    /// `inputs.parameterValues`, as JSON values (a trial number, say).
    public let parameterValues: [String: ParameterValue]

    /// A parameter value KFP passes: a number, a string or a boolean.
    public enum ParameterValue: Sendable, Decodable, Equatable {
        case number(Double), string(String), bool(Bool)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        /// A whole number given as a number or as its digits.
        public var integer: Int? {
            switch self {
            case .number(let value): value.rounded() == value && abs(value) < 1e15 ? Int(value) : nil
            case .string(let text): Int(text)
            case .bool: nil
            }
        }
    }

    private struct Wire: Decodable {
        struct Inputs: Decodable {
            let parameterValues: [String: ParameterValue]?
        }
        struct Outputs: Decodable {
            struct Parameter: Decodable { let outputFile: String? }
            struct List: Decodable { let artifacts: [OutputArtifact]? }
            let parameters: [String: Parameter]?
            let artifacts: [String: List]?
            let outputFile: String?
        }
        let inputs: Inputs?
        let outputs: Outputs?
    }

    /// Reads `--executor-input`; malformed JSON is a usage error (exit 64) naming the flag.
    public init(json: String) throws(UsageError) {
        let wire: Wire
        do { wire = try JSONDecoder().decode(Wire.self, from: Data(json.utf8)) } catch {
            throw UsageError(
                "--executor-input is not KFP's ExecutorInput JSON: \(Self.describe(error))",
                hint: "pass it as the `{{$}}` placeholder, which Kubeflow Pipelines fills in")
        }
        parameterFiles = (wire.outputs?.parameters ?? [:]).compactMapValues(\.outputFile)
        artifacts = (wire.outputs?.artifacts ?? [:]).compactMapValues { $0.artifacts?.first }
        outputFile = wire.outputs?.outputFile
        parameterValues = wire.inputs?.parameterValues ?? [:]
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default: "\(error)"
        }
    }

    /// Checks that every output asked for is one `outcome`'s component makes, before it runs.
    public func check(component: Component, parameters: Set<String>, outputs: Set<String>) throws(UsageError) {
        for name in parameterFiles.keys.sorted() where !parameters.contains(name) {
            throw UsageError(
                "--executor-input asks for output parameter '\(name)', which \(component.rawValue) does not give",
                hint: "it gives " + parameters.sorted().joined(separator: ", "))
        }
        for name in artifacts.keys.sorted() where !outputs.contains(name) {
            throw UsageError(
                "--executor-input asks for output artifact '\(name)', which \(component.rawValue) does not make",
                hint: "it makes " + outputs.sorted().joined(separator: ", "))
        }
    }

    /// Writes each output parameter to its file and the `ExecutorOutput` (parameter values and
    /// the output artifacts with mlops' URIs and metadata) to `outputFile`.
    public func write(_ outcome: ComponentOutcome) throws {
        var values: [String: Any] = [:]
        for (name, path) in parameterFiles.sorted(by: { $0.key < $1.key }) {
            guard let value = outcome.parameters[name] else { continue }
            try writeFile(Data(value.utf8), to: path)
            values[name] = name == "blessed" ? (value == "true") as Any : value as Any
        }
        var artifactLists: [String: Any] = [:]
        for artifact in outcome.artifacts {
            guard let asked = artifacts[artifact.name] else { continue }
            var metadata: [String: Any] = [
                "fingerprint": artifact.fingerprint, "type": artifact.type, "component": outcome.component.rawValue,
                "cache_key": outcome.cacheKey ?? "", "outcome": outcome.outcome.rawValue,
            ]
            for (key, value) in artifact.properties where metadata[key] == nil { metadata[key] = value }
            var entry: [String: Any] = ["uri": artifact.uri, "metadata": metadata]
            if let name = asked.name { entry["name"] = name }
            artifactLists[artifact.name] = ["artifacts": [entry]]
        }
        guard let outputFile else { return }
        let document: [String: Any] = ["parameterValues": values, "artifacts": artifactLists]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        try writeFile(data, to: outputFile)
    }
}

/// Argo's and Airflow's side of the contract: each output parameter in a file of its own in a
/// folder (Argo reads `outputs.parameters[].valueFrom.path`), and all of them as one JSON
/// object in `return.json` (what Airflow's KubernetesPodOperator pushes as its XCom from
/// `/airflow/xcom/`).
public enum OutputParameterFiles {
    public static let jsonName = "return.json"

    public static func write(_ outcome: ComponentOutcome, to folder: URL) throws {
        let parameters = outcome.parameters
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            try writeFile(Data(value.utf8), to: folder.appendingPathComponent(name).path)
        }
        let data = try JSONSerialization.data(withJSONObject: parameters, options: [.sortedKeys])
        try writeFile(data, to: folder.appendingPathComponent(jsonName).path)
    }
}

/// Writes an output file an orchestrator reads, making its folder first (Kubeflow names paths
/// whose folders may not exist yet).
private func writeFile(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    } catch {
        throw FileError(.notWritable, path: url.deletingLastPathComponent().path, detail: "\(error)")
    }
    try AtomicFile.write(data, to: url)
}
