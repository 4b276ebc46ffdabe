import Foundation
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `mlops serve` as a process: ready, real rows over HTTP equal to `mlops infer`, SIGTERM exits 0.
@Suite struct ServeCLITests {
    func request(_ url: URL, body: Data? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: url)
        if let body {
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test func servedPredictionsEqualBulkOnesAndSIGTERMStopsCleanly() async throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        #expect(try MLOpsProcess.run(["train"], in: dir).status == 0)
        // Twenty rows of the data, as a client would send them.
        let lines = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
            .split(separator: "\n").prefix(21)
        let sample = try repo.write("sample.csv", lines.joined(separator: "\n") + "\n")
        let bulk = try MLOpsProcess.run(["infer", "latest", "--input", "sample.csv", "--format", "jsonl"], in: dir)
        #expect(bulk.status == 0, "\(bulk.stderr)")
        let expected = try bulk.stdout.split(separator: "\n").map { line in
            try #require(
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["probability"] as? Double)
        }

        // The first line names the port; the second says the model is loaded and ready.
        let server = try ServingProcess(
            ["serve", "latest", "--port", "0", "--name", "taxi", "--grpc-port", "0"], in: dir,
            ready: "ready: model 'taxi' (binary) loaded in ")
        let grpcPort = try #require(
            server.banner.firstMatch(of: /listening on grpc:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
        let process = server.process
        let port = server.port
        let base = try #require(URL(string: "http://127.0.0.1:\(port)"))

        #expect(try await request(base.appendingPathComponent("v2/health/ready")).0 == 200)
        let (_, metadataBody) = try await request(base.appendingPathComponent("v2/models/taxi"))
        let metadata = try #require(try JSONSerialization.jsonObject(with: metadataBody) as? [String: Any])
        let inputs = try #require(metadata["inputs"] as? [[String: Any]])
        var options = CSVOptions()
        for input in inputs where input["datatype"] as? String == "BYTES" {
            options.types[input["name"] as! String] = .bytes
        }
        let table = try CSVReader.read(path: sample.path, options: options)
        var tensors: [[String: Any]] = []
        for input in inputs {
            let name = try #require(input["name"] as? String)
            let column = try #require(table.column(name))
            let values: [Any] = (0..<table.rowCount).map { row -> Any in
                guard column.present[row] else { return NSNull() }
                switch column.values {
                case .int(let values): return values[row]
                case .float(let values): return values[row]
                case .bytes(let dictionary, let codes): return dictionary[Int(codes[row])]
                }
            }
            tensors.append([
                "name": name, "datatype": input["datatype"] ?? "FP64", "shape": [table.rowCount], "data": values,
            ])
        }
        let body = try JSONSerialization.data(withJSONObject: ["id": "e2e", "inputs": tensors])
        let (status, answer) = try await request(base.appendingPathComponent("v2/models/taxi/infer"), body: body)
        #expect(status == 200, "\(String(decoding: answer, as: UTF8.self))")
        let json = try #require(try JSONSerialization.jsonObject(with: answer) as? [String: Any])
        let outputs = try #require(json["outputs"] as? [[String: Any]])
        let served = try #require(outputs.first { $0["name"] as? String == "probabilities" }?["data"] as? [Double])
        #expect(served.map(Float.init) == expected.map(Float.init))  // served = bulk, bit for bit
        let (bad, _) = try await request(base.appendingPathComponent("v2/models/taxi/infer"), body: Data("{".utf8))
        #expect(bad == 400)

        // NVIDIA's own client with its defaults (binary tensors both ways): the same predictions.
        // Missing text travels as an empty BYTES element, which mlops reads as missing, as an empty
        // CSV cell; the rows include some (and no quoted field, for the script's plain split).
        let rows = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let complete = rows.dropFirst().filter { !$0.contains("\"") }
        let tritonRows = try repo.write("triton.csv", ([rows[0]] + complete.prefix(25)).joined(separator: "\n") + "\n")
        let tritonBulk = try MLOpsProcess.run(
            ["infer", "latest", "--input", "triton.csv", "--format", "jsonl"], in: dir)
        #expect(tritonBulk.status == 0, "\(tritonBulk.stderr)")
        let tritonExpected = try tritonBulk.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let triton = try PythonTool.triton.run(
            "triton_infer.py", ["http", "127.0.0.1:\(port)", "taxi", tritonRows.path])
        #expect(triton.status == 0, "\(triton.stderr)")
        let tritonAnswer = try #require(
            try JSONSerialization.jsonObject(with: Data(triton.stdout.utf8)) as? [String: Any])
        #expect(tritonAnswer["id"] as? String == "triton")
        let tritonProbabilities = try #require(tritonAnswer["probabilities"] as? [Double])
        #expect(tritonProbabilities.count == 25)
        #expect(
            tritonProbabilities.map(Float.init) == tritonExpected.map { Float($0["probability"] as? Double ?? -1) },
            "tritonclient.http = mlops infer, bit for bit")
        #expect(
            tritonAnswer["predicted_class"] as? [Int] == tritonExpected.map { $0["predicted_class"] as? Int ?? -1 })

        // The same over gRPC: tritonclient.grpc's defaults (raw_input_contents), then typed
        // contents, the health and metadata RPCs and refusals through Triton's generated stubs.
        let viaGRPC = try PythonTool.triton.run(
            "triton_infer.py", ["grpc", "127.0.0.1:\(grpcPort)", "taxi", tritonRows.path])
        #expect(viaGRPC.status == 0, "\(viaGRPC.stderr)")
        let grpcAnswer = try #require(
            try JSONSerialization.jsonObject(with: Data(viaGRPC.stdout.utf8)) as? [String: Any])
        #expect(grpcAnswer["id"] as? String == "triton")
        #expect(
            (grpcAnswer["probabilities"] as? [Double])?.map(Float.init) == tritonProbabilities.map(Float.init),
            "tritonclient.grpc = tritonclient.http = mlops infer, bit for bit")
        #expect(grpcAnswer["predicted_class"] as? [Int] == tritonAnswer["predicted_class"] as? [Int])
        let checks = try PythonTool.triton.run(
            "oip_grpc_checks.py", ["127.0.0.1:\(grpcPort)", "taxi", tritonRows.path])
        #expect(checks.status == 0, "\(checks.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(checks.stdout.utf8)) as? [String: Any])
        #expect(report["live"] as? Bool == true && report["ready"] as? Bool == true)
        #expect(report["model_ready"] as? Bool == true && report["server"] as? String == "mlops")
        #expect(report["platform"] as? String == "xgboost_json")
        #expect(report["outputs"] as? [String] == ["probabilities", "predicted_class"])
        #expect(report["typed_id"] as? String == "typed" && report["typed_raw_outputs"] as? Int == 0)
        #expect(
            (report["typed_probabilities"] as? [Double])?.map(Float.init) == tritonProbabilities.map(Float.init),
            "typed contents give the same predictions")
        let refusals = try #require(report["refusals"] as? [String: [String]])
        #expect(refusals["missing_input"]?.first == "INVALID_ARGUMENT")
        #expect(
            refusals["missing_input"]?.last?.hasSuffix("is missing: the model needs it (send null values for missing)")
                == true)
        #expect(refusals["wrong_model"] == ["NOT_FOUND", "model 'nope' is not served here; this server serves 'taxi'"])
        #expect(refusals["raw_count"]?.last?.hasPrefix("raw_input_contents has 1 entries for") == true)
        #expect(refusals["truncated_bytes"]?.first == "INVALID_ARGUMENT")
        #expect(refusals["truncated_bytes"]?.last?.contains("element 0 says 50 bytes but only 3 are left") == true)
        #expect(
            refusals["unknown_output"]
                == ["INVALID_ARGUMENT", "unknown output 'margin'; the model gives: probabilities, predicted_class"])

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)

        try await slowClientsCannotStarveTheServer(dir)
        try badListeningSettingsAreRefused(dir)
    }

    /// Bad flags are usage errors naming the flag; a port already taken is exit 74 naming the
    /// address and the flag, for HTTP and for gRPC, and no server is left running.
    func badListeningSettingsAreRefused(_ dir: URL) throws {
        for (arguments, message) in [
            (["--read-timeout", "0"], "--read-timeout must be a number of seconds above 0"),
            (["--idle-timeout", "nan"], "--idle-timeout must be a number of seconds above 0"),
            (["--max-connections", "0"], "--max-connections must be 1…1000000"),
            (["--grpc-port", "70000"], "--grpc-port must be 0…65535"),
            (["--port", "8080", "--grpc-port", "8080"], "--grpc-port must differ from --port"),
        ] {
            let refused = try MLOpsProcess.run(["serve", "latest"] + arguments, in: dir)
            #expect(refused.status == 64, "\(arguments)")
            #expect(refused.stderr.contains(message), "\(refused.stderr)")
        }
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(taken, $0, length) == 0 && listen(taken, 1) == 0 && getsockname(taken, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = String(UInt16(bigEndian: address.sin_port))
        for (arguments, flag) in [
            (["--port", port], "--port"), (["--port", "0", "--grpc-port", port], "--grpc-port"),
        ] {
            let busy = try MLOpsProcess.run(["serve", "latest", "--name", "taxi"] + arguments, in: dir)
            #expect(busy.status == 74, "\(busy.stderr)")
            #expect(busy.stderr.contains("cannot listen on 127.0.0.1:\(port) (\(flag)): address already in use"))
            #expect(busy.stderr.contains("`\(flag) 0` picks a free one"))
        }
    }

    /// Half-sent requests are held only until --read-timeout, a kept-alive connection until
    /// --idle-timeout, and meanwhile a normal request is answered; over --max-connections a
    /// connection gets 503. Each cut is counted in /metrics.
    func slowClientsCannotStarveTheServer(_ dir: URL) async throws {
        let server = try ServingProcess(
            ["serve", "latest", "--port", "0", "--name", "taxi", "--read-timeout", "3", "--idle-timeout", "2"],
            in: dir, ready: "ready: model 'taxi'")
        defer {
            server.process.terminate()
            server.process.waitUntilExit()
        }
        let held = try PythonTool.ciTools.run("slow_clients.py", ["hold", String(server.port), "40"])
        #expect(held.status == 0, "\(held.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(held.stdout.utf8)) as? [String: Any])
        #expect(report["answered"] as? Int == 200)
        #expect(report["open_when_answered"] as? Int == 40, "answered while all 40 slow clients were still connected")
        #expect(report["cut"] as? Int == 40, "every slow connection is closed after the read timeout")
        #expect((report["cut_after"] as? Double ?? 0) >= 2.5, "not before the timeout")
        #expect(report["idle_cut"] as? Bool == true)
        let base = try #require(URL(string: "http://127.0.0.1:\(server.port)"))
        let metrics = String(decoding: try await request(base.appendingPathComponent("metrics")).1, as: UTF8.self)
        #expect(metrics.contains("mlops_connections_closed_total{reason=\"slow\"} 40"), "\(metrics)")
        let idle = metrics.firstMatch(of: /mlops_connections_closed_total\{reason="idle"\} (\d+)/).flatMap { Int($0.1) }
        #expect((idle ?? 0) >= 1, "the kept-alive connection (and any other left idle)")

        let limited = try ServingProcess(
            ["serve", "latest", "--port", "0", "--name", "taxi", "--max-connections", "5"], in: dir,
            ready: "ready: model 'taxi'")
        defer {
            limited.process.terminate()
            limited.process.waitUntilExit()
        }
        let over = try PythonTool.ciTools.run("slow_clients.py", ["limit", String(limited.port), "5"])
        #expect(over.status == 0, "\(over.stderr)")
        let extra = try #require(
            (try JSONSerialization.jsonObject(with: Data(over.stdout.utf8)) as? [String: Any])?["extra"] as? String)
        #expect(extra.hasPrefix("HTTP/1.1 503 Service Unavailable"))
        #expect(extra.contains("the server has 5 connections open, its limit"))
        // The held ones closed, the server takes connections again.
        var answered = false
        for _ in 0..<50 where !answered {
            answered = (try? await request(URL(string: "http://127.0.0.1:\(limited.port)/v2/health/live")!).0) == 200
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered)
        let limitedMetrics = String(
            decoding: try await request(URL(string: "http://127.0.0.1:\(limited.port)/metrics")!).1, as: UTF8.self)
        #expect(limitedMetrics.contains("mlops_connections_rejected_total 1"))
    }
}

/// InfraValidator's server outlives no gate: started with `--watch-parent`, it stops by itself
/// once the process that started it is killed with SIGKILL (which can stop nothing), as an
/// orchestrator's killed task or Airflow's BashOperator on_kill would leave it.
@Suite struct ServeParentWatchCLITests {
    @Test func aServerWhoseParentIsKilledStopsByItself() throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        #expect(try MLOpsProcess.run(["train"], in: dir).status == 0)
        // A shell starts the server (its child) and prints the server's pid; then the shell dies.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = [
            "-c", "\"$0\" serve latest --port 0 --quiet --watch-parent $$ >/dev/null 2>&1 & echo $!; wait",
            MLOpsProcess.binary.path,
        ]
        shell.currentDirectoryURL = dir
        shell.environment = MLOpsProcess.environment([:])
        let out = Pipe()
        shell.standardOutput = out
        try shell.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let server = try #require(Int32(line.trimmingCharacters(in: .whitespacesAndNewlines)), "\(line)")
        // Running while its parent lives.
        Thread.sleep(forTimeInterval: 1)
        #expect(Self.isRunning(server))
        kill(shell.processIdentifier, SIGKILL)
        shell.waitUntilExit()
        let deadline = Date().addingTimeInterval(15)
        while Self.isRunning(server), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        let stopped = !Self.isRunning(server)
        if !stopped { kill(server, SIGKILL) }
        #expect(stopped, "the server \(server) still runs after its parent was killed")
    }

    /// Alive and not a zombie waiting to be reaped.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }
}
