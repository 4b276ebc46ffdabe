import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// `mlops monitor` through the built binary, on logs a real `mlops serve` wrote for a released
/// model: a window of the training data's own rows is healthy, one with fares tripled fails
/// with the distance, labels are joined by request id with their problems counted.
@Suite struct MonitorCLITests {
    /// `2026-12-07T02:11:10.123Z`.
    static func stamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Serves `reference` with its predictions logged to `logs` (a folder or an s3:// prefix),
    /// sends `requests` (id → CSV file of rows), and stops it with SIGTERM (which publishes
    /// the open file); returns what the server printed after its banner.
    @discardableResult
    func serveLogged(
        _ reference: String, _ repo: TestRepository, logs: String, requests: [(String, URL)],
        environment: [String: String] = [:]
    ) async throws -> String {
        let server = try ServingProcess(
            // Values outside the schema's domain are kept (logged as sent), not refused.
            ["serve", reference, "--port", "0", "--log-predictions", logs, "--out-of-domain", "keep"],
            in: repo.directory.url, environment: environment, ready: "ready: model 'taxi'")
        #expect(server.banner.contains("logging predictions to \(logs)"), "\(server.banner)")
        let base = try #require(URL(string: "http://127.0.0.1:\(server.port)/v2/models/taxi"))
        let (_, metadata) = try await ServeCLITests().request(base)
        let inputs = try #require(
            (try JSONSerialization.jsonObject(with: metadata) as? [String: Any])?["inputs"] as? [[String: Any]])
        for (id, file) in requests {
            let (status, body) = try await ServeCLITests().request(
                base.appendingPathComponent("infer"),
                body: try JSONSerialization.data(withJSONObject: [
                    "id": id, "inputs": try ServeCLITests.tensors(file, inputs: inputs),
                ]))
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        }
        return server.stop()
    }

    /// `serving.log.path: s3://…`: files are spooled, shipped whole, and kept while S3 is away.
    @Test func aServerShipsItsLogToS3AndKeepsItWhileS3IsAway() async throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        #expect(try MLOpsProcess.run(["release"], in: dir).status == 0)
        let csv = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map(String.init)
        let header = lines.removeFirst()
        let requests = try (0..<3).map { index in
            (
                "s-\(index)",
                try repo.write(
                    "batches/s-\(index).csv",
                    ([header] + stride(from: index, to: 3000, by: 20).map { lines[$0] }).joined(separator: "\n") + "\n")
            )
        }
        let bucket = try S3TestBucket()
        let environment = bucket.server.environment(home: bucket.home.url)
        let spool = dir.appendingPathComponent(".mlops/prediction-spool")
        func serve(_ environment: [String: String]) async throws -> String {
            try await serveLogged(
                "taxi@0.1.0", repo, logs: "s3://\(bucket.name)/served", requests: requests, environment: environment)
        }
        // S3 away (nothing listens there): the file waits in the spool, and the server says so.
        var away = environment
        away["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        let said = try await serve(away)
        #expect(
            said.contains("cannot reach") && said.contains("wait in ") && said.contains(".mlops/prediction-spool"),
            "\(said)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).count == 1)
        #expect(try bucket.keys("served/").isEmpty)
        // S3 back: the next start ships what waited, then its own file.
        _ = try await serve(environment)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).isEmpty)
        let keys = try bucket.keys("served/")
        #expect(keys.count == 2 && keys.allSatisfy { $0.hasPrefix("served/predictions-") && $0.hasSuffix(".jsonl") })
        let monitor = try MLOpsProcess.run(
            ["monitor", "--model", "taxi@0.1.0", "--since", "1h", "--logs", "s3://\(bucket.name)/served"], in: dir,
            environment: environment)
        #expect(monitor.status == 0 && monitor.stdout.contains("900 rows in 6 requests"), "\(monitor.stdout)")
    }

    @Test func aWindowLikeTheTrainingDataIsHealthyAndTriplingFaresFailsIt() async throws {
        let repo = try TrainCLITests().gateableProject()
        let dir = repo.directory.url
        func run(_ arguments: [String]) throws -> MLOpsProcess.Result { try MLOpsProcess.run(arguments, in: dir) }
        let release = try run(["release"])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(try run(["promote", "taxi@0.1.0", "--to", "staging"]).status == 0)
        #expect(try run(["promote", "taxi@0.1.0", "--to", "production"]).status == 0)

        // Every 20th row of the training data, in 15 requests of 50 rows; and the same rows with
        // their fares tripled.
        let csv = try String(contentsOf: dir.appendingPathComponent("data/data.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map(String.init)
        let header = lines.removeFirst()
        let sample = stride(from: 0, to: lines.count, by: 20).map { lines[$0] }.prefix(750)
        func batches(_ prefix: String, _ rows: [String]) throws -> [(String, URL)] {
            try stride(from: 0, to: rows.count, by: 50).map { start in
                let id = "\(prefix)-\(start / 50)"
                let file = try repo.write(
                    "batches/\(id).csv",
                    ([header] + rows[start..<min(start + 50, rows.count)]).joined(separator: "\n") + "\n")
                return (id, file)
            }
        }
        let tripled = sample.map { line -> String in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[1] = String(format: "%.2f", (Double(fields[1]) ?? 0) * 3)
            return fields.joined(separator: ",")
        }
        let logs = dir.appendingPathComponent("logs")
        let start = Date()
        try await serveLogged("taxi@production", repo, logs: logs.path, requests: try batches("a", Array(sample)))
        let middle = Date()
        try await Task.sleep(for: .milliseconds(20))
        try await serveLogged("taxi@production", repo, logs: logs.path, requests: try batches("b", tripled))
        let end = Date()

        // Logs of another model and a line that is not a log line are left out and counted.
        let other =
            #"{"time":"\#(Self.stamp(start + 0.001))","request_id":"x","model":"taxi","version":"9.9.9","identity":"sha256:other","rows":1,"features":{"fare":[1.0]},"predictions":{"probability":[0.5]}}"#
        let fileStamp =
            Self.stamp(start).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .prefix(15) + "Z"
        _ = try repo.write("logs/predictions-\(fileStamp)-other-1-0.jsonl", other + "\n{\"time\": 12\n")

        // Labels for the first window: the tips of each logged row (the label is derived from
        // them), with a row of an unknown request, a duplicate and a malformed line.
        var labels = ["request_id,row,tips"]
        for (index, line) in sample.enumerated() {
            labels.append(
                "a-\(index / 50),\(index % 50),\(line.split(separator: ",", omittingEmptySubsequences: false)[17])")
        }
        labels += ["nobody,0,1.0", "a-0,0,2.5", "a-0,1,3.0,extra"]
        let labelFile = try repo.write("labels.csv", labels.joined(separator: "\n") + "\n")

        let healthy = try run([
            "monitor", "--from", Self.stamp(start), "--to", Self.stamp(middle), "--logs", logs.path, "--labels",
            labelFile.path,
        ])
        #expect(healthy.status == 0, "\(healthy.stdout)\n\(healthy.stderr)")
        #expect(healthy.stdout.contains("750 rows in 15 requests"), "\(healthy.stdout)")
        #expect(healthy.stdout.contains("healthy  reports: "), "\(healthy.stdout)")
        let reports = dir.appendingPathComponent(".mlops/reports")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: reports.appendingPathComponent("monitor.json")))
                as? [String: Any])
        #expect(json["schema"] as? String == "mlops.monitor/v1" && json["healthy"] as? Bool == true)
        let logSummary = try #require(json["logs"] as? [String: Any])
        #expect(logSummary["malformed"] as? Int == 1, "\(logSummary)")
        #expect((logSummary["other_models"] as? [String: Int])?["sha256:other (9.9.9)"] == 1, "\(logSummary)")
        let labelSummary = try #require(json["labels"] as? [String: Any])
        #expect(labelSummary["joined"] as? Int == 750, "\(labelSummary)")
        #expect(labelSummary["unmatched"] as? Int == 1 && labelSummary["duplicates"] as? Int == 1)
        #expect(labelSummary["malformed"] as? Int == 1, "\(labelSummary)")
        let checks = try #require(json["checks"] as? [[String: Any]])
        func check(_ name: String) -> [String: Any]? { checks.first { $0["name"] as? String == name } }
        #expect(check("skew fare JENSEN_SHANNON_DIVERGENCE <= 0.1")?["outcome"] as? String == "passed", "\(checks)")
        #expect(check("skew payment_type L_INFTY <= 0.1")?["outcome"] as? String == "passed")
        #expect(check("auc >= 0.75")?["outcome"] as? String == "passed", "\(checks)")
        #expect(checks.contains { ($0["name"] as? String)?.hasPrefix("predictions probability ") == true })
        let metrics = try #require(json["metrics"] as? [[String: Any]])
        #expect(metrics.contains { $0["metric"] as? String == "auc" && $0["gate"] is Double && $0["live"] is Double })
        #expect(
            try String(contentsOf: reports.appendingPathComponent("monitor.md"), encoding: .utf8).contains(
                "## ✅ mlops monitor: taxi 0.1.0 healthy"))
        let html = try String(contentsOf: reports.appendingPathComponent("monitor.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("■ training"))
        let junit = try String(contentsOf: reports.appendingPathComponent("monitor-junit.xml"), encoding: .utf8)
        #expect(junit.contains(#"failures="0""#))

        // The same files copied to S3 (what a job that ships the logs does): the same window.
        let bucket = try S3TestBucket()
        for name in try FileManager.default.contentsOfDirectory(atPath: logs.path) {
            _ = try bucket.client.upload(
                file: logs.appendingPathComponent(name), bucket: bucket.name, key: "served/\(name)")
        }
        // A file being written under the prefix, and one below it: neither is read.
        _ = try bucket.client.put(bucket: bucket.name, key: "served/.predictions-x.jsonl.partial", data: Data("{".utf8))
        _ = try bucket.client.put(bucket: bucket.name, key: "served/old/predictions-x.jsonl", data: Data("{".utf8))
        let fromS3 = try MLOpsProcess.run(
            [
                "monitor", "--from", Self.stamp(start), "--to", Self.stamp(middle), "--logs",
                "s3://\(bucket.name)/served",
                "--json",
            ], in: dir, environment: bucket.server.environment(home: bucket.home.url))
        #expect(fromS3.status == 0, "\(fromS3.stderr)")
        let s3Result = try #require(
            (try JSONSerialization.jsonObject(with: Data(fromS3.stdout.utf8)) as? [String: Any])?["result"]
                as? [String: Any])
        #expect((s3Result["window"] as? [String: Any])?["rows"] as? Int == 750)
        #expect((s3Result["logs"] as? [String: Any])?["malformed"] as? Int == 1, "\(s3Result["logs"] ?? "")")

        // The tripled fares: skew fails with the distance, and so does drift against the window
        // before (the healthy rows).
        let shifted = try run([
            "monitor", "--from", Self.stamp(middle), "--to", Self.stamp(end), "--logs", logs.path, "--json",
        ])
        #expect(shifted.status == 1, "\(shifted.stdout)\n\(shifted.stderr)")
        let result = try #require(
            (try JSONSerialization.jsonObject(with: Data(shifted.stdout.utf8)) as? [String: Any])?["result"]
                as? [String: Any])
        #expect(result["healthy"] as? Bool == false)
        let failed = (result["checks"] as? [[String: Any]] ?? []).filter { $0["outcome"] as? String == "failed" }
        let fare = try #require(failed.first { $0["name"] as? String == "skew fare JENSEN_SHANNON_DIVERGENCE <= 0.1" })
        #expect(
            (fare["detail"] as? String)?.contains("against the training data (its quantile buckets) is 0.") == true,
            "\(fare)")
        #expect(!failed.contains { ($0["name"] as? String)?.contains("payment_type") == true }, "\(failed)")
        let failures = try String(contentsOf: reports.appendingPathComponent("monitor-junit.xml"), encoding: .utf8)
        #expect(
            failures.contains(
                #"name="skew fare JENSEN_SHANNON_DIVERGENCE &lt;= 0.1">\#n      <failure message="Jensen-Shannon divergence against the training data"#
            ), "\(failures)")

        // `mlops infer` logs as the server does: each batch a request named FILE:LINE, the same
        // model identity, so the monitor reads bulk and served rows alike.
        let whole = try repo.write("sample.csv", ([header] + sample).joined(separator: "\n") + "\n")
        let bulkLogs = dir.appendingPathComponent("bulk-logs")
        let beforeBulk = Date()
        let bulk = try run([
            "infer", "taxi@production", "--input", whole.path, "-o", dir.appendingPathComponent("scored.csv").path,
            "--out-of-domain", "keep", "--log-predictions", bulkLogs.path,
        ])
        #expect(bulk.status == 0, "\(bulk.stderr)")
        let bulkLines = try ServeCLITests.predictionLog(bulkLogs)
        #expect(bulkLines.hidden.isEmpty && bulkLines.lines.count == 1, "\(bulkLines.lines.count)")
        let line = try #require(bulkLines.lines.first)
        #expect((line["request_id"] as? String)?.hasPrefix("sample.csv:2@") == true && line["rows"] as? Int == 750)
        #expect(line["identity"] as? String == json["identity"] as? String)
        let fromBulk = try run([
            "monitor", "--from", Self.stamp(beforeBulk), "--to", Self.stamp(Date() + 1), "--logs", bulkLogs.path,
        ])
        #expect(fromBulk.status == 0 && fromBulk.stdout.contains("750 rows in 1 requests"), "\(fromBulk.stdout)")
        // A run that fails (an unlisted company, refused) writes no output and leaves no log.
        let failedLogs = dir.appendingPathComponent("failed-logs")
        let refusedBulk = try run([
            "infer", "taxi@production", "--input", whole.path, "-o", dir.appendingPathComponent("none.csv").path,
            "--out-of-domain", "reject", "--log-predictions", failedLogs.path,
        ])
        #expect(refusedBulk.status == 65, "\(refusedBulk.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: failedLogs.path)) ?? []).isEmpty)

        // Bad input: each a clear message and its exit status.
        let since = try run(["monitor", "--since", "soon"])
        #expect(since.status == 64 && since.stderr.contains("--since 'soon' is not a duration"), "\(since.stderr)")
        let badFrom = try run(["monitor", "--from", "yesterday"])
        #expect(
            badFrom.status == 64 && badFrom.stderr.contains("--from 'yesterday' is not a time"), "\(badFrom.stderr)")
        let backwards = try run(["monitor", "--from", "2026-12-02", "--to", "2026-12-01", "--logs", logs.path])
        #expect(backwards.status == 64 && backwards.stderr.contains("start must come before its end"))
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml + "monitor:\n  window: soon\n  min_rows: 0\n")
        let badConfig = try run(["monitor", "--logs", logs.path])
        #expect(badConfig.status == 78 && badConfig.stderr.contains("monitor.window 'soon' is not a duration"))
        #expect(badConfig.stderr.contains("monitor.min_rows"), "\(badConfig.stderr)")
        _ = try repo.write("mlops.yaml", yaml)
        let noLogs = try run(["monitor", "--logs", dir.appendingPathComponent("nowhere").path])
        #expect(noLogs.status == 66 && noLogs.stderr.contains("nowhere"), "\(noLogs.stderr)")
        let badLabels = try repo.write("bad-labels.csv", "id,tips\n1,2\n")
        let refused = try run([
            "monitor", "--from", Self.stamp(start), "--to", Self.stamp(middle), "--logs", logs.path, "--labels",
            badLabels.path,
        ])
        #expect(refused.status == 65 && refused.stderr.contains("no 'request_id' column"), "\(refused.stderr)")
        // A window with too few rows measures nothing and is not a failure.
        let quiet = try run(["monitor", "--from", "2020-01-01", "--to", "2020-01-02", "--logs", logs.path])
        #expect(quiet.status == 0 && quiet.stdout.contains("fewer than monitor.min_rows"), "\(quiet.stdout)")
    }
}
