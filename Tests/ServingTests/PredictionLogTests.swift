import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@testable import Serving

#if canImport(Glibc)
    import Glibc
#endif

/// The prediction log on its own: whole files only, rotation, what a full queue drops, and what
/// a killed server left half written.
@Suite struct PredictionLogTests {
    let model = LoggedModel(name: "taxi", version: "0.1.0", identity: "sha256:abc")

    func table(_ rows: Int) -> DataTable {
        DataTable(
            file: "request",
            columns: [
                Column(name: "fare", numbers: (0..<rows).map { $0 == 1 ? .nan : Double($0) + 0.5 }),
                Column(name: "company", texts: (0..<rows).map { $0 == 2 ? nil : "Cab \"\($0)\"" }),
                Column(name: "secret", integers: (0..<rows).map { Int64($0) }),
            ], rowCount: rows)
    }

    func predictions(_ rows: Int) -> Predictions {
        Predictions(
            rows: rows,
            columns: [
                .init(name: "probability", numbers: (0..<rows).map { Double($0) / 100 }, texts: nil),
                .init(name: "predicted_class", numbers: (0..<rows).map { _ in 1 }, texts: nil),
            ])
    }

    /// Every line of every visible file, parsed; hidden files listed apart.
    func read(_ folder: URL) throws -> (lines: [[String: Any]], files: [String], hidden: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        var lines: [[String: Any]] = []
        for name in names where !name.hasPrefix(".") {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(text.hasSuffix("\n"), "\(name) does not end with a whole line")
            for line in text.split(separator: "\n") {
                lines.append(try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
            }
        }
        return (lines, names.filter { !$0.hasPrefix(".") }, names.filter { $0.hasPrefix(".") })
    }

    /// `mlops infer`: a batch job waits for room instead of dropping, and one that fails throws
    /// its open file away.
    @Test func aBatchJobWaitsForRoomAndAFailedOneLeavesNothing() throws {
        let dir = try TemporaryDirectory()
        var settings = PredictionLogSettings(folder: dir.appending("logs"))
        settings.queueCapacity = 2
        let log = try PredictionLog(settings: settings, model: model)
        for index in 0..<50 {
            log.record(requestID: "b-\(index)", table: table(3), predictions: predictions(3), waitForRoom: true)
        }
        #expect(log.dropped == 0)
        log.close()
        #expect(try read(dir.appending("logs")).lines.count == 50)

        let failed = try PredictionLog(settings: PredictionLogSettings(folder: dir.appending("failed")), model: model)
        failed.record(requestID: "f-1", table: table(3), predictions: predictions(3), waitForRoom: true)
        Thread.sleep(forTimeInterval: 0.3)
        // Written to the hidden file by now; thrown away with it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appending("failed").path).count == 1)
        failed.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appending("failed").path).isEmpty)
    }

    /// Short decimals are written by hand; every value reads back as the same double.
    @Test func numbersReadBackExactly() throws {
        var random = SplitMix64(seed: 11)
        var values: [Double] = [12.45, 41.899, -87.633, 0.1, 0.000001, 1e-7, -0.5, 123456.789, 0.30000000000000004]
        for _ in 0..<2000 {
            values.append((random.unit() * 200 - 100) * 1000)
            values.append(Double(Int(random.unit() * 1e6)) / 100)
        }
        for value in values {
            var out: [UInt8] = []
            let handled = PredictionLog.appendDecimal(value, to: &out)
            let text = handled ? String(decoding: out, as: UTF8.self) : value.description
            #expect(Double(text) == value, "\(value) → \(text)")
        }
        var out: [UInt8] = []
        #expect(PredictionLog.appendDecimal(41.899, to: &out) && String(decoding: out, as: UTF8.self) == "41.899")
        out = []
        #expect(PredictionLog.appendDecimal(-0.05, to: &out) && String(decoding: out, as: UTF8.self) == "-0.05")
        out = []
        #expect(!PredictionLog.appendDecimal(0.30000000000000004, to: &out) && out.isEmpty)
    }

    @Test func rowsAreWrittenOneALineAndPublishedWholeOnClose() throws {
        let dir = try TemporaryDirectory()
        var settings = PredictionLogSettings(folder: dir.appending("logs"))
        settings.exclude = ["secret"]
        let log = try PredictionLog(settings: settings, model: model)
        log.record(requestID: "r-1", table: table(3), predictions: predictions(3))
        log.record(requestID: "r-2", table: table(2), predictions: predictions(2))
        // Until it is complete, the file is hidden.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try read(dir.appending("logs")).files.isEmpty)
        #expect(log.close() == nil)
        let (lines, files, hidden) = try read(dir.appending("logs"))
        #expect(
            files.count == 1 && hidden.isEmpty && files[0].hasPrefix("predictions-") && files[0].hasSuffix(".jsonl"))
        // A line a request, its columns as arrays.
        #expect(lines.map { $0["request_id"] as? String } == ["r-1", "r-2"])
        #expect(lines.map { $0["rows"] as? Int } == [3, 2])
        let first = lines[0]
        #expect(first["model"] as? String == "taxi" && first["version"] as? String == "0.1.0")
        #expect(first["identity"] as? String == "sha256:abc")
        #expect((first["time"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
        let features = try #require(first["features"] as? [String: [Any]])
        // Left out as asked; missing values are null.
        #expect(Set(features.keys) == ["fare", "company"])
        #expect(
            features["fare"]?[0] as? Double == 0.5 && features["fare"]?[1] is NSNull
                && features["fare"]?[2] as? Double == 2.5)
        #expect(features["company"]?[0] as? String == "Cab \"0\"" && features["company"]?[2] is NSNull)
        let predicted = try #require(first["predictions"] as? [String: [Any]])
        #expect(predicted["probability"]?.compactMap { $0 as? Double } == [0, 0.01, 0.02])
        #expect(predicted["predicted_class"]?.compactMap { $0 as? Int } == [1, 1, 1])
    }

    @Test func filesRotateBySizeAndAgeAndEachIsWhole() throws {
        let dir = try TemporaryDirectory()
        var settings = PredictionLogSettings(folder: dir.url)
        settings.maxFileBytes = 1000
        let log = try PredictionLog(settings: settings, model: model)
        // Eight batches of five requests (the writer takes what is queued every tenth of a
        // second), each batch more than a file's size: a file is published after each.
        for index in 0..<40 {
            log.record(requestID: "r-\(index)", table: table(4), predictions: predictions(4))
            if index % 5 == 4 { Thread.sleep(forTimeInterval: 0.15) }
        }
        log.close()
        let (lines, files, hidden) = try read(dir.url)
        #expect(lines.count == 40 && lines.allSatisfy { $0["rows"] as? Int == 4 } && hidden.isEmpty)
        #expect(lines.map { $0["request_id"] as? String } == (0..<40).map { "r-\($0)" })
        #expect(files.count >= 4, "\(files)")
        // By age: a file open longer than the limit is published without more traffic.
        let aged = try TemporaryDirectory()
        var young = PredictionLogSettings(folder: aged.url)
        young.maxFileSeconds = 0.5
        let quiet = try PredictionLog(settings: young, model: model)
        quiet.record(requestID: "only", table: table(1), predictions: predictions(1))
        var published: [String] = []
        for _ in 0..<40 where published.isEmpty {
            Thread.sleep(forTimeInterval: 0.1)
            published = try read(aged.url).files
        }
        #expect(published.count == 1)
        quiet.close()
    }

    @Test func aFullQueueDropsAndCountsWithoutWaiting() throws {
        final class Counts: PredictionLogCounters, @unchecked Sendable {
            let lock = NSLock()
            var logged = 0
            var dropped = 0
            func rowsLogged(_ rows: Int) { lock.withLock { logged += rows } }
            func rowsDropped(_ rows: Int) { lock.withLock { dropped += rows } }
            func filePublished() {}
        }
        let dir = try TemporaryDirectory()
        var settings = PredictionLogSettings(folder: dir.url)
        settings.queueCapacity = 0
        let counts = Counts()
        let log = try PredictionLog(settings: settings, model: model, counters: counts)
        let started = Date()
        for _ in 0..<1000 { log.record(requestID: "r", table: table(3), predictions: predictions(3)) }
        #expect(Date().timeIntervalSince(started) < 5)
        log.close()
        #expect(log.dropped == 3000 && counts.dropped == 3000 && counts.logged == 0)
        // Sampling 0 logs nothing and drops nothing.
        var none = PredictionLogSettings(folder: dir.appending("none"))
        none.sampling = 0
        let sampled = try PredictionLog(settings: none, model: model, counters: counts)
        sampled.record(requestID: "r", table: table(3), predictions: predictions(3))
        sampled.close()
        let written = try read(dir.appending("none")).lines
        #expect(sampled.dropped == 0 && written.isEmpty)
    }

    @Test func whatAKilledServerLeftIsPublishedCutAfterItsLastWholeLine() throws {
        let dir = try TemporaryDirectory()
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        // A process that is gone, one that is alive (another server), and this process's own
        // PID (a server that ran before it: a container restarted with the same host and PID).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let running = Process()
        running.executableURL = URL(fileURLWithPath: "/bin/sleep")
        running.arguments = ["60"]
        try running.run()
        defer {
            kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
        }
        let gone = ".predictions-20261207T010000Z-\(String(host))-\(finished.processIdentifier)-1.jsonl.partial"
        let alive = ".predictions-20261207T010000Z-\(String(host))-\(running.processIdentifier)-1.jsonl.partial"
        let empty = ".predictions-20261207T010000Z-\(String(host))-\(finished.processIdentifier)-2.jsonl.partial"
        let earlier = ".predictions-20261207T005900Z-\(String(host))-\(getpid())-1.jsonl.partial"
        _ = try dir.write(gone, "{\"row\":0}\n{\"row\":1}\n{\"row\":2,\"feat")
        _ = try dir.write(alive, "{\"row\":0}\n")
        _ = try dir.write(empty, "{\"row")
        _ = try dir.write(earlier, "{\"row\":7}\n")
        let log = try PredictionLog(settings: PredictionLogSettings(folder: dir.url), model: model)
        log.close()
        let (lines, files, hidden) = try read(dir.url)
        #expect(
            Set(files) == Set([gone, earlier].map { String($0.dropFirst().dropLast(".partial".count)) }), "\(files)")
        #expect(lines.map { $0["row"] as? Int } == [7, 0, 1])
        #expect(hidden == [alive])
    }

    @Test func aFolderThatCannotBeWrittenIsAnErrorNamingIt() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("taken", "a file, not a folder\n")
        let error = try #require(throws: FileError.self) {
            _ = try PredictionLog(
                settings: PredictionLogSettings(folder: file.appendingPathComponent("logs")), model: model)
        }
        #expect(error.message.contains("taken/logs") && error.exitStatus == .ioError)
    }
}
