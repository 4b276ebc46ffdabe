import CurlKit
import Foundation
import MLOpsCore

/// Where the MLflow tracking server is and how to sign in: `tracking.mlflow_uri` or
/// `MLFLOW_TRACKING_URI`, and MLflow's own variables for credentials (basic authentication
/// wins over a token when both are set, as in MLflow's client).
public struct MLflowServer: Sendable, Equatable {
    public enum Credentials: Sendable, Equatable {
        case basic(user: String, password: String)
        case bearer(String)
    }

    /// The base URL, without a trailing slash.
    public let uri: String
    public let credentials: Credentials?

    public init(uri: String, credentials: Credentials?) {
        var uri = uri
        while uri.hasSuffix("/") { uri.removeLast() }
        self.uri = uri
        self.credentials = credentials
    }

    /// The credentials MLflow's client would send: `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD`, else `MLFLOW_TRACKING_TOKEN`.
    public static func credentials(environment: [String: String]) -> Credentials? {
        if let user = environment["MLFLOW_TRACKING_USERNAME"], let password = environment["MLFLOW_TRACKING_PASSWORD"],
            !user.isEmpty
        {
            return .basic(user: user, password: password)
        }
        if let token = environment["MLFLOW_TRACKING_TOKEN"], !token.isEmpty { return .bearer(token) }
        return nil
    }
}

/// The MLflow REST API (2.0) over libcurl: JSON requests, MLflow's error bodies read (and the
/// HTML or text ones of a proxy or the auth app), artifacts through the server's proxy.
/// Requests refused with 429 or 5xx are tried twice more; a server that cannot be reached is
/// not waited for.
public final class MLflowClient: Sendable {
    public let server: MLflowServer
    let timeout: Int

    public init(server: MLflowServer, timeout: Int = 60) {
        self.server = server
        self.timeout = timeout
    }

    /// `GET /api/2.0/mlflow/PATH?query`.
    public func get(_ path: String, _ query: [(String, String)] = []) throws -> [String: Any] {
        let text = query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        return try call("GET", "/api/2.0/mlflow/\(path)" + (text.isEmpty ? "" : "?\(text)"), body: nil)
    }

    /// `POST /api/2.0/mlflow/PATH` with a JSON body.
    @discardableResult
    public func post(_ path: String, _ body: [String: Any]) throws -> [String: Any] {
        try call("POST", "/api/2.0/mlflow/\(path)", body: body)
    }

    /// `DELETE /api/2.0/mlflow/PATH` with a JSON body (MLflow reads DELETE's fields from it).
    @discardableResult
    public func delete(_ path: String, _ body: [String: Any]) throws -> [String: Any] {
        try call("DELETE", "/api/2.0/mlflow/\(path)", body: body)
    }

    /// Uploads one file into a run's artifacts through the server's artifact proxy:
    /// `location` is the path after `mlflow-artifacts:` (`/1/RUN/artifacts`), `path` the file's
    /// path in the run (`reports/gate.md`).
    public func upload(_ data: Data, to location: String, path: String) throws {
        let parts = (location.split(separator: "/") + path.split(separator: "/")).map { Self.escape(String($0)) }
        _ = try call(
            "PUT", "/api/2.0/mlflow-artifacts/artifacts/" + parts.joined(separator: "/"), raw: data,
            contentType: "application/octet-stream")
    }

    func call(
        _ method: String, _ path: String, body: [String: Any]? = nil, raw: Data? = nil,
        contentType: String = "application/json"
    ) throws -> [String: Any] {
        let what = "\(method) \(path.split(separator: "?").first ?? "")"
        var payload = raw
        if let body {
            do { payload = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) } catch {
                throw MLflowError(.rejected(what, status: 0, code: "", message: "the request could not be encoded: \(error)"), server: server.uri)
            }
        }
        var headers = ["Accept: application/json", "User-Agent: mlops/\(MLOpsVersion.current)"]
        if payload != nil { headers.append("Content-Type: \(contentType)") }
        var user: (name: String, password: String)?
        switch server.credentials {
        case .basic(let name, let password): user = (name, password)
        case .bearer(let token): headers.append("Authorization: Bearer \(token)")
        case nil: break
        }
        var attempt = 0
        while true {
            attempt += 1
            let response = try send(method, path, headers: headers, payload: payload, user: user)
            if (200..<300).contains(response.status) {
                guard !response.body.isEmpty else { return [:] }
                guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
                    if raw != nil { return [:] }
                    throw MLflowError(
                        .rejected(what, status: response.status, code: "", message: "the answer is not a JSON object"),
                        server: server.uri)
                }
                return object
            }
            if (response.status == 429 || response.status >= 500), attempt < 3 {
                Thread.sleep(forTimeInterval: 0.5 * Double(attempt))
                continue
            }
            throw Self.error(what, response, server: server.uri)
        }
    }

    private func send(
        _ method: String, _ path: String, headers: [String], payload: Data?, user: (name: String, password: String)?
    ) throws -> HTTPResponse {
        do {
            return try HTTP.send(method, server.uri + path, headers: headers, body: payload, user: user, timeout: timeout)
        } catch {
            throw MLflowError(.unreachable(error.detail), server: server.uri)
        }
    }

    /// MLflow's `{"error_code", "message"}`, or the start of whatever else came back.
    static func error(_ what: String, _ response: HTTPResponse, server: String) -> MLflowError {
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        let code = object?["error_code"] as? String ?? ""
        var message = object?["message"] as? String ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if message.hasPrefix("<") { message = "an HTML page (\(response.status))" }
        switch response.status {
        case 401, 403: return MLflowError(.refused(what, status: response.status, message: message), server: server)
        case 429, 500...: return MLflowError(.busy(what, status: response.status, message: message), server: server)
        default:
            return MLflowError(
                .rejected(what, status: response.status, code: code, message: message), server: server)
        }
    }

    /// A query or path part, percent-encoded.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The tracking server failed a call: unreachable (74), refused the credentials (78), busy or
/// failing (75: retry), or rejected the request (65, with MLflow's code and message).
public struct MLflowError: MLOpsError {
    public enum Kind: Sendable {
        case unreachable(String)
        case refused(String, status: Int, message: String)
        case busy(String, status: Int, message: String)
        case rejected(String, status: Int, code: String, message: String)
        /// The experiment exists but was deleted (MLflow keeps its name).
        case deletedExperiment(String)
    }

    public let kind: Kind
    public let server: String

    public init(_ kind: Kind, server: String) {
        self.kind = kind
        self.server = server
    }

    /// MLflow's error code, when it sent one (`RESOURCE_DOES_NOT_EXIST`, …).
    public var code: String? {
        if case .rejected(_, _, let code, _) = kind, !code.isEmpty { return code }
        return nil
    }

    /// Whether the server could not be reached or is failing: the delivery waits for the
    /// next command rather than being reported as wrong.
    public var isTransient: Bool {
        switch kind {
        case .unreachable, .busy: true
        default: false
        }
    }

    public var message: String {
        switch kind {
        case .unreachable(let detail): "the MLflow server \(server) cannot be reached: \(detail)"
        case .refused(let what, let status, let message):
            "the MLflow server \(server) refused \(what) (\(status)): \(message)"
        case .busy(let what, let status, let message):
            "the MLflow server \(server) failed \(what) (\(status)): \(message)"
        case .rejected(let what, let status, let code, let message):
            "the MLflow server \(server) rejected \(what) (\(status)\(code.isEmpty ? "" : " \(code)")): \(message)"
        case .deletedExperiment(let name):
            "the MLflow experiment '\(name)' on \(server) is deleted"
        }
    }

    public var hint: String? {
        switch kind {
        case .unreachable: "check tracking.mlflow_uri (or MLFLOW_TRACKING_URI) and that the server runs; `mlops runs sync` sends what waits"
        case .refused:
            "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN, to credentials the server accepts"
        case .busy: "retry later: `mlops runs sync` sends what waits"
        case .rejected: "this is likely a bug in mlops or an MLflow version it does not know; please report it"
        case .deletedExperiment:
            "restore it in the MLflow UI (or `mlflow experiments restore`), or set tracking.experiment to another name"
        }
    }

    public var exitStatus: ExitStatus {
        switch kind {
        case .unreachable: .ioError
        case .refused, .deletedExperiment: .configError
        case .busy: .temporaryFailure
        case .rejected: .dataError
        }
    }
}
