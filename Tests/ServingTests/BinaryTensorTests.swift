import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Serving

/// Triton's binary tensor data extension (what `tritonclient.http` sends by default): binary
/// inputs give what their JSON form gives, outputs come back in binary when asked, and every
/// bad length is a 400 naming the tensor.
@Suite struct BinaryTensorTests {
    static let header = HTTPField.Name("Inference-Header-Content-Length")!

    /// `json` then `binary`, with the header saying where the JSON ends.
    static func post(
        _ client: any TestClientProtocol, json: String, binary: [UInt8], headerLength: String? = nil
    ) async throws -> (status: HTTPResponse.Status, headerLength: Int?, json: String, binary: [UInt8]) {
        var body = ByteBuffer(string: json)
        body.writeBytes(binary)
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[Self.header] = headerLength ?? String(json.utf8.count)
        return try await client.execute(
            uri: "/v2/models/tips/infer", method: .post, headers: headers, body: body
        ) { response in
            let bytes = Array(response.body.readableBytesView)
            let length = response.headers[Self.header].flatMap { Int($0) }
            let split = length ?? bytes.count
            return (
                response.status, length, String(decoding: bytes[..<split], as: UTF8.self), Array(bytes[split...])
            )
        }
    }

    static func fp64(_ values: [Double]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static func strings(_ values: [String]) -> [UInt8] {
        values.flatMap { text in
            withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { Array($0) } + Array(text.utf8)
        }
    }

    static func tensor(_ name: String, _ datatype: String, shape: [Int], size: Int) -> String {
        #"{"name":"\#(name)","datatype":"\#(datatype)","shape":\#(shape),"parameters":{"binary_data_size":\#(size)}}"#
    }

    static func floats(_ bytes: ArraySlice<UInt8>) -> [Float] {
        stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map { start in
            Float(bitPattern: bytes[start..<(start + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
    }

    @Test func binaryInputsGiveTheJSONFormsPredictionsAndBinaryOutputsCarryThem() async throws {
        try await ModelServerTests().withServer { client, _ in
            let (jsonStatus, jsonBody) = try await ModelServerTests.post(client, ModelServerTests.valid)
            #expect(jsonStatus == .ok)
            let jsonAnswer = try #require(
                try JSONSerialization.jsonObject(with: Data(jsonBody.utf8)) as? [String: Any])
            let expected = try #require(
                ((jsonAnswer["outputs"] as? [[String: Any]])?.first { $0["name"] as? String == "probabilities" })?[
                    "data"] as? [Double]
            ).map(Float.init)

            // The same three rows as ModelServerTests.valid; no outputs named: all in binary, as Triton does.
            let sizes = Self.fp64([1.5, 9.0, .nan])
            // Binary has no null: an empty element is a missing value, like the JSON form's null.
            let colours = Self.strings(["red", "blue", ""])
            let request =
                #"{"id":"b1","inputs":[\#(Self.tensor("size", "FP64", shape: [3], size: sizes.count)),"#
                + #"\#(Self.tensor("colour", "BYTES", shape: [3, 1], size: colours.count))],"#
                + #""parameters":{"binary_data_output":true}}"#
            let answer = try await Self.post(client, json: request, binary: sizes + colours)
            #expect(answer.status == .ok, "\(answer.json)")
            let header = try #require(answer.headerLength, "the answer says where its JSON ends")
            #expect(header == answer.json.utf8.count)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.json.utf8)) as? [String: Any])
            #expect(json["id"] as? String == "b1")
            let outputs = try #require(json["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["probabilities", "predicted_class"])
            let sizesOut = outputs.map { ($0["parameters"] as? [String: Any])?["binary_data_size"] as? Int }
            #expect(sizesOut == [12, 24], "3 FP32 probabilities, 3 INT64 classes")
            #expect(outputs.allSatisfy { $0["data"] == nil })
            #expect(answer.binary.count == 36)
            let probabilities = Self.floats(answer.binary[0..<12])
            #expect(probabilities == expected, "bit for bit, the missing colour included")

            // Outputs named: probabilities in binary, predicted_class in JSON.
            let mixed =
                #"{"inputs":[\#(Self.tensor("size", "FP64", shape: [3], size: sizes.count)),"#
                + #"\#(Self.tensor("colour", "BYTES", shape: [3], size: colours.count))],"#
                + #""outputs":[{"name":"predicted_class","parameters":{"binary_data":false}},"#
                + #"{"name":"probabilities","parameters":{"binary_data":true}}]}"#
            let second = try await Self.post(client, json: mixed, binary: sizes + colours)
            #expect(second.status == .ok, "\(second.json)")
            let secondJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(second.json.utf8)) as? [String: Any])
            let secondOutputs = try #require(secondJSON["outputs"] as? [[String: Any]])
            #expect(secondOutputs.map { $0["name"] as? String } == ["predicted_class", "probabilities"])
            #expect((secondOutputs[0]["data"] as? [Int])?.count == 3)
            #expect(Self.floats(second.binary[...]) == probabilities)

            // JSON in, one output named, none binary: a plain JSON answer without the header.
            let plain = try await Self.post(
                client,
                json: ModelServerTests.valid.replacingOccurrences(
                    of: #""id":"a1","#, with: #""id":"a1","outputs":[{"name":"probabilities"}],"#), binary: [])
            #expect(plain.status == .ok && plain.headerLength == nil)
            #expect(plain.json.contains(#""name":"probabilities""#) && !plain.json.contains("predicted_class"))
        }
    }

    /// A request over 256 rows predicts on Swift's global pool, not its connection's event loop:
    /// the same answers as a small one.
    @Test func aLargeRequestPredictsOffTheEventLoopWithTheSameAnswers() async throws {
        try await ModelServerTests().withServer { client, _ in
            func body(_ rows: Int) -> String {
                let sizes = Array(repeating: "4.5", count: rows).joined(separator: ",")
                let colours = Array(repeating: #""green""#, count: rows).joined(separator: ",")
                return #"{"inputs":[{"name":"size","datatype":"FP64","shape":[\#(rows)],"data":[\#(sizes)]},"#
                    + #"{"name":"colour","datatype":"BYTES","shape":[\#(rows)],"data":[\#(colours)]}]}"#
            }
            func probabilities(_ text: String) throws -> [Double] {
                let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let outputs = try #require(json["outputs"] as? [[String: Any]])
                return try #require(outputs.first { $0["name"] as? String == "probabilities" }?["data"] as? [Double])
            }
            let (smallStatus, small) = try await ModelServerTests.post(client, body(2))
            let (largeStatus, large) = try await ModelServerTests.post(client, body(ModelServer.offLoopRows + 44))
            #expect(smallStatus == .ok && largeStatus == .ok)
            let one = try #require(try probabilities(small).first)
            let many = try probabilities(large)
            #expect(many.count == 300 && many.allSatisfy { $0 == one })
        }
    }

    @Test func badLengthsAndTruncatedBodiesAre400NamingTheTensor() async throws {
        try await ModelServerTests().withServer { client, _ in
            let sizes = Self.fp64([1, 2])
            let colours = Self.strings(["red", "blue"])
            func request(sizeBytes: Int, colourBytes: Int, shape: Int = 2) -> String {
                #"{"inputs":[\#(Self.tensor("size", "FP64", shape: [shape], size: sizeBytes)),"#
                    + #"\#(Self.tensor("colour", "BYTES", shape: [shape], size: colourBytes))]}"#
            }
            let good = request(sizeBytes: 16, colourBytes: colours.count)
            let cases: [(json: String, binary: [UInt8], header: String?, message: String)] = [
                (good, sizes + colours, "100000", "Inference-Header-Content-Length is 100000 but the body has"),
                (good, sizes + colours, "twelve", "Inference-Header-Content-Length 'twelve' is not a byte count"),
                (
                    good, sizes + colours.dropLast(2), nil,
                    "input 'colour': binary_data_size is \(colours.count) but only"
                ),
                (good, sizes + colours + [0], nil, "1 bytes of binary data are left after the last binary input"),
                (
                    request(sizeBytes: 12, colourBytes: colours.count), Array(sizes[0..<12]) + colours, nil,
                    "input 'size': 12 bytes is not a whole number of FP64 values (8 bytes each)"
                ),
                (
                    request(sizeBytes: 16, colourBytes: colours.count, shape: 3), sizes + colours, nil,
                    "input 'size' has shape [3] but its 16 bytes hold 2 values"
                ),
                (
                    request(sizeBytes: 16, colourBytes: 11), sizes + [200, 0, 0, 0, 0x72, 0x65, 0x64, 3, 0, 0, 0], nil,
                    "input 'colour': element 0 says 200 bytes but only 7 are left"
                ),
                (
                    request(sizeBytes: 16, colourBytes: 9), sizes + [3, 0, 0, 0, 0x72, 0x65, 0x64, 1, 0], nil,
                    "input 'colour': element 1 has 2 bytes where its 4-byte length should be"
                ),
                (
                    request(sizeBytes: 16, colourBytes: 10), sizes + [2, 0, 0, 0, 0xC3, 0x28, 0, 0, 0, 0], nil,
                    "input 'colour': element 0 is not UTF-8 text"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[2],"data":[1,2],"#
                        + #""parameters":{"binary_data_size":16}}]}"#, sizes, nil,
                    "input 'size' has both 'data' and binary_data_size"
                ),
                (
                    #"{"inputs":[\#(Self.tensor("size", "BOOL", shape: [2], size: 2))]}"#, [1, 0], nil,
                    "input 'size': BOOL cannot be sent as binary data"
                ),
                (
                    #"{"inputs":[\#(Self.tensor("size", "FP64", shape: [2], size: -4))]}"#, [], nil,
                    "input 'size': binary_data_size must be a byte count"
                ),
                (
                    good.replacingOccurrences(of: "]}", with: #"],"outputs":[{"name":"margin"}]}"#), sizes + colours,
                    nil, "unknown output 'margin'; the model gives: probabilities, predicted_class"
                ),
            ]
            for item in cases {
                let answer = try await Self.post(
                    client, json: item.json, binary: item.binary, headerLength: item.header)
                #expect(answer.status == .badRequest, "\(item.message)")
                #expect(answer.json.contains(item.message), "\(answer.json)")
            }
        }
    }
}
