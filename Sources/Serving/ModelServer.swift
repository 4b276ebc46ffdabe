import Foundation
import HTTPTypes
import Hummingbird
import MLOpsCore
import Pipeline
import Tabular

/// `mlops serve`: one model over HTTP, the Open Inference Protocol v2 (KServe V2) REST API.
///
/// | verb | path | answer |
/// |---|---|---|
/// | GET | `/v2` | server metadata `{name, version, extensions}` |
/// | GET | `/v2/health/live`, `/v2/health/ready` | `{"live": true}`, `{"ready": bool}` |
/// | GET | `/v2/models/{name}[/versions/{v}]` | model metadata: the raw inputs and their datatypes |
/// | GET | `/v2/models/{name}[/versions/{v}]/ready` | `{name, ready}` |
/// | POST | `/v2/models/{name}[/versions/{v}]/infer` | predictions (``InferenceResponse``) |
///
/// TensorFlow Serving's REST API and MLflow's scoring server take the same rows as JSON
/// objects or columns (``RowRequest``):
///
/// | verb | path | body → answer |
/// |---|---|---|
/// | GET | `/v1/models/{name}[/versions/{v}]` | TF Serving model status (version `1`, `AVAILABLE`) |
/// | POST | `/v1/models/{name}[/versions/{v}]:predict` | `instances` (rows) → `predictions` (an object per row); `inputs` (columns) → `outputs` (columns) |
/// | POST | `/invocations` | MLflow: `dataframe_split`, `dataframe_records`, `instances` or `inputs` → `predictions` |
/// | GET | `/ping`, `/health` | MLflow's liveness check |
///
/// Every refusal is a 4xx with `{"error": "…"}`: malformed JSON, a missing, unknown or
/// mistyped feature, a value outside the schema's domain (under `reject`), a shape mismatch,
/// too many rows (400); an unknown model (404); a body over the size limit (413, never read
/// whole). Until the model is loaded, the model's routes answer 503.
public struct ModelServer: Sendable {
    public struct Limits: Sendable {
        public var maxBodyBytes = 4 << 20
        public var maxRows = 10_000
        /// A value outside the schema's domain: a 400 (`reject`), missing, or kept.
        public var outOfDomain = OutOfDomain.reject
        public init() {}
    }

    public let name: String
    public let version: String?
    public let limits: Limits
    public let metrics: ServerMetrics
    /// Where each request's rows and predictions are logged (`serving.log`); nil: nowhere.
    public let log: PredictionLog?
    /// The model, once loaded and warmed up: the server is ready.
    let slot: ModelSlot

    /// A server with no model yet: live, not ready, until ``load(_:)``.
    public init(
        name: String, version: String? = nil, limits: Limits = Limits(), metrics: ServerMetrics = ServerMetrics(),
        log: PredictionLog? = nil
    ) {
        self.name = name
        self.version = version
        self.limits = limits
        self.metrics = metrics
        self.log = log
        slot = ModelSlot()
    }

    public var isReady: Bool { slot.model != nil }

    /// Loads the model with `make`, then predicts one row with every feature missing: the
    /// transform applies and XGBoost answers with finite values. Only then is the server ready.
    public func load(_ make: () throws -> ServableModel) throws {
        let started = ContinuousClock.now
        let model = try make()
        let columns = model.requiredInputs.map { input -> Column in
            switch input.type {
            case .bytes: Column(name: input.name, texts: [nil])
            case .int: Column(name: input.name, integers: [nil])
            case .float: Column(name: input.name, numbers: [.nan])
            }
        }
        let predictions = try model.predict(DataTable(file: "warm-up", columns: columns, rowCount: 1))
        guard predictions.columns.allSatisfy({ ($0.numbers ?? [0]).allSatisfy(\.isFinite) }) else {
            throw ServingError(.badModel(folder: model.folder.path, detail: "the warm-up prediction is not finite"))
        }
        metrics.load.record((ContinuousClock.now - started).inSeconds)
        slot.install(model)
    }

    /// The model, or a 503 while it loads.
    func loaded() throws(RequestError) -> ServableModel {
        guard let model = slot.model else { throw RequestError(503, "the model is still loading; try again shortly") }
        return model
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.get("/v2") { _, _ in
            Self.json(
                .ok,
                #"{"name":"mlops","version":\#(StringLiteral.json(MLOpsVersion.current)),"extensions":[\#(Self.extensions.map(StringLiteral.json).joined(separator: ","))]}"#
            )
        }
        router.get("/v2/health/live") { _, _ in Self.json(.ok, #"{"live":true}"#) }
        router.get("/v2/health/ready") { _, _ in
            Self.json(isReady ? .ok : .serviceUnavailable, #"{"ready":\#(isReady)}"#)
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            router.get(RouterPath(prefix)) { _, context in
                if let refusal = check(context) { return refusal }
                do throws(RequestError) {
                    return Self.json(.ok, metadata(try loaded()))
                } catch {
                    return Self.error(.init(code: error.status), error.message)
                }
            }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                if let refusal = check(context) { return refusal }
                return Self.json(
                    isReady ? .ok : .serviceUnavailable,
                    #"{"name":\#(StringLiteral.json(name)),"ready":\#(isReady)}"#)
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                if let refusal = check(context) { return refusal }
                return await infer(request)
            }
        }
        // TensorFlow Serving REST: the verb follows the name after a colon (`taxi:predict`).
        for path in ["/v1/models/:model", "/v1/models/:model/versions/:version"] {
            router.get(RouterPath(path)) { _, context in
                if let refusal = check(context) { return refusal }
                return Self.json(
                    isReady ? .ok : .serviceUnavailable,
                    #"{"model_version_status":[{"version":\#(StringLiteral.json(version ?? "1")),"state":"\#(isReady ? "AVAILABLE" : "LOADING")","status":{"error_code":"OK","error_message":""}}]}"#
                )
            }
            router.post(RouterPath(path)) { request, context in
                // The last segment ends in the verb: `taxi:predict` or `1:predict`.
                let versioned = context.parameters.get("version") != nil
                let last = (versioned ? context.parameters.get("version") : context.parameters.get("model")) ?? ""
                guard let colon = last.lastIndex(of: ":"), last[last.index(after: colon)...] == "predict" else {
                    return Self.error(.notFound, "only :predict is served (not TF Serving's classify or regress)")
                }
                let named = String(last[..<colon])
                let refusal =
                    versioned
                    ? check(model: context.parameters.get("model") ?? "", version: named)
                    : check(model: named, version: nil)
                if let refusal { return refusal }
                return await respond(request) { body async throws(RequestError) in
                    let model = try loaded()
                    guard let object = body.object else {
                        throw RequestError(400, "the body must be an object with 'instances' or 'inputs'")
                    }
                    switch (object["instances"]?.array, object["inputs"]) {
                    case (.some, .some): throw RequestError(400, "send 'instances' or 'inputs', not both")
                    case (let instances?, nil):
                        let predictions = try await predictLogged(
                            try RowRequest.rows(instances, model: model, maxRows: limits.maxRows), model,
                            requestID: Self.requestID(request, nil))
                        return #"{"predictions":\#(RowRequest.perRow(predictions))}"#
                    case (nil, .object(let inputs)?):
                        let predictions = try await predictLogged(
                            try RowRequest.columns(inputs, model: model, maxRows: limits.maxRows), model,
                            requestID: Self.requestID(request, nil))
                        return #"{"outputs":\#(RowRequest.perColumn(predictions))}"#
                    default:
                        throw RequestError(400, "the body needs 'instances' (a list of rows) or 'inputs' (columns)")
                    }
                }
            }
        }
        // MLflow's scoring server.
        router.get("/ping") { _, _ in Self.json(isReady ? .ok : .serviceUnavailable, "{}") }
        router.get("/health") { _, _ in Self.json(isReady ? .ok : .serviceUnavailable, "{}") }
        router.post("/invocations") { request, _ in
            await respond(request) { body async throws(RequestError) in
                let model = try loaded()
                guard let object = body.object else {
                    throw RequestError(
                        400, "the body must be an object with dataframe_split, dataframe_records, instances or inputs")
                }
                let table: DataTable
                if let split = object["dataframe_split"]?.object {
                    table = try RowRequest.split(split, model: model, maxRows: limits.maxRows)
                } else if let records = (object["dataframe_records"] ?? object["instances"])?.array {
                    table = try RowRequest.rows(records, model: model, maxRows: limits.maxRows)
                } else if let inputs = object["inputs"]?.object {
                    table = try RowRequest.columns(inputs, model: model, maxRows: limits.maxRows)
                } else {
                    throw RequestError(
                        400, "the body needs dataframe_split, dataframe_records, instances or inputs (MLflow's formats)"
                    )
                }
                let predictions = try await predictLogged(table, model, requestID: Self.requestID(request, nil))
                return #"{"predictions":\#(RowRequest.perRow(predictions))}"#
            }
        }
        return router
    }

    /// Rows above which a prediction leaves the connection's event loop for Swift's global pool,
    /// so one large request does not hold up the other connections on that loop.
    static let offLoopRows = 256

    /// ``predict(_:_:)``, on the global pool for a large table.
    func predictOffLoop(_ table: DataTable, _ model: ServableModel) async throws(RequestError) -> Predictions {
        guard table.rowCount > Self.offLoopRows else { return try predict(table, model) }
        let result: Result<Predictions, RequestError> = await withTaskExecutorPreference(globalConcurrentExecutor) {
            do throws(RequestError) {
                return .success(try predict(table, model))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// ``predictOffLoop(_:_:)``, then the raw rows and their predictions queued for the
    /// prediction log (never waited for).
    func predictLogged(_ table: DataTable, _ model: ServableModel, requestID: String) async throws(RequestError)
        -> Predictions
    {
        let predictions = try await predictOffLoop(table, model)
        log?.record(requestID: requestID, table: table, predictions: predictions)
        return predictions
    }

    /// A request's id for the log: the OIP request's `id`, else the `X-Request-ID` header,
    /// else a new one.
    static func requestID(_ request: Request, _ id: String?) -> String {
        if let id, !id.isEmpty { return id }
        if let header = request.headers[Self.requestIDHeader], !header.isEmpty { return String(header.prefix(200)) }
        return UUID().uuidString.lowercased()
    }

    static let requestIDHeader = HTTPField.Name("X-Request-ID")!

    /// The model's predictions, after the schema's domains are checked; a refused value or a
    /// transform refusal is the client's fault (400).
    func predict(_ table: DataTable, _ model: ServableModel) throws(RequestError) -> Predictions {
        let checked = model.domain.apply(table, policy: limits.outOfDomain)
        if let refusal = checked.refusals.first {
            throw RequestError(400, "input '\(refusal.column)' row \(refusal.row): \(refusal.detail)")
        }
        do {
            let predictions = try model.predict(checked.table)
            metrics.rows.increment(by: predictions.rows)
            return predictions
        } catch let error as TransformError {
            throw RequestError(400, error.message)
        } catch {
            throw RequestError(500, "prediction failed: \(error)")
        }
    }

    /// An OIP inference: JSON, or with Triton's binary data extension (`Inference-Header-Content-Length`)
    /// binary inputs in and the outputs the request asks for in binary out.
    func infer(_ request: Request) async -> Response {
        await answer(request) { buffer async throws(RequestError) in
            let (json, binary) = try BinaryTensors.split(buffer, headerLength: request.headers[BinaryTensors.header])
            let body = try BinaryTensors.inline(try Self.json(json), binary: binary)
            let outputs = try BinaryTensors.OutputRequest(body)
            let model = try loaded()
            let parsed = try InferenceRequest(body, model: model, maxRows: limits.maxRows)
            let predictions = try await predictLogged(
                parsed.table, model, requestID: Self.requestID(request, parsed.id))
            let (answer, headerLength) = try InferenceResponse.encode(
                predictions, model: name, version: version, id: parsed.id, request: outputs)
            guard let headerLength else {
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: answer))
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/octet-stream", BinaryTensors.header: String(headerLength)],
                body: ResponseBody(byteBuffer: answer))
        }
    }

    /// Reads the body (413 over the limit), parses its JSON (400) and answers with `answer`'s
    /// JSON, or the refusal it throws.
    func respond(_ request: Request, _ answer: (JSONValue) async throws(RequestError) -> String) async -> Response {
        await self.answer(request) { buffer async throws(RequestError) in
            Self.json(.ok, try await answer(try Self.json(buffer)))
        }
    }

    /// Reads the body (413 over the limit) and answers with `answer`'s response, or the refusal
    /// it throws as `{"error": …}`.
    func answer(_ request: Request, _ answer: (ByteBuffer) async throws(RequestError) -> Response) async -> Response {
        let buffer: ByteBuffer
        switch await read(request) {
        case .success(let body): buffer = body
        case .failure(let refusal): return Self.error(.init(code: refusal.status), refusal.message)
        }
        do throws(RequestError) {
            return try await answer(buffer)
        } catch {
            return Self.error(.init(code: error.status), error.message)
        }
    }

    /// The request's body: 413 over the limit (not read further), 400 when it cannot be read
    /// (a broken chunked encoding).
    func read(_ request: Request) async -> Result<ByteBuffer, RequestError> {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limits.maxBodyBytes {
            return .failure(RequestError(413, "the body is over \(limits.maxBodyBytes) bytes"))
        }
        do {
            return .success(try await request.body.collect(upTo: limits.maxBodyBytes))
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return .failure(RequestError(413, "the body is over \(limits.maxBodyBytes) bytes"))
        } catch {
            return .failure(RequestError(400, "the body could not be read: \(error)"))
        }
    }

    /// The body parsed as JSON (400 when it is not).
    static func json(_ body: ByteBuffer) throws(RequestError) -> JSONValue {
        let parsed: Result<JSONValue, JSONSyntaxError> = body.withUnsafeReadableBytes { bytes in
            Result { () throws(JSONSyntaxError) in try JSONValue.parse(bytes) }
        }
        switch parsed {
        case .success(let value): return value
        case .failure(let error): throw RequestError(400, "the body is not valid JSON: \(error.message)")
        }
    }

    /// A refusal when the path names another model or version than this server's.
    func check(_ context: BasicRequestContext) -> Response? {
        check(model: context.parameters.get("model") ?? "", version: context.parameters.get("version"))
    }

    func check(model asked: String, version askedVersion: String?) -> Response? {
        do throws(RequestError) {
            try serves(model: asked, version: askedVersion)
            return nil
        } catch {
            return Self.error(.init(code: error.status), error.message)
        }
    }

    /// A 404 when `asked` (and `askedVersion`, when given) is not this server's model; HTTP and
    /// gRPC alike.
    func serves(model asked: String, version askedVersion: String?) throws(RequestError) {
        guard asked == name else {
            throw RequestError(404, "model '\(asked)' is not served here; this server serves '\(name)'")
        }
        if let askedVersion, askedVersion != (version ?? "1") {
            throw RequestError(
                404, "model '\(name)' has no version '\(askedVersion)'; it serves version \(version ?? "1")")
        }
    }

    /// A tensor of the model's metadata: `-1` is a dimension of any size.
    struct TensorMetadata {
        let name: String
        let datatype: String
        let shape: [Int]

        var json: String {
            #"{"name":\#(StringLiteral.json(name)),"datatype":"\#(datatype)","shape":[\#(shape.map(String.init).joined(separator: ","))]}"#
        }
    }

    /// OIP model metadata: the raw inputs (one per feature the transform reads) and the outputs.
    static func tensors(_ model: ServableModel) -> (inputs: [TensorMetadata], outputs: [TensorMetadata]) {
        let inputs = model.requiredInputs.map { input in
            TensorMetadata(
                name: input.name, datatype: input.type == .bytes ? "BYTES" : input.type == .int ? "INT64" : "FP64",
                shape: [-1])
        }
        let classes = model.transform.labelValues == nil ? "INT64" : "BYTES"
        let outputs: [TensorMetadata] =
            switch model.task {
            case .regression: [TensorMetadata(name: "predictions", datatype: "FP32", shape: [-1])]
            case .multiclass:
                [
                    TensorMetadata(name: "probabilities", datatype: "FP32", shape: [-1, -1]),
                    TensorMetadata(name: "predicted_class", datatype: classes, shape: [-1]),
                ]
            case .binary, .auto:
                [
                    TensorMetadata(name: "probabilities", datatype: "FP32", shape: [-1]),
                    TensorMetadata(name: "predicted_class", datatype: classes, shape: [-1]),
                ]
            }
        return (inputs, outputs)
    }

    /// The platform the metadata names: XGBoost's JSON model, as KServe's runtime says it.
    static let platform = "xgboost_json"
    /// The protocol extensions served: Triton's binary tensor data (HTTP).
    static let extensions = ["binary_tensor_data"]

    func metadata(_ model: ServableModel) -> String {
        let (inputs, outputs) = Self.tensors(model)
        return #"{"name":\#(StringLiteral.json(name)),"versions":[\#(StringLiteral.json(version ?? "1"))],"#
            + #""platform":"\#(Self.platform)","inputs":[\#(inputs.map(\.json).joined(separator: ","))],"#
            + #""outputs":[\#(outputs.map(\.json).joined(separator: ","))]}"#
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, #"{"error":\#(StringLiteral.json(message))}"#)
    }
}

/// The served model, set once when it is loaded and warmed up.
final class ModelSlot: @unchecked Sendable {
    // `stored` is only touched under `lock`; hence @unchecked Sendable.
    private let lock = NSLock()
    private var stored: ServableModel?

    var model: ServableModel? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func install(_ model: ServableModel) {
        lock.lock()
        stored = model
        lock.unlock()
    }
}
