import Foundation
import GRPCCore
import InferenceProtocol
import MLOpsCore
import Pipeline
import SwiftProtobuf

/// The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, as KServe and
/// Triton serve it) for the same ``ModelServer``: the same checks, the same model, the same
/// predictions bit for bit. A `ModelInfer` request becomes the JSON request the HTTP route
/// reads (typed `contents`, or `raw_input_contents` decoded as Triton's binary tensors), so
/// every refusal says what the HTTP one says, with the gRPC status for its HTTP status.
struct InferenceService: OIP_GRPCInferenceService.SimpleServiceProtocol {
    let server: ModelServer

    func serverLive(request: OIP_ServerLiveRequest, context: ServerContext) async throws -> OIP_ServerLiveResponse {
        var response = OIP_ServerLiveResponse()
        response.live = true
        return response
    }

    func serverReady(request: OIP_ServerReadyRequest, context: ServerContext) async throws -> OIP_ServerReadyResponse {
        var response = OIP_ServerReadyResponse()
        response.ready = server.isReady
        return response
    }

    func modelReady(request: OIP_ModelReadyRequest, context: ServerContext) async throws -> OIP_ModelReadyResponse {
        try check(request.name, request.version)
        var response = OIP_ModelReadyResponse()
        response.ready = server.isReady
        return response
    }

    func serverMetadata(request: OIP_ServerMetadataRequest, context: ServerContext) async throws
        -> OIP_ServerMetadataResponse
    {
        var response = OIP_ServerMetadataResponse()
        response.name = "mlops"
        response.version = MLOpsVersion.current
        response.extensions = ModelServer.extensions
        return response
    }

    func modelMetadata(request: OIP_ModelMetadataRequest, context: ServerContext) async throws
        -> OIP_ModelMetadataResponse
    {
        try check(request.name, request.version)
        let (inputs, outputs) = ModelServer.tensors(try rpc { () throws(RequestError) in try server.loaded() })
        func tensor(_ metadata: ModelServer.TensorMetadata) -> OIP_ModelMetadataResponse.TensorMetadata {
            var tensor = OIP_ModelMetadataResponse.TensorMetadata()
            tensor.name = metadata.name
            tensor.datatype = metadata.datatype
            tensor.shape = metadata.shape.map(Int64.init)
            return tensor
        }
        var response = OIP_ModelMetadataResponse()
        response.name = server.name
        response.versions = [server.version ?? "1"]
        response.platform = ModelServer.platform
        response.inputs = inputs.map(tensor)
        response.outputs = outputs.map(tensor)
        return response
    }

    func modelInfer(request: OIP_ModelInferRequest, context: ServerContext) async throws -> OIP_ModelInferResponse {
        try check(request.modelName, request.modelVersion)
        return try rpc { () throws(RequestError) in
            let raw = !request.rawInputContents.isEmpty
            if raw, request.rawInputContents.count != request.inputs.count {
                throw RequestError(
                    400,
                    "raw_input_contents has \(request.rawInputContents.count) entries for \(request.inputs.count) inputs: send one per input"
                )
            }
            var tensors: [JSONValue] = []
            for (index, input) in request.inputs.enumerated() {
                if raw, input.hasContents {
                    throw RequestError(400, "input '\(input.name)' has contents while raw_input_contents is used")
                }
                let data: [JSONValue]
                if raw {
                    let decoded: Result<[JSONValue], RequestError> = request.rawInputContents[index].withUnsafeBytes {
                        bytes in
                        Result { () throws(RequestError) in
                            try BinaryTensors.decode(bytes, datatype: input.datatype, name: input.name)
                        }
                    }
                    data = try decoded.get()
                } else {
                    data = try Self.values(input.contents, datatype: input.datatype, name: input.name)
                }
                tensors.append(
                    .object([
                        "name": .string(input.name), "datatype": .string(input.datatype),
                        "shape": .array(input.shape.map { .number(Double($0)) }), "data": .array(data),
                    ]))
            }
            let model = try server.loaded()
            let parsed = try InferenceRequest(
                .object(["inputs": .array(tensors)]), model: model, maxRows: server.limits.maxRows)
            let predictions = try server.predict(parsed.table, model)
            server.log?.record(
                requestID: request.id.isEmpty ? UUID().uuidString.lowercased() : String(request.id.prefix(200)),
                table: parsed.table, predictions: predictions)
            let chosen = try InferenceResponse.select(
                InferenceResponse.outputs(predictions),
                named: request.outputs.isEmpty ? nil : request.outputs.map(\.name))
            var response = OIP_ModelInferResponse()
            response.modelName = server.name
            response.modelVersion = server.version ?? "1"
            response.id = request.id
            for output in chosen {
                var tensor = OIP_ModelInferResponse.InferOutputTensor()
                tensor.name = output.name
                tensor.datatype = output.datatype
                tensor.shape = output.shape.map(Int64.init)
                if raw {
                    response.rawOutputContents.append(Data(output.binary))
                } else {
                    tensor.contents = Self.contents(output)
                }
                response.outputs.append(tensor)
            }
            return response
        }
    }

    /// A tensor's typed contents as JSON values, from the field its datatype uses.
    static func values(_ contents: OIP_InferTensorContents, datatype: String, name: String) throws(RequestError)
        -> [JSONValue]
    {
        switch datatype {
        case "FP64": return contents.fp64Contents.map { .number($0) }
        case "FP32": return contents.fp32Contents.map { .number(Double($0)) }
        case "INT64": return contents.int64Contents.map { .number(Double($0)) }
        case "INT32", "INT16", "INT8": return contents.intContents.map { .number(Double($0)) }
        case "UINT64": return contents.uint64Contents.map { .number(Double($0)) }
        case "UINT32", "UINT16", "UINT8": return contents.uintContents.map { .number(Double($0)) }
        case "BOOL": return contents.boolContents.map { .bool($0) }
        case "BYTES":
            var values: [JSONValue] = []
            for (index, bytes) in contents.bytesContents.enumerated() {
                guard let text = String(data: bytes, encoding: .utf8) else {
                    throw RequestError(400, "input '\(name)': element \(index) is not UTF-8 text")
                }
                values.append(text.isEmpty ? .null : .string(text))  // empty: missing, as over HTTP binary
            }
            return values
        default:
            throw RequestError(
                400,
                "input '\(name)': \(datatype.isEmpty ? "no datatype" : "datatype \(datatype)") has no contents field")
        }
    }

    static func contents(_ output: InferenceResponse.Output) -> OIP_InferTensorContents {
        var contents = OIP_InferTensorContents()
        switch output.datatype {
        case "FP32": contents.fp32Contents = output.floats
        case "INT64": contents.int64Contents = output.integers
        default: contents.bytesContents = output.texts.map { Data($0.utf8) }
        }
        return contents
    }

    /// A refusal when the request names another model or version than this server's (an empty
    /// version is any).
    func check(_ model: String, _ version: String) throws {
        try rpc { () throws(RequestError) in try server.serves(model: model, version: version.isEmpty ? nil : version) }
    }

    /// `body`'s result, or its refusal as the gRPC status of the HTTP one (KServe's mapping).
    func rpc<T>(_ body: () throws(RequestError) -> T) throws -> T {
        do throws(RequestError) {
            return try body()
        } catch {
            let code: RPCError.Code =
                switch error.status {
                case 400: .invalidArgument
                case 404: .notFound
                case 413: .resourceExhausted
                case 503: .unavailable
                default: .internalError
                }
            throw RPCError(code: code, message: error.message)
        }
    }
}
