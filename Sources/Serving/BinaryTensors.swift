import Foundation
import HTTPTypes
import Hummingbird

/// Triton's binary tensor data extension to the Open Inference Protocol over HTTP, which
/// `tritonclient.http` uses by default.
///
/// A request with the header `Inference-Header-Content-Length: N` has N bytes of JSON, then
/// the raw data of each input whose `parameters.binary_data_size` is set, in the order of
/// `inputs`: flat, row-major, little-endian, and for `BYTES` each element a 4-byte
/// little-endian length and its bytes (an empty one is a missing value). The answer puts an output in binary when the request
/// asks (`outputs[].parameters.binary_data`, or `parameters.binary_data_output` for every
/// output not saying), with the same header and layout.
enum BinaryTensors {
    static let header = HTTPField.Name("Inference-Header-Content-Length")!

    /// The JSON part of `body` and the binary part after it; the whole body is JSON without the header.
    static func split(_ body: ByteBuffer, headerLength: String?) throws(RequestError) -> (
        json: ByteBuffer, binary: ByteBuffer
    ) {
        guard let headerLength else { return (body, ByteBuffer()) }
        guard let length = Int(headerLength.trimmingCharacters(in: .whitespaces)), length >= 0 else {
            throw RequestError(400, "Inference-Header-Content-Length '\(headerLength)' is not a byte count")
        }
        guard length <= body.readableBytes else {
            throw RequestError(
                400, "Inference-Header-Content-Length is \(length) but the body has \(body.readableBytes) bytes")
        }
        return (
            body.getSlice(at: body.readerIndex, length: length) ?? ByteBuffer(),
            body.getSlice(at: body.readerIndex + length, length: body.readableBytes - length) ?? ByteBuffer()
        )
    }

    /// The request with each binary input's data decoded into its `data`, so the rest of the
    /// server reads it as a JSON request; every byte of `binary` must belong to an input.
    static func inline(_ request: JSONValue, binary: ByteBuffer) throws(RequestError) -> JSONValue {
        guard var body = request.object, let inputs = body["inputs"]?.array else { return request }
        var offset = 0
        var rewritten: [JSONValue] = []
        for (index, input) in inputs.enumerated() {
            guard var tensor = input.object, let size = tensor["parameters"]?.object?["binary_data_size"] else {
                rewritten.append(input)
                continue
            }
            let name = tensor["name"]?.string ?? "inputs[\(index)]"
            guard case .number(let declared) = size, declared >= 0, declared == declared.rounded(), declared < 1e15
            else {
                throw RequestError(400, "input '\(name)': binary_data_size must be a byte count")
            }
            guard tensor["data"] == nil else {
                throw RequestError(400, "input '\(name)' has both 'data' and binary_data_size: send one")
            }
            let count = Int(declared)
            guard count <= binary.readableBytes - offset else {
                throw RequestError(
                    400,
                    "input '\(name)': binary_data_size is \(count) but only \(binary.readableBytes - offset) bytes of binary data are left"
                )
            }
            let datatype = tensor["datatype"]?.string ?? ""
            let elements = try binary.withUnsafeReadableBytes { bytes throws(RequestError) in
                try decode(
                    UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), datatype: datatype,
                    name: name)
            }
            if let shape = InferenceRequest.shape(tensor["shape"]), shape.allSatisfy({ $0 >= 0 }) {
                var product = 1
                for dimension in shape {
                    let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw RequestError(400, "input '\(name)': shape \(shape) is too large") }
                    product = next
                }
                guard product == elements.count else {
                    throw RequestError(
                        400, "input '\(name)' has shape \(shape) but its \(count) bytes hold \(elements.count) values")
                }
            }
            offset += count
            tensor.members.append(("data", .array(elements)))
            rewritten.append(.object(tensor))
        }
        guard offset == binary.readableBytes else {
            throw RequestError(
                400, "\(binary.readableBytes - offset) bytes of binary data are left after the last binary input")
        }
        body.members.append(("inputs", .array(rewritten)))
        return .object(body)
    }

    /// One tensor's raw elements as JSON values.
    static func decode(_ bytes: UnsafeRawBufferPointer, datatype: String, name: String) throws(RequestError)
        -> [JSONValue]
    {
        func fixed<T>(_: T.Type, _ convert: (T) -> Double) throws(RequestError) -> [JSONValue] {
            let size = MemoryLayout<T>.size
            guard bytes.count % size == 0 else {
                throw RequestError(
                    400,
                    "input '\(name)': \(bytes.count) bytes is not a whole number of \(datatype) values (\(size) bytes each)"
                )
            }
            return (0..<(bytes.count / size)).map {
                .number(convert(bytes.loadUnaligned(fromByteOffset: $0 * size, as: T.self)))
            }
        }
        switch datatype {
        case "FP64": return try fixed(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
        case "FP32": return try fixed(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
        case "FP16": return try fixed(UInt16.self) { Double(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case "BF16": return try fixed(UInt16.self) { Double(Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16)) }
        case "INT64": return try fixed(Int64.self) { Double(Int64(littleEndian: $0)) }
        case "INT32": return try fixed(Int32.self) { Double(Int32(littleEndian: $0)) }
        case "INT16": return try fixed(Int16.self) { Double(Int16(littleEndian: $0)) }
        case "INT8": return try fixed(Int8.self) { Double($0) }
        case "UINT64": return try fixed(UInt64.self) { Double(UInt64(littleEndian: $0)) }
        case "UINT32": return try fixed(UInt32.self) { Double(UInt32(littleEndian: $0)) }
        case "UINT16": return try fixed(UInt16.self) { Double(UInt16(littleEndian: $0)) }
        case "UINT8": return try fixed(UInt8.self) { Double($0) }
        case "BYTES":
            var values: [JSONValue] = []
            var position = 0
            while position < bytes.count {
                guard bytes.count - position >= 4 else {
                    throw RequestError(
                        400,
                        "input '\(name)': element \(values.count) has \(bytes.count - position) bytes where its 4-byte length should be"
                    )
                }
                let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                position += 4
                guard length <= bytes.count - position else {
                    throw RequestError(
                        400,
                        "input '\(name)': element \(values.count) says \(length) bytes but only \(bytes.count - position) are left"
                    )
                }
                guard
                    let text = String(
                        validating: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]),
                        as: UTF8.self)
                else {
                    throw RequestError(400, "input '\(name)': element \(values.count) is not UTF-8 text")
                }
                // An empty element is a missing value, as an empty CSV cell is (binary has no null).
                values.append(text.isEmpty ? .null : .string(text))
                position += length
            }
            return values
        default:
            throw RequestError(
                400, "input '\(name)': \(datatype.isEmpty ? "no datatype" : datatype) cannot be sent as binary data")
        }
    }

    /// Which outputs the request wants in binary: by name, and for the ones it does not name.
    struct OutputRequest: Sendable {
        /// The outputs asked for, in order, each in binary or not; nil when the request names none (all).
        var named: [(name: String, binary: Bool)]?
        var binaryByDefault = false

        init(_ request: JSONValue) throws(RequestError) {
            let object = request.object
            if case .bool(let all)? = object?["parameters"]?.object?["binary_data_output"] { binaryByDefault = all }
            guard let outputs = object?["outputs"] else { return }
            guard let list = outputs.array else { throw RequestError(400, "'outputs' must be a list") }
            var named: [(String, Bool)] = []
            for (index, output) in list.enumerated() {
                guard let name = output.object?["name"]?.string else {
                    throw RequestError(400, "outputs[\(index)] must be an object with a 'name'")
                }
                var binary = binaryByDefault
                if case .bool(let asked)? = output.object?["parameters"]?.object?["binary_data"] { binary = asked }
                named.append((name, binary))
            }
            self.named = named
        }
    }
}
