/// The envelope of every `--json` document, so machines can rely on its shape.
///
/// ```json
/// {"schema": "mlops.config-check/v1", "ok": true, "result": {…}}
/// {"schema": "mlops.error/v1", "ok": false, "error": {"message": …, "exit_code": 78, …}}
/// ```
/// `schema` names the document kind and its version; a change that removes or renames a
/// field bumps the version.
public struct JSONOutput<Result: Encodable>: Encodable {
    public let schema: String
    public let ok: Bool
    public let result: Result

    public init(schema: String, ok: Bool = true, result: Result) {
        self.schema = schema
        self.ok = ok
        self.result = result
    }
}

/// The `--json` form of an error that ended a command.
public struct JSONErrorOutput: Encodable {
    public struct Body: Encodable {
        public let message: String
        public let hint: String?
        public let exitCode: Int32
        public let file: String?
        public let line: Int?
        public let column: Int?
        public let details: [String]

        enum CodingKeys: String, CodingKey {
            case message, hint, exitCode = "exit_code", file, line, column, details
        }
    }

    public let schema = "mlops.error/v1"
    public let ok = false
    public let error: Body

    public init(_ error: any Error, details: [String] = []) {
        let status = ExitStatus(for: error)
        if let error = error as? any MLOpsError {
            self.error = Body(
                message: error.message, hint: error.hint, exitCode: status.rawValue,
                file: error.location?.file, line: error.location?.line, column: error.location?.column,
                details: details)
        } else {
            self.error = Body(
                message: String(describing: error), hint: nil, exitCode: status.rawValue, file: nil, line: nil,
                column: nil, details: details)
        }
    }
}
