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

    /// The rows of the CSV file `file` as OIP input tensors, typed as the model's metadata
    /// (`inputs`) says.
    static func tensors(_ file: URL, inputs: [[String: Any]]) throws -> [[String: Any]] {
        var options = CSVOptions()
        for input in inputs where input["datatype"] as? String == "BYTES" {
            options.types[input["name"] as! String] = .bytes
        }
        let table = try CSVReader.read(path: file.path, options: options)
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
        return tensors
    }

    /// The log's visible files' lines, parsed (each file must end with a whole line), and the
    /// hidden (partial) files' names.
    static func predictionLog(_ folder: URL) throws -> (lines: [[String: Any]], files: Int, hidden: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var lines: [[String: Any]] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(text.hasSuffix("\n"), "\(name) ends in half a line")
            for line in text.split(separator: "\n") {
                lines.append(try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            }
        }
        return (lines, names.filter { !$0.hasPrefix(".") }.count, names.filter { $0.hasPrefix(".") })
    }

    @Test func predictionLogsWrittenUnderLoadSurviveSIGKILLAndTheNextStartGoesOn() async throws {
        let repo = try TrainCLITests().project()
        let dir = repo.directory.url
        #expect(try MLOpsProcess.run(["train"], in: dir).status == 0)
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(
                of: "serving:\n",
                with: "serving:\n  log:\n    path: logs\n    rotate_mb: 1\n    exclude: [payment_type]\n"))
        let lines = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
            .split(separator: "\n").prefix(101)
        let sample = try repo.write("sample.csv", lines.joined(separator: "\n") + "\n")
        let logs = dir.appendingPathComponent("logs")
        let server = try ServingProcess(
            ["serve", "latest", "--port", "0", "--name", "taxi"], in: dir, ready: "ready: model 'taxi'")
        #expect(server.banner.contains("logging predictions to \(logs.path) (every request"), "\(server.banner)")
        let base = try #require(URL(string: "http://127.0.0.1:\(server.port)"))
        let (_, metadataBody) = try await request(base.appendingPathComponent("v2/models/taxi"))
        let inputs = try #require(
            (try JSONSerialization.jsonObject(with: metadataBody) as? [String: Any])?["inputs"] as? [[String: Any]])
        let tensors = try Self.tensors(sample, inputs: inputs)
        // 8 clients at once, 40 requests of 100 rows each: 32000 rows, a few MiB, so files rotate.
        let infer = base.appendingPathComponent("v2/models/taxi/infer")
        let bodies = try (0..<8).map { client in
            try (0..<40).map { index in
                try JSONSerialization.data(withJSONObject: ["id": "c\(client)-\(index)", "inputs": tensors])
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for requests in bodies {
                group.addTask {
                    for body in requests {
                        var post = URLRequest(url: infer)
                        post.httpMethod = "POST"
                        post.httpBody = body
                        let (_, response) = try await URLSession.shared.data(for: post)
                        #expect((response as? HTTPURLResponse)?.statusCode == 200)
                    }
                }
            }
            try await group.waitForAll()
        }
        // Once /metrics counts every row written, SIGKILL: no goodbye, the open file half done.
        var metrics = ""
        for _ in 0..<100 {
            metrics = String(decoding: try await request(base.appendingPathComponent("metrics")).1, as: UTF8.self)
            if metrics.contains("mlops_prediction_log_rows_total 32000") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(metrics.contains("mlops_prediction_log_rows_total 32000"), "\(metrics)")
        #expect(metrics.contains("mlops_prediction_log_dropped_rows_total 0"))
        // A file is open (hidden) at the kill: when the last batch happened to fill one, a
        // one-row request opens the next.
        var sent = 320
        func partial() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []).contains { $0.hasPrefix(".") }
        }
        if !partial() {
            let one = try repo.write("one.csv", lines.prefix(2).joined(separator: "\n") + "\n")
            var post = URLRequest(url: infer)
            post.httpMethod = "POST"
            post.httpBody = try JSONSerialization.data(withJSONObject: [
                "id": "one", "inputs": try Self.tensors(one, inputs: inputs),
            ])
            // A session of its own: a pooled keep-alive connection from the load is not reused.
            let session = URLSession(configuration: .ephemeral)
            defer { session.invalidateAndCancel() }
            let (_, answer) = try await session.data(for: post)
            #expect((answer as? HTTPURLResponse)?.statusCode == 200)
            sent += 1
            for _ in 0..<100 where !partial() {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        let killed = try Self.predictionLog(logs)
        // Every published file is whole; what was open is hidden.
        #expect(killed.files >= 1 && killed.hidden.count == 1, "\(killed.files) files, hidden \(killed.hidden)")
        #expect(killed.lines.count < sent)

        // The next start publishes what the killed one left, then goes on.
        let again = try ServingProcess(
            ["serve", "latest", "--port", "0", "--name", "taxi"], in: dir, ready: "ready: model 'taxi'")
        let recovered = try Self.predictionLog(logs)
        #expect(recovered.hidden.isEmpty && recovered.lines.count == sent)
        // No id in the body: the X-Request-ID header names the request.
        let next = try #require(URL(string: "http://127.0.0.1:\(again.port)/v2/models/taxi/infer"))
        var headed = URLRequest(url: next)
        headed.httpMethod = "POST"
        headed.setValue("from-header", forHTTPHeaderField: "X-Request-ID")
        headed.httpBody = try JSONSerialization.data(withJSONObject: ["inputs": tensors])
        let (_, response) = try await URLSession.shared.data(for: headed)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        again.stop()
        let all = try Self.predictionLog(logs).lines
        // Each request once, with its 100 rows; the header's id; the model named by its files.
        let ids = all.compactMap { $0["request_id"] as? String }
        let expected = (0..<8).flatMap { client in (0..<40).map { "c\(client)-\($0)" } } + ["from-header"]
        #expect(all.count == sent + 1 && Set(ids).count == sent + 1)
        #expect(Set(ids) == Set(expected + (sent == 321 ? ["one"] : [])))
        #expect(all.allSatisfy { $0["rows"] as? Int == ($0["request_id"] as? String == "one" ? 1 : 100) })
        let first = try #require(all.first)
        #expect(first["model"] as? String == "taxi" && (first["identity"] as? String)?.hasPrefix("sha256:") == true)
        let features = try #require(first["features"] as? [String: [Any]])
        #expect(features["payment_type"] == nil && features["trip_miles"]?.count == 100)
        #expect((first["predictions"] as? [String: [Any]])?["probability"]?.count == 100)
        #expect(Set(all.compactMap { $0["identity"] as? String }).count == 1)

        // Bad settings stop the server before it listens: 78 naming the key, 74 naming the folder.
        for (setting, message) in [
            ("    sample: 1.5\n", "serving.log.sample"), ("    rotate_mb: 0\n", "serving.log.rotate_mb"),
            ("    path: s3://Bucket/logs\n", "'Bucket' is not a bucket name"),
        ] {
            _ = try repo.write(
                "mlops.yaml", yaml.replacingOccurrences(of: "serving:\n", with: "serving:\n  log:\n" + setting))
            let refused = try MLOpsProcess.run(["serve", "latest", "--port", "0"], in: dir)
            #expect(refused.status == 78 && refused.stderr.contains(message), "\(refused.stderr)")
            #expect(!refused.stdout.contains("listening"))
        }
        _ = try repo.write("mlops.yaml", yaml)
        _ = try repo.write("taken", "a file\n")
        let unwritable = try MLOpsProcess.run(
            ["serve", "latest", "--port", "0", "--log-predictions", "taken/logs"], in: dir)
        #expect(unwritable.status == 74 && unwritable.stderr.contains("taken/logs"), "\(unwritable.stderr)")
        #expect(!unwritable.stdout.contains("listening"))
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
        let tensors = try Self.tensors(sample, inputs: inputs)
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
