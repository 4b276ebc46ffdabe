import Foundation
import Hummingbird
import MLOpsCore
import Pipeline
import Tabular

/// A request the server refuses, with the HTTP status and the message for `{"error": …}`.
public struct RequestError: Error, Sendable, Equatable {
    public let status: Int
    public let message: String

    public init(_ status: Int = 400, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// An Open Inference Protocol v2 inference request turned into raw rows, checked against the
/// columns the model's transform reads. Either one input tensor per raw feature (`BYTES` for
/// text, `FP64`/`FP32`/`INT64`/`INT32` for numbers; shape `[N]` or `[N, 1]`; `data` flat or
/// nested, `null` for a missing value), or one batch tensor of any other name, shape `[N, F]`,
/// the F features in the order the model's metadata lists them: `BYTES` (numbers may be
/// written as strings; an empty string is missing) or, when every feature is numeric, `FP64`.
public struct InferenceRequest: Sendable {
    public let id: String?
    public let table: DataTable

    static let numericTypes: Set<String> = [
        "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8",
    ]

    init(_ parsed: JSONValue, model: ServableModel, maxRows: Int) throws(RequestError) {
        guard let body = parsed.object else {
            throw RequestError(400, "the body must be a JSON object with an 'inputs' list")
        }
        id = body["id"]?.string
        guard let inputs = body["inputs"]?.array, !inputs.isEmpty else {
            throw RequestError(400, "the request has no 'inputs': send one tensor per feature")
        }
        // Any column of the training data may be sent (one the model does not need is ignored).
        let types = model.inputTypes
        if inputs.count == 1, let tensor = inputs[0].object, let name = tensor["name"]?.string,
            types[name] == nil, let shape = Self.shape(tensor["shape"]), shape.count == 2
        {
            table = try Self.batch(tensor, name: name, shape: shape, model: model, maxRows: maxRows)
            return
        }
        var columns: [Column] = []
        var rows: Int?
        var seen: Set<String> = []
        for (index, item) in inputs.enumerated() {
            guard let tensor = item.object, let name = tensor["name"]?.string else {
                throw RequestError(400, "inputs[\(index)] must be an object with a 'name'")
            }
            guard types[name] != nil else {
                let known = Array(types.keys)
                let hint = Suggestions.nearest(to: name, in: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw RequestError(
                    400, "unknown input '\(name)'\(hint); the model reads: \(known.sorted().joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw RequestError(400, "input '\(name)' is given twice") }
            guard let datatype = tensor["datatype"]?.string else {
                throw RequestError(400, "input '\(name)' has no 'datatype' (BYTES, FP64 or INT64)")
            }
            guard let shape = Self.shape(tensor["shape"]), !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }),
                shape.count == 1 || (shape.count == 2 && shape[1] == 1)
            else {
                throw RequestError(400, "input '\(name)' must have shape [N] or [N, 1]: one value per row")
            }
            var values: [JSONValue] = []
            Self.flatten(tensor["data"] ?? .array([]), into: &values)
            guard values.count == shape[0] else {
                throw RequestError(400, "input '\(name)' has shape \(shape) but \(values.count) values")
            }
            if let rows, rows != shape[0] {
                throw RequestError(400, "input '\(name)' has \(shape[0]) rows; the inputs before it have \(rows)")
            }
            guard shape[0] <= maxRows else {
                throw RequestError(400, "\(shape[0]) rows is more than this server takes in one request (\(maxRows))")
            }
            rows = shape[0]
            columns.append(try Self.column(name, datatype, values, type: types[name] ?? .float))
        }
        if let missing = model.requiredInputs.map(\.name).filter({ !seen.contains($0) }).min() {
            throw RequestError(400, "input '\(missing)' is missing: the model needs it (send null values for missing)")
        }
        table = DataTable(file: "request", columns: columns, rowCount: rows ?? 0)
    }

    /// A tensor's shape: a list of whole numbers, nil otherwise.
    static func shape(_ value: JSONValue?) -> [Int]? {
        guard let list = value?.array else { return nil }
        var shape: [Int] = []
        for item in list {
            guard case .number(let number) = item, number == number.rounded(), abs(number) < 1e15 else { return nil }
            shape.append(Int(number))
        }
        return shape
    }

    /// The batch form: one `[N, F]` tensor, the features in the metadata's order.
    static func batch(_ tensor: JSONObject, name: String, shape: [Int], model: ServableModel, maxRows: Int)
        throws(RequestError) -> DataTable
    {
        let features = model.requiredInputs
        guard shape[0] >= 0, shape[1] == features.count else {
            throw RequestError(
                400,
                "input '\(name)' has shape \(shape): a batch is [N, \(features.count)], one value per feature in this "
                    + "order: \(features.map(\.name).joined(separator: ", "))")
        }
        guard shape[0] <= maxRows else {
            throw RequestError(400, "\(shape[0]) rows is more than this server takes in one request (\(maxRows))")
        }
        let datatype = tensor["datatype"]?.string ?? ""
        guard datatype == "BYTES" || numericTypes.contains(datatype) else {
            throw RequestError(400, "input '\(name)': a batch is BYTES, or FP64 when every feature is numeric")
        }
        if datatype != "BYTES", let text = features.first(where: { $0.type == .bytes }) {
            throw RequestError(
                400, "input '\(name)' is \(datatype), but the model reads text ('\(text.name)'): send a BYTES batch")
        }
        var values: [JSONValue] = []
        flatten(tensor["data"] ?? .array([]), into: &values)
        guard values.count == shape[0] * shape[1] else {
            throw RequestError(400, "input '\(name)' has shape \(shape) but \(values.count) values")
        }
        var columns: [Column] = []
        for (index, feature) in features.enumerated() {
            var column: [JSONValue] = []
            column.reserveCapacity(shape[0])
            for row in 0..<shape[0] {
                let value = values[row * shape[1] + index]
                guard datatype == "BYTES", feature.type != .bytes, case .string(let text) = value else {
                    column.append(value)
                    continue
                }
                if text.isEmpty {
                    column.append(.null)
                } else if let number = Double(text) {
                    column.append(.number(number))
                } else {
                    throw RequestError(
                        400, "input '\(name)' row \(row): feature '\(feature.name)' must be a number, not '\(text)'")
                }
            }
            let kind = datatype == "BYTES" ? (feature.type == .bytes ? "BYTES" : "FP64") : datatype
            columns.append(try Self.column(feature.name, kind, column, type: feature.type))
        }
        return DataTable(file: "request", columns: columns, rowCount: shape[0])
    }

    static func flatten(_ value: JSONValue, into values: inout [JSONValue]) {
        if case .array(let list) = value {
            for item in list { flatten(item, into: &values) }
        } else {
            values.append(value)
        }
    }

    /// A feature's values as a column of the type the model reads it as. `datatype` is the
    /// tensor's (OIP); nil for row and column formats without one, where the values decide.
    static func column(_ name: String, _ datatype: String?, _ values: [JSONValue], type: FeatureType)
        throws(RequestError)
        -> Column
    {
        let datatype = datatype ?? (type == .bytes ? "BYTES" : "FP64")
        switch (type, datatype) {
        case (.bytes, "BYTES"):
            var texts: [String?] = []
            for (row, value) in values.enumerated() {
                switch value {
                case .null: texts.append(nil)
                case .string(let text): texts.append(text)
                default: throw RequestError(400, "input '\(name)' row \(row): expected a string, found \(value.kind)")
                }
            }
            return Column(name: name, texts: texts)
        case (.int, let datatype) where numericTypes.contains(datatype),
            (.float, let datatype) where numericTypes.contains(datatype):
            var numbers: [Double] = []
            for (row, value) in values.enumerated() {
                switch value {
                case .null: numbers.append(.nan)
                case .number(let number): numbers.append(number)
                default: throw RequestError(400, "input '\(name)' row \(row): expected a number, found \(value.kind)")
                }
            }
            if type == .int {
                var integers: [Int64?] = []
                for (row, number) in numbers.enumerated() {
                    if number.isNaN { integers.append(nil); continue }
                    guard number == number.rounded(), abs(number) < 9.2e18 else {
                        throw RequestError(400, "input '\(name)' row \(row): expected an integer, found \(number)")
                    }
                    integers.append(Int64(number))
                }
                return Column(name: name, integers: integers)
            }
            return Column(name: name, numbers: numbers)
        default:
            let wanted = type == .bytes ? "BYTES" : "FP64 or INT64"
            throw RequestError(
                400, "input '\(name)' must be \(wanted) (the model reads it as \(type.rawValue)), not \(datatype)")
        }
    }
}

/// An inference response: `probabilities` and `predicted_class` (classification; `[N]` for
/// binary, `[N, classes]` for multiclass) or `predictions` (regression), each in JSON or, with
/// Triton's binary data extension, as raw bytes after the JSON.
public enum InferenceResponse {
    /// One output tensor: its values are the columns' rows, row-major.
    struct Output {
        let name: String
        let datatype: String
        let shape: [Int]
        let columns: [Predictions.Column]

        var json: String {
            (0..<(shape.first ?? 0)).flatMap { row in columns.map { $0.json(row) } }.joined(separator: ",")
        }

        /// The values row-major, as the datatype holds them: FP32, INT64 (a missing class as 0) or text.
        var floats: [Float] { rowMajor { Float($0.numbers?[$1] ?? .nan) } }
        var integers: [Int64] {
            rowMajor { column, row in
                let value = column.numbers?[row] ?? 0
                return Int64(value.isFinite ? value : 0)
            }
        }
        var texts: [String] { rowMajor { $0.texts?[$1] ?? $0.text($1) ?? "" } }

        private func rowMajor<T>(_ value: (Predictions.Column, Int) -> T) -> [T] {
            (0..<(shape.first ?? 0)).flatMap { row in columns.map { value($0, row) } }
        }

        /// Flat, row-major, little-endian; BYTES elements with a 4-byte little-endian length.
        var binary: [UInt8] {
            var out: [UInt8] = []
            switch datatype {
            case "FP32":
                for value in floats {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                }
            case "INT64":
                for value in integers { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
            default:
                for text in texts {
                    withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { out.append(contentsOf: $0) }
                    out.append(contentsOf: text.utf8)
                }
            }
            return out
        }
    }

    /// The outputs a request names, in its order (an unknown name is a 400), or all of them.
    static func select(_ all: [Output], named: [String]?) throws(RequestError) -> [Output] {
        guard let named else { return all }
        var chosen: [Output] = []
        for name in named {
            guard let output = all.first(where: { $0.name == name }) else {
                throw RequestError(
                    400, "unknown output '\(name)'; the model gives: \(all.map(\.name).joined(separator: ", "))")
            }
            chosen.append(output)
        }
        return chosen
    }

    static func outputs(_ predictions: Predictions) -> [Output] {
        var outputs: [Output] = []
        let rows = predictions.rows
        let probabilities = predictions.columns.filter { $0.name.hasPrefix("probability") }
        if !probabilities.isEmpty {
            let shape = probabilities.count == 1 ? [rows] : [rows, probabilities.count]
            outputs.append(Output(name: "probabilities", datatype: "FP32", shape: shape, columns: probabilities))
        }
        if let classes = predictions.columns.first(where: { $0.name == "predicted_class" }) {
            outputs.append(
                Output(
                    name: "predicted_class", datatype: classes.texts != nil ? "BYTES" : "INT64", shape: [rows],
                    columns: [classes]))
        }
        if let values = predictions.columns.first(where: { $0.name == "prediction" }) {
            outputs.append(Output(name: "predictions", datatype: "FP32", shape: [rows], columns: [values]))
        }
        return outputs
    }

    public static func json(_ predictions: Predictions, model: String, version: String?, id: String?) -> String {
        let outputs = outputs(predictions).map { output in
            let shape = "[" + output.shape.map(String.init).joined(separator: ",") + "]"
            return
                #"{"name":"\#(output.name)","datatype":"\#(output.datatype)","shape":\#(shape),"data":[\#(output.json)]}"#
        }
        return envelope(model: model, version: version, id: id, outputs: outputs)
    }

    /// The response a request asked for: the outputs it names (all when it names none), each in
    /// JSON or binary; returns the body and, when any output is binary, the JSON part's length.
    static func encode(
        _ predictions: Predictions, model: String, version: String?, id: String?,
        request: BinaryTensors.OutputRequest
    ) throws(RequestError) -> (body: ByteBuffer, headerLength: Int?) {
        let selected = try select(outputs(predictions), named: request.named?.map(\.name))
        let chosen = zip(selected, request.named?.map(\.binary) ?? selected.map { _ in request.binaryByDefault })
        var binary: [UInt8] = []
        let rendered = chosen.map { output, asBinary in
            let shape = "[" + output.shape.map(String.init).joined(separator: ",") + "]"
            let head = #"{"name":"\#(output.name)","datatype":"\#(output.datatype)","shape":\#(shape)"#
            guard asBinary else { return head + #","data":[\#(output.json)]}"# }
            let bytes = output.binary
            binary.append(contentsOf: bytes)
            return head + #","parameters":{"binary_data_size":\#(bytes.count)}}"#
        }
        let json = envelope(model: model, version: version, id: id, outputs: rendered)
        var body = ByteBuffer(string: json)
        guard chosen.contains(where: { $0.1 }) else { return (body, nil) }  // no output asked in binary
        body.writeBytes(binary)
        return (body, json.utf8.count)
    }

    static func envelope(model: String, version: String?, id: String?, outputs: [String]) -> String {
        var fields = [#""model_name":\#(StringLiteral.json(model))"#]
        if let version { fields.append(#""model_version":\#(StringLiteral.json(version))"#) }
        if let id { fields.append(#""id":\#(StringLiteral.json(id))"#) }
        fields.append(#""outputs":[\#(outputs.joined(separator: ","))]"#)
        return "{" + fields.joined(separator: ",") + "}"
    }
}
