import Foundation
import Hummingbird
import HummingbirdTesting
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing
import XGBoostKit

@testable import Serving

#if canImport(Glibc)
    import Glibc
#endif

/// A schema for ``modelFolder(schema:)``: `size` in [0, 10], `colour` one of three.
let sizeAndColourDomains = """
    feature { name: "size" type: FLOAT float_domain { min: 0 max: 10 } }
    feature { name: "colour" type: BYTES string_domain { value: "red" value: "green" value: "blue" } }
    feature { name: "note" type: BYTES }
    feature { name: "tips" type: FLOAT }

    """

/// A model folder made in place: a fitted transform (a number, a text and a dropped column;
/// the label derived from a training-only column), a small XGBoost model, and `schema` as its
/// schema.pbtxt when given. `data.csv` beside it holds the 400 rows it was trained on.
func modelFolder(schema: String? = nil) throws -> TemporaryDirectory {
    var random = SplitMix64(seed: 4)
    var text = "size,colour,note,tips\n"
    for _ in 0..<400 {
        let size = random.unit() * 10
        let colour = ["red", "green", "blue"][random.int(in: 0...2)]
        let tips = size / 10 + (colour == "red" ? 0.4 : 0) + random.unit() * 0.3
        text += "\(String(format: "%.3f", size)),\(colour),n\(random.int(in: 0...9)),\(String(format: "%.3f", tips))\n"
    }
    let dir = try TemporaryDirectory()
    let csv = try dir.write("data.csv", text)
    let table = try CSVReader.read(path: csv.path)
    let config = try MLOpsConfig.parse(
        yaml: """
            pipeline: {name: t}
            data: {sources: ["data.csv"]}
            transform:
              derive: {big: tips > 0.8}
              training_only: [tips]
              features: {size: [zscore], note: [drop]}
            trainer: {label: big}

            """, file: "mlops.yaml", root: nil)
    let transform = try FittedTransform.fit(config.transform, label: "big", on: table)
    let (features, labels) = try transform.apply(to: table)
    let matrix = try DMatrix(values: features, rows: table.rowCount, columns: transform.featureNames.count)
    try matrix.setLabels(try #require(labels).map(Float.init))
    let booster = try Booster(
        parameters: [("objective", "binary:logistic"), ("max_depth", "3"), ("nthread", "1"), ("seed", "0")],
        cache: [matrix])
    for round in 0..<10 { try booster.update(iteration: round, train: matrix) }
    let model = dir.appending("model")
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    try booster.save(to: model.appendingPathComponent("model.json").path)
    try JSONEncoder().encode(transform).write(to: model.appendingPathComponent("transform.json"))
    try Data(
        #"{"task":"binary","objective":"binary:logistic","metric":"auc","best_round":9,"rounds":[],"features":[]}"#.utf8
    ).write(to: model.appendingPathComponent("history.json"))
    if let schema { try Data(schema.utf8).write(to: model.appendingPathComponent("schema.pbtxt")) }
    return dir
}

@Suite struct ModelServerTests {
    func withServer(
        limits: ModelServer.Limits = .init(), schema: String? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, ServableModel) async throws -> Void
    ) async throws {
        let dir = try modelFolder(schema: schema)
        let model = try ServableModel(folder: dir.appending("model"), threads: 1)
        let server = ModelServer(name: "tips", limits: limits)
        try server.load { model }
        let app = Application(router: server.router())
        try await app.test(.router) { client in try await body(client, model) }
    }

    static func post(_ client: any TestClientProtocol, _ body: String, path: String = "/v2/models/tips/infer")
        async throws -> (HTTPResponse.Status, String)
    {
        try await client.execute(uri: path, method: .post, body: ByteBuffer(string: body)) { response in
            (response.status, String(buffer: response.body))
        }
    }

    static let valid = #"""
        {"id":"a1","inputs":[
          {"name":"size","datatype":"FP64","shape":[3],"data":[1.5,9.0,null]},
          {"name":"colour","datatype":"BYTES","shape":[3,1],"data":[["red"],["blue"],[null]]}]}
        """#

    @Test func healthMetadataAndPredictionsAsTheModelMakesThem() async throws {
        try await withServer { client, model in
            try await client.execute(uri: "/v2/health/live", method: .get) {
                #expect(String(buffer: $0.body) == #"{"live":true}"#)
            }
            try await client.execute(uri: "/v2/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"ready":true}"#)
            }
            try await client.execute(uri: "/v2", method: .get) {
                #expect(String(buffer: $0.body).contains(#""name":"mlops""#))
            }
            try await client.execute(uri: "/v2/models/tips", method: .get) { response in
                let json =
                    try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
                let inputs = (json?["inputs"] as? [[String: Any]])?.map {
                    "\($0["name"] ?? ""):\($0["datatype"] ?? "")"
                }
                // The dropped column and the training-only one are not asked for.
                #expect(inputs == ["size:FP64", "colour:BYTES"])
            }
            try await client.execute(uri: "/v2/models/tips/versions/1/ready", method: .get) {
                #expect($0.status == .ok)
            }

            let (status, body) = try await Self.post(client, Self.valid)
            #expect(status == .ok, "\(body)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(json["model_name"] as? String == "tips" && json["id"] as? String == "a1")
            let outputs = try #require(json["outputs"] as? [[String: Any]])
            let probabilities = try #require(outputs.first { $0["name"] as? String == "probabilities" })
            #expect(probabilities["shape"] as? [Int] == [3])
            let served = (probabilities["data"] as? [Double] ?? []).map(Float.init)
            // The same rows through the library: the same floats, bit for bit.
            let table = DataTable(
                file: "t",
                columns: [
                    Column(name: "size", numbers: [1.5, 9, .nan]), Column(name: "colour", texts: ["red", "blue", nil]),
                ],
                rowCount: 3)
            let offline = try model.predict(table).columns[0].numbers?.map(Float.init)
            #expect(served == offline)
            let classes = try #require(outputs.first { $0["name"] as? String == "predicted_class" })
            #expect(classes["datatype"] as? String == "INT64")
            #expect(classes["data"] as? [Int] == served.map { $0 >= 0.5 ? 1 : 0 })

            // Prometheus' text format: the request above by route and code, its latency, the rows.
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(
                    text.contains(
                        #"mlops_http_requests_total{route="/v2/models/{model}/infer",method="POST",code="200"} 1"#))
                #expect(
                    text.contains(#"mlops_http_request_duration_seconds_count{route="/v2/models/{model}/infer"} 1"#))
                #expect(text.contains("mlops_rows_predicted_total 3\n"), "\(text)")
                #expect(text.contains("mlops_model_load_seconds "))
            }
        }
    }

    @Test func badRequestsGetA4xxNamingTheProblem() async throws {
        var limits = ModelServer.Limits()
        limits.maxRows = 2
        limits.maxBodyBytes = 2000
        try await withServer(limits: limits) { client, _ in
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("{not json", .badRequest, "not valid JSON"),
                (#"{"inputs":[]}"#, .badRequest, "no 'inputs'"),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[1],"data":[1]}]}"#, .badRequest,
                    "input 'colour' is missing"
                ),
                (
                    #"{"inputs":[{"name":"sise","datatype":"FP64","shape":[1],"data":[1]}]}"#, .badRequest,
                    "unknown input 'sise' (did you mean 'size'?)"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"BYTES","shape":[1],"data":["1"]}]}"#, .badRequest,
                    "input 'size' must be FP64 or INT64"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[1],"data":["big"]}]}"#, .badRequest,
                    "input 'size' row 0: expected a number, found a string"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[2],"data":[1]}]}"#, .badRequest,
                    "input 'size' has shape [2] but 1 values"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[1],"data":[1]},{"name":"colour","datatype":"BYTES","shape":[2],"data":["red","red"]}]}"#,
                    .badRequest, "input 'colour' has 2 rows; the inputs before it have 1"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[3],"data":[1,2,3]}]}"#, .badRequest,
                    "3 rows is more than this server takes in one request (2)"
                ),
                (
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[2,2],"data":[1,2,3,4]}]}"#, .badRequest,
                    "must have shape [N] or [N, 1]"
                ),
            ]
            for (body, status, message) in cases {
                let (got, text) = try await Self.post(client, body)
                #expect(got == status, "\(body) → \(text)")
                #expect(text.hasPrefix(#"{"error":"#) && text.contains(message), "\(body) → \(text)")
            }
            let (tooLarge, text) = try await Self.post(client, String(repeating: " ", count: 5000) + "{}")
            #expect(tooLarge == .contentTooLarge, "\(text)")
            let (unknown, other) = try await Self.post(client, Self.valid, path: "/v2/models/other/infer")
            #expect(unknown == .notFound && other.contains("this server serves 'tips'"))
            let (version, _) = try await Self.post(client, Self.valid, path: "/v2/models/tips/versions/7/infer")
            #expect(version == .notFound)
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"method="POST",code="413"} 1"#), "\(text)")
                #expect(text.contains(#"route="/v2/models/{model}/infer",method="POST",code="400"} 10"#), "\(text)")
                #expect(text.contains("mlops_rows_predicted_total 0\n"))
            }
            // After all of that, a good request is still answered.
            #expect(
                try await Self.post(
                    client,
                    #"{"inputs":[{"name":"size","datatype":"FP64","shape":[1],"data":[2]},{"name":"colour","datatype":"BYTES","shape":[1],"data":["red"]}]}"#
                ).0 == .ok)
        }
    }

    @Test func oneBatchTensorInTheMetadatasOrderGivesTheSamePredictions() async throws {
        try await withServer { client, _ in
            let (_, perFeature) = try await Self.post(client, Self.valid)
            let batch = #"""
                {"id":"a1","inputs":[{"name":"rows","datatype":"BYTES","shape":[3,2],
                  "data":[["1.5","red"],[9,"blue"],["",null]]}]}
                """#
            let (status, text) = try await Self.post(client, batch)
            #expect(status == .ok, "\(text)")
            #expect(text == perFeature)  // the same rows, the same answer
            let refusals: [(String, String)] = [
                (
                    #"{"inputs":[{"name":"rows","datatype":"BYTES","shape":[1,3],"data":["1","red","x"]}]}"#,
                    "a batch is [N, 2], one value per feature in this order: size, colour"
                ),
                (
                    #"{"inputs":[{"name":"rows","datatype":"FP64","shape":[1,2],"data":[1,2]}]}"#,
                    "the model reads text ('colour'): send a BYTES batch"
                ),
                (
                    #"{"inputs":[{"name":"rows","datatype":"BYTES","shape":[1,2],"data":["big","red"]}]}"#,
                    "input 'rows' row 0: feature 'size' must be a number, not 'big'"
                ),
                (
                    #"{"inputs":[{"name":"rows","datatype":"BYTES","shape":[2,2],"data":["1","red"]}]}"#,
                    "has shape [2, 2] but 2 values"
                ),
            ]
            for (body, message) in refusals {
                let (got, answer) = try await Self.post(client, body)
                #expect(got == .badRequest && answer.contains(message), "\(body) → \(answer)")
            }
        }
    }

    @Test func tfServingAndMLflowFormatsGiveTheSamePredictions() async throws {
        try await withServer { client, model in
            let table = DataTable(
                file: "t",
                columns: [Column(name: "size", numbers: [1.5, 9]), Column(name: "colour", texts: ["red", nil])],
                rowCount: 2)
            let expected = try #require(model.predict(table).columns[0].numbers).map { "\(Float($0))" }
            let rows = #"[{"size":[1.5],"colour":"red"},{"size":9,"colour":null}]"#
            let requests: [(String, String, String)] = [
                ("/v1/models/tips:predict", #"{"instances":\#(rows)}"#, #"{"predictions":[{"probability":"#),
                ("/v1/models/tips/versions/1:predict", #"{"instances":\#(rows)}"#, #"{"predictions":["#),
                (
                    "/v1/models/tips:predict", #"{"inputs":{"size":[1.5,9],"colour":["red",null]}}"#,
                    #"{"outputs":{"probability":["#
                ),
                (
                    "/invocations", #"{"dataframe_split":{"columns":["size","colour"],"data":[[1.5,"red"],[9,null]]}}"#,
                    "{\"predictions\":["
                ),
                ("/invocations", #"{"dataframe_records":\#(rows)}"#, "{\"predictions\":["),
                ("/invocations", #"{"instances":\#(rows)}"#, "{\"predictions\":["),
                ("/invocations", #"{"inputs":{"size":[1.5,9],"colour":["red",null]}}"#, "{\"predictions\":["),
            ]
            for (path, body, prefix) in requests {
                let (status, text) = try await Self.post(client, body, path: path)
                #expect(status == .ok, "\(path) \(body) → \(text)")
                #expect(text.hasPrefix(prefix), "\(path) → \(text)")
                // Both rows' probabilities, as the model gives them, whatever the format.
                for value in expected { #expect(text.contains(value), "\(path) → \(text) lacks \(value)") }
            }
            try await client.execute(uri: "/v1/models/tips", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""state":"AVAILABLE""#))
            }
            try await client.execute(uri: "/ping", method: .get) { #expect($0.status == .ok) }

            let refusals: [(String, String, HTTPResponse.Status, String)] = [
                ("/v1/models/tips:classify", "{}", .notFound, "only :predict is served"),
                ("/v1/models/other:predict", #"{"instances":\#(rows)}"#, .notFound, "this server serves 'tips'"),
                ("/v1/models/tips:predict", #"{"instances":\#(rows),"inputs":{}}"#, .badRequest, "not both"),
                (
                    "/v1/models/tips:predict", #"{"instances":[{"size":"big","colour":"red"}]}"#, .badRequest,
                    "input 'size' row 0: expected a number"
                ),
                (
                    "/v1/models/tips:predict", #"{"instances":[{"size":1,"colur":"red"}]}"#, .badRequest,
                    "unknown input 'colur' (did you mean 'colour'?)"
                ),
                ("/v1/models/tips:predict", #"{"instances":[{"size":1}]}"#, .badRequest, "input 'colour' is missing"),
                (
                    "/invocations", #"{"dataframe_split":{"columns":["size","colour"],"data":[[1.5]]}}"#, .badRequest,
                    "row 0 must have 2 values"
                ),
                ("/invocations", #"{"rows":[]}"#, .badRequest, "MLflow's formats"),
                ("/invocations", "[1,", .badRequest, "not valid JSON"),
            ]
            for (path, body, status, message) in refusals {
                let (got, text) = try await Self.post(client, body, path: path)
                #expect(got == status, "\(path) \(body) → \(text)")
                #expect(text.contains(message), "\(path) \(body) → \(text)")
            }
        }
    }

    @Test func theServerIsLiveBeforeTheModelIsLoadedAndReadyAfter() async throws {
        let dir = try modelFolder()
        let server = ModelServer(name: "tips")
        let app = Application(router: server.router())
        try await app.test(.router) { client in
            for path in ["/v2/health/ready", "/v2/models/tips", "/v2/models/tips/ready", "/ping", "/v1/models/tips"] {
                try await client.execute(uri: path, method: .get) {
                    #expect($0.status == .serviceUnavailable, "\(path)")
                }
            }
            try await client.execute(uri: "/v2/health/live", method: .get) { #expect($0.status == .ok) }
            let (status, text) = try await Self.post(client, Self.valid)
            #expect(status == .serviceUnavailable && text.contains("still loading"), "\(text)")
            let (tf, _) = try await Self.post(client, #"{"instances":[]}"#, path: "/v1/models/tips:predict")
            #expect(tf == .serviceUnavailable)

            try server.load { try ServableModel(folder: dir.appending("model"), threads: 1) }
            try await client.execute(uri: "/v2/health/ready", method: .get) { #expect($0.status == .ok) }
            #expect(try await Self.post(client, Self.valid).0 == .ok)
        }
        // A model whose warm-up fails never makes the server ready.
        let broken = ModelServer(name: "tips")
        #expect(throws: ServingError.self) {
            try broken.load { try ServableModel(folder: dir.appending("missing")) }
        }
        #expect(!broken.isReady)
    }

    @Test func valuesOutsideTheSchemasDomainAreRefusedReadAsMissingOrKept() async throws {
        let body: @Sendable (String, String) -> String = { size, colour in
            #"{"inputs":[{"name":"size","datatype":"FP64","shape":[2],"data":[2,\#(size)]},"#
                + #"{"name":"colour","datatype":"BYTES","shape":[2],"data":["red",\#(colour)]}]}"#
        }
        try await withServer(schema: sizeAndColourDomains) { client, _ in
            let refused: [(String, String)] = [
                (body("3", #""purple""#), "input 'colour' row 1: 'purple' is not among the schema's 3 values"),
                (body("11", #""blue""#), "input 'size' row 1: 11.0 is above the schema's maximum 10.0"),
                (body("-1", #""blue""#), "input 'size' row 1: -1.0 is below the schema's minimum 0.0"),
            ]
            for (request, message) in refused {
                let (status, text) = try await Self.post(client, request)
                #expect(status == .badRequest && text.contains(message), "\(text)")
            }
            let (rows, text) = try await Self.post(
                client, #"{"instances":[{"size":1,"colour":"red"},{"size":1,"colour":"teal"}]}"#,
                path: "/v1/models/tips:predict")
            #expect(rows == .badRequest && text.contains("input 'colour' row 1: 'teal'"), "\(text)")
            // Missing values and values inside the domain pass.
            #expect(try await Self.post(client, body("null", "null")).0 == .ok)
        }
        @Sendable func probabilities(_ text: String) throws -> [Double] {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let outputs = try #require(json["outputs"] as? [[String: Any]])
            return try #require(outputs.first { $0["name"] as? String == "probabilities" }?["data"] as? [Double])
        }
        for (policy, unknownColour) in [(OutOfDomain.missing, nil), (.keep, "purple")] as [(OutOfDomain, String?)] {
            var limits = ModelServer.Limits()
            limits.outOfDomain = policy
            try await withServer(limits: limits, schema: sizeAndColourDomains) { client, model in
                let (status, text) = try await Self.post(client, body("3", #""purple""#))
                #expect(status == .ok, "\(policy): \(text)")
                // `missing` predicts as if the value were not sent; `keep` as sent (an OOV bucket).
                let table = DataTable(
                    file: "t",
                    columns: [
                        Column(name: "size", numbers: [2, 3]), Column(name: "colour", texts: ["red", unknownColour]),
                    ],
                    rowCount: 2)
                let expected = try #require(model.predict(table).columns[0].numbers)
                #expect(try probabilities(text).map(Float.init) == expected.map(Float.init), "\(policy)")
            }
        }
    }

    /// Sends `bytes` on a new connection to `port` and returns the answer (up to 64 KB or 5 s
    /// of silence).
    static func raw(_ bytes: [UInt8], port: Int) throws -> String {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0)
        // A signal (SIGCHLD from another test's child process) interrupts send and recv on a
        // socket with a timeout whatever SA_RESTART says (signal(7)): those calls are retried.
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + sent, $0.count - sent, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            sent += count
        }
        // A response may arrive in pieces (the head, then the body): read until the body its
        // Content-Length announces is whole, the connection closes, or 30 s pass in silence.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received.count < buffer.count {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            received += buffer[..<count]
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n"),
                let length = text.firstMatch(of: /(?i)content-length: *(\d+)/).flatMap({ Int($0.1) }),
                text[end.upperBound...].utf8.count >= length
            {
                break
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    @Test func malformedHTTPGetsA4xxAndTheServerGoesOn() async throws {
        let dir = try modelFolder()
        var limits = ModelServer.Limits()
        limits.maxBodyBytes = 1000
        let server = ModelServer(name: "tips", limits: limits)
        try server.load { try ServableModel(folder: dir.appending("model"), threads: 1) }
        let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let post = "POST /v2/models/tips/infer HTTP/1.1\r\nHost: t\r\n"
            let cases: [(String, String)] = [
                ("GARBAGE\r\n\r\n", "HTTP/1.1 400"),
                // A broken chunk is found by the HTTP decoder: as the handler reads the body
                // (then it names the problem) or before it starts (a bare 400, or a reset).
                (post + "Transfer-Encoding: chunked\r\n\r\nZZ\r\n", "the body could not be read"),
                (
                    post + "Transfer-Encoding: chunked\r\n\r\n800\r\n" + String(repeating: " ", count: 2048),
                    "HTTP/1.1 413"
                ),
                // A declared length over the limit is refused before the body arrives.
                (post + "Content-Length: 5000\r\n\r\n{", "the body is over 1000 bytes"),
                (post + "Content-Length: 99999999999999999999999\r\n\r\n", "HTTP/1.1 400"),
                (String(repeating: "\u{1}\u{2}\u{FF}", count: 100), "HTTP/1.1 400"),
            ]
            for (request, expected) in cases {
                let answer = try Self.raw(Array(request.utf8), port: port)
                // A request the HTTP parser refuses is answered 400 and the connection closed
                // with the rest of the request unread, so the kernel may reset it and the 400
                // never reaches the client: what matters there is that the server goes on.
                // So may a chunked body over the limit: the server answers 413 and closes with the
                // rest of the body unread, and under load the reset can overtake the answer.
                let decoderLevel =
                    expected == "HTTP/1.1 400" || expected == "the body could not be read"
                    || (expected == "HTTP/1.1 413" && request.contains("chunked"))
                let refused = answer.isEmpty || answer.hasPrefix("HTTP/1.1 400") || answer.hasPrefix("HTTP/1.1 413")
                #expect(answer.contains(expected) || (decoderLevel && refused), "\(request.prefix(80)) → \(answer)")
                #expect(!answer.hasPrefix("HTTP/1.1 2") && !answer.hasPrefix("HTTP/1.1 5"), "\(answer)")
            }
            let answer = try Self.raw(Array("GET /v2/health/ready HTTP/1.1\r\nHost: t\r\n\r\n".utf8), port: port)
            #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix(#"{"ready":true}"#), "\(answer)")
        }
    }

    @Test func aModelFolderWithoutItsFilesIsRefused() throws {
        let dir = try modelFolder()
        try FileManager.default.removeItem(at: dir.appending("model/transform.json"))
        #expect(throws: ServingError(.missingFile(folder: dir.appending("model").path, file: "transform.json"))) {
            try ServableModel(folder: dir.appending("model"))
        }
    }
}

/// `BulkInference` through the library: batches, bad rows with their lines, domains, JSON Lines.
@Suite struct BulkInferenceTests {
    /// Runs bulk inference of `input` into `output` (read back), or returns the error.
    func infer(
        _ model: ServableModel, _ input: URL, _ output: URL,
        _ configure: (inout BulkInference.Options) -> Void = { _ in }
    ) throws -> (summary: BulkInference.Summary, text: String) {
        var options = BulkInference.Options()
        configure(&options)
        let summary = try BulkInference.run(input: input.path, model: model, output: output, options: options)
        return (summary, try String(contentsOf: output, encoding: .utf8))
    }

    @Test func smallBatchesGiveTheSameRowsAsWrittenWithTheirPredictions() throws {
        let dir = try modelFolder()
        let model = try ServableModel(folder: dir.appending("model"), threads: 1)
        let input = dir.appending("data.csv")
        let whole = try infer(model, input, dir.appending("whole.csv"))
        let batched = try infer(model, input, dir.appending("batched.csv")) { $0.batchBytes = 100 }
        #expect(whole.summary.rows == 400 && batched.summary.rows == 400)
        #expect(whole.text == batched.text)
        // Each input row as written, then the predictions the model gives that row.
        let inputLines = try String(contentsOf: input, encoding: .utf8).split(separator: "\n")
        let outputLines = whole.text.split(separator: "\n")
        #expect(outputLines[0] == inputLines[0] + ",probability,predicted_class")
        let table = try CSVReader.read(
            path: input.path,
            options: {
                var o = CSVOptions(); o.types = model.readTypes; return o
            }())
        let expected = try #require(model.predict(table).columns[0].numbers)
        for row in 0..<400 {
            let line = outputLines[row + 1]
            #expect(line.hasPrefix(inputLines[row + 1] + ","))
            let fields = line.split(separator: ",")
            #expect(Float(String(fields[fields.count - 2])) == Float(expected[row]))
        }
    }

    @Test func badRowsFailWithTheirLineAcrossBatchesOrAreSkipped() throws {
        let dir = try modelFolder(schema: sizeAndColourDomains)
        let model = try ServableModel(folder: dir.appending("model"), threads: 1)
        var lines = try String(contentsOf: dir.appending("data.csv"), encoding: .utf8).split(separator: "\n").map(
            String.init)
        lines[299] = "big,red,n1,0.5"  // line 300: a text size
        lines[249] = "2.000,purple,n1,0.5"  // line 250: a colour outside the schema
        lines[349] = "1.000,red"  // line 350: a field short
        let input = try dir.write("bad.csv", lines.joined(separator: "\n") + "\n")
        let output = dir.appending("out.csv")
        let failures: [(BadRowPolicy, OutOfDomain, Int, CSVError.Kind)] = [
            (
                .fail, .reject, 250,
                .outOfDomain(column: "colour", detail: "'purple' is not among the schema's 3 values")
            ),
            (.fail, .keep, 300, .wrongType(column: "size", expected: .float, value: "big")),
        ]
        for (rows, domain, line, kind) in failures {
            #expect {
                _ = try infer(model, input, output) {
                    $0.batchBytes = 200
                    $0.onBadRows = rows
                    $0.outOfDomain = domain
                }
            } throws: { error in
                let error = error as? CSVError
                return error?.kind == kind && error?.line == line && error?.file == input.path
            }
            #expect(!FileManager.default.fileExists(atPath: output.path))  // nothing half-written
        }
        let skipped = try infer(model, input, output) {
            $0.batchBytes = 200
            $0.onBadRows = .skip
        }
        #expect(skipped.summary.rows == 397)
        #expect(skipped.summary.skipped.map(\.line) == [250, 300, 350])
        #expect(skipped.summary.skipped[0].reason == "column 'colour': 'purple' is not among the schema's 3 values")
        #expect(!skipped.text.contains("purple") && !skipped.text.contains("big,"))
        // Read as missing: the row stays, predicted as with no colour.
        let missing = try infer(model, input, output) {
            $0.onBadRows = .skip
            $0.outOfDomain = .missing
        }
        #expect(missing.summary.rows == 398)
        let row = try #require(missing.text.split(separator: "\n").first { $0.hasPrefix("2.000,purple,") })
        let alone = DataTable(
            file: "t", columns: [Column(name: "size", numbers: [2]), Column(name: "colour", texts: [nil])], rowCount: 1)
        let probability = try #require(model.predict(alone).columns[0].numbers?.first)
        #expect(row.hasSuffix(",\(Float(probability)),\(probability >= 0.5 ? 1 : 0)"))
    }

    @Test func jsonLinesKeepTextAsTextAndNumbersAsWritten() throws {
        let dir = try modelFolder(schema: sizeAndColourDomains)
        let model = try ServableModel(folder: dir.appending("model"), threads: 1)
        let input = try dir.write(
            "rows.csv", "size,colour,note,id,tips\n2.50,red,007,007,nan\n,\"bl\"\"ue\",12,12,\n1e1,green,,x,1\n")
        let result = try infer(model, input, dir.appending("out.jsonl")) {
            $0.format = .jsonl
            $0.outOfDomain = .keep
        }
        let objects = try result.text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 3)
        #expect(
            result.text.hasPrefix(#"{"size":2.50,"colour":"red","note":"007","id":"007","tips":null,"probability":"#))
        #expect(objects[1]["size"] is NSNull && objects[1]["colour"] as? String == #"bl"ue"#)
        #expect(objects[1]["note"] as? String == "12")  // BYTES in the schema: text
        #expect(objects[1]["id"] as? Int == 12)  // unknown to the model: a number when it is one
        #expect(
            objects[2]["size"] as? Double == 10 && objects[2]["note"] is NSNull && objects[2]["id"] as? String == "x")
        #expect(objects.allSatisfy { $0["predicted_class"] is Int })
    }
}

/// The request bodies' JSON parser: RFC 8259, typed values, refusals with where.
@Suite struct JSONValueTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    func refusal(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch { return error.message }
    }

    @Test func documentsParseToTypedValues() throws {
        let value = try parse(
            #" {"a": [1, -0.5, 2.5e2, 1E-2, 0], "b": {"c": null, "d": true, "e": false}, "s": "x\"\\\/\n\t\u00e9\ud83d\ude00"} "#
        )
        #expect(
            value
                == .object([
                    "a": .array([.number(1), .number(-0.5), .number(250), .number(0.01), .number(0)]),
                    "b": .object(["c": .null, "d": .bool(true), "e": .bool(false)]),
                    "s": .string("x\"\\/\n\té😀"),
                ]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([:]))
        #expect(try parse("\"é\"") == .string("é"))
        // The deepest nesting taken, and one level more.
        let deep = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
        #expect(throws: Never.self) { try parse(deep) }
        #expect(refusal("[" + deep + "]")?.hasPrefix("nesting deeper than 64 levels") == true)
    }

    @Test func malformedDocumentsAreRefusedSayingWhere() {
        let cases: [(String, String)] = [
            ("", "unexpected end at byte 1"),
            ("{", "expected a quoted key at byte 2"),
            (#"{"a" 1}"#, "expected ':' at byte 6"),
            ("[1,]", "unexpected character at byte 4"),
            ("[1 2]", "expected ',' or ']' at byte 4"),
            ("01", "text after the JSON value at byte 2"),
            ("1.", "a digit must follow the decimal point at byte 3"),
            (".5", "unexpected character at byte 1"),
            ("1e", "a digit must follow the exponent at byte 3"),
            ("1e999", "a number out of range at byte 6"),
            (#""abc"#, "an unterminated string at byte 5"),
            ("\"a\u{1}b\"", "a control character inside a string at byte 3"),
            (#""\ud83d""#, #"a lone surrogate in \u escape"#),
            (#""\x""#, "an unknown escape at byte 4"),
            ("tru", "unexpected character at byte 1"),
            ("nul", "unexpected character at byte 1"),
            ("{} {}", "text after the JSON value at byte 4"),
        ]
        for (text, message) in cases {
            #expect(refusal(text)?.hasPrefix(message) == true, "\(text) → \(refusal(text) ?? "parsed")")
        }
    }
}
