import Foundation

/// A Python with PyPI packages the tests check mlops' outputs with (kfp, Airflow), in a
/// virtual environment of its own under `.build/` that `bash .ci/run` installs. Missing is a
/// failure naming how to install it, never a skip.
public struct PythonTool: Sendable {
    /// The variable naming its python (`MLOPS_KFP_PYTHON`), set by `.ci/run`.
    public let variable: String
    /// The virtual environment `.ci/run` makes, relative to the checkout.
    public let venv: String
    /// A module it must have, and what to install for it.
    public let module: String
    public let install: String

    public static let kfp = PythonTool(
        variable: "MLOPS_KFP_PYTHON", venv: ".build/kfp-tools", module: "kfp",
        install: "'kfp==2.17.3' 'kfp-kubernetes==2.17.3'")
    public static let airflow = PythonTool(
        variable: "MLOPS_AIRFLOW_PYTHON", venv: ".build/airflow-tools", module: "airflow",
        install: "'apache-airflow==3.3.2' 'apache-airflow-providers-cncf-kubernetes==10.25.0'")

    /// The TFMD checker: the PyPI tensorflow-metadata package's own message classes.
    public static let wireTools = PythonTool(
        variable: "MLOPS_WIRE_PYTHON", venv: ".build/wire-tools", module: "tensorflow_metadata",
        install: "'tensorflow-metadata==1.17.1'")

    /// NVIDIA's Open Inference Protocol clients, tritonclient.http and tritonclient.grpc (a venv
    /// of their own: they need protobuf 6, tensorflow-metadata protobuf 5).
    public static let triton = PythonTool(
        variable: "MLOPS_TRITON_PYTHON", venv: ".build/triton-tools", module: "tritonclient",
        install: "'tritonclient[http,grpc]==2.73.0'")

    /// MLflow (its server, started by Tests/Tools/mlflow-server.sh, and its Python client).
    public static let mlflow = PythonTool(
        variable: "MLOPS_MLFLOW_PYTHON", venv: ".build/mlflow-tools", module: "mlflow",
        install: "'mlflow[auth]==3.17.2'")

    /// The CI tools' Python (check-jsonschema, which brings PyYAML; securesystemslib), which
    /// .ci/run also names in MLOPS_DSSE_PYTHON.
    public static let ciTools = PythonTool(
        variable: "MLOPS_DSSE_PYTHON", venv: ".build/ci-tools", module: "yaml", install: "check-jsonschema")

    /// check-jsonschema: MLOPS_CHECK_JSONSCHEMA, else the CI tools' own.
    public static var checkJSONSchema: String {
        ProcessInfo.processInfo.environment["MLOPS_CHECK_JSONSCHEMA"]
            ?? checkout.appendingPathComponent(".build/ci-tools/bin/check-jsonschema").path
    }

    /// A published schema of the shared design folder (`../shared/schemas/NAME` beside the
    /// checkout, else `MLOPS_SHARED_DIR/schemas/NAME`, else `/work/shared/schemas/NAME`); they
    /// are the formats' own files and are not copied into the project. Missing is an error
    /// saying where it was looked for, never a skip.
    public static func sharedSchema(_ name: String) throws -> URL {
        var folders = [checkout.appendingPathComponent("../shared").standardizedFileURL]
        if let shared = ProcessInfo.processInfo.environment["MLOPS_SHARED_DIR"] {
            folders.insert(URL(fileURLWithPath: shared), at: 0)
        }
        folders.append(URL(fileURLWithPath: "/work/shared"))
        let candidates = folders.map { $0.appendingPathComponent("schemas/\(name)") }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw MissingSchema(name: name, looked: candidates.map(\.path))
        }
        return found
    }

    public struct MissingSchema: Error, CustomStringConvertible {
        public let name: String
        public let looked: [String]
        public var description: String {
            "the published schema \(name) is not found (looked at \(looked.joined(separator: ", "))): set MLOPS_SHARED_DIR to the shared design folder"
        }
    }

    /// The checkout's root (the tests' sources are under it).
    public static let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public struct Missing: Error, CustomStringConvertible {
        public let tool: PythonTool
        public var description: String {
            "\(tool.module) is not installed: bash .ci/run installs it into \(tool.venv) (pip install \(tool.install)), or set \(tool.variable) to a python that has it"
        }
    }

    public var python: String {
        ProcessInfo.processInfo.environment[variable] ?? Self.checkout.appendingPathComponent("\(venv)/bin/python").path
    }

    /// Runs `Tests/Tools/SCRIPT ARGUMENTS`; returns its status and what it printed.
    public func run(_ script: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> MLOpsProcess.Result
    {
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Missing(tool: self) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.checkout.appendingPathComponent("Tests/Tools/\(script)").path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let result = try MLOpsProcess.capture(process)
        if result.stderr.contains("ModuleNotFoundError: No module named '\(module)") { throw Missing(tool: self) }
        return result
    }
}
