import Foundation
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// What InfraValidator writes as `blessing/infra.json`.
public struct InfraReport: Sendable, Codable, Equatable {
    public static let fileName = "infra.json"
    public let mode: String
    public let blessed: Bool
    public let checks: [CheckResult]
    /// Seconds from starting the server to its first `ready` (the successful try).
    public let loadSeconds: Double?
    public let requests: Int
    public let p50Milliseconds: Double?
    public let p99Milliseconds: Double?
    /// The largest difference between a served prediction and the offline one.
    public let largestDifference: Double?
    /// Why each failed try failed.
    public let failedTries: [String]
}

/// InfraValidator (TFX's): starts the real `mlops serve` process with the candidate model on
/// a free loopback port, waits for it to be ready within `infra.max_loading_seconds`, and in
/// `load_and_query` mode sends `infra.num_examples` eval rows one request each over the Open
/// Inference Protocol v2 endpoint. Each answer must be 200 with one finite value per output
/// and equal, within `infra.tolerance`, the prediction the same model folder gives offline:
/// the training/serving skew check. The p99 latency must be within `infra.max_p99_ms`. A start
/// that fails is tried again up to `infra.num_tries` times. The server is always stopped
/// (SIGTERM, then SIGKILL after 10 s), whatever happens.
public struct InfraValidatorComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        /// `infra` of mlops.yaml as key-sorted JSON.
        public let config: String
        /// The server's version: a new mlops may serve differently.
        public let server: String
        /// `gates.policy.infra`: what a failed check does.
        public let policy: String
        /// `serving.out_of_domain`: the policy the server runs under, as in production.
        public let outOfDomain: String
    }

    public let id = Component.infraValidator
    public let version = "3"
    public let parameters: Parameters
    public let inputs = Component.infraValidator.bindings()
    public let outputs = Component.infraValidator.outputs
    let section: InfraSection
    /// The program run as `EXECUTABLE serve MODEL --port 0 …`: the running mlops.
    let executable: URL

    let policy: PolicyAction
    let outOfDomain: OutOfDomain

    public init(
        section: InfraSection, policy: PolicyAction = .fail, outOfDomain: OutOfDomain = .reject, executable: URL
    ) throws {
        self.section = section
        self.policy = policy
        self.outOfDomain = outOfDomain
        self.executable = executable
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        parameters = Parameters(
            config: String(decoding: try encoder.encode(section), as: UTF8.self), server: MLOpsVersion.current,
            policy: policy.rawValue, outOfDomain: outOfDomain.rawValue)
    }

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        let folder = try context.input("model").url
        let splits = try exampleSplits(try context.input("examples"))
        guard let eval = splits.first(where: { $0.name == "eval" }) else {
            throw InternalError("the examples have no eval split to query the server with")
        }
        let all = try ExamplesFile.read(eval.url)
        let count = min(section.numExamples, all.rowCount)
        let rows = all.removingRows(Set(count..<all.rowCount))
        let model = try ServableModel(folder: folder, threads: 1)
        // As production serves them: under `reject` a row with a value outside the schema's
        // domain gets 400; under `missing` such values are predicted as missing.
        let checked = model.domain.apply(rows, policy: outOfDomain)
        let refused = Dictionary(checked.refusals.map { ($0.row, $0) }, uniquingKeysWith: { first, _ in first })
        let offline = Self.values(try model.predict(checked.table))
        let queried = section.mode == .loadAndQuery
        var failedTries: [String] = []
        var probe: Probe?
        for attempt in 1...section.numTries {
            try context.checkCancellation()
            do {
                probe = try Probe.run(
                    executable: executable, folder: folder, model: model, rows: queried ? rows : nil,
                    outOfDomain: outOfDomain, loadingSeconds: section.maxLoadingSeconds, context: context)
                break
            } catch let failure as StartFailure {
                failedTries.append("try \(attempt): \(failure.reason)")
                context.log("InfraValidator: try \(attempt) of \(section.numTries) failed: \(failure.reason)")
            }
        }
        var checks: [CheckResult] = []
        func check(_ name: String, _ passed: Bool, _ detail: String) {
            checks.append(
                CheckResult(
                    className: "mlops.gate.infra", name: name, outcome: passed ? .passed : .failed, detail: detail))
        }
        check(
            "ready within \(ThresholdChecks.format(section.maxLoadingSeconds)) s", probe != nil,
            probe.map { String(format: "ready after %.2f s", $0.loadSeconds) }
                ?? "not ready in \(section.numTries) tries: " + failedTries.joined(separator: "; "))
        var difference: Double?
        var p50: Double?
        var p99: Double?
        if let probe, queried {
            let expected = (0..<count).map { refused[$0] == nil ? 200 : 400 }
            let answered = probe.answers.filter { $0.status == 200 }.count
            let mismatch = zip(probe.answers, expected).enumerated().first { $1.0.status != $1.1 }
            let policyName = "serving.out_of_domain: \(outOfDomain.rawValue)"
            var detail = "\(answered) of \(count) answered 200"
            if let first = checked.refusals.first {
                detail +=
                    "; \(refused.count) outside the schema's domain refused with 400 as \(policyName) refuses them"
                    + " (first: row \(first.row), '\(first.column)': \(first.detail))"
            }
            if let (row, (answer, status)) = mismatch {
                detail += "; row \(row) answered \(answer.status) where \(status) was due: \(answer.body.prefix(200))"
            }
            check(
                refused.isEmpty
                    ? "\(count) requests answered 200" : "\(count) requests answered as \(policyName) serves them",
                mismatch == nil, detail)
            // Rows production refuses have no prediction to compare.
            let kept = (0..<count).filter { refused[$0] == nil }
            let served = kept.map { probe.answers[$0].values }
            let expectedValues = kept.map { offline[$0] }
            // A model production would refuse every row for has served nothing: not blessed.
            let wellFormed =
                !kept.isEmpty
                && zip(served, expectedValues).allSatisfy { answer, expected in
                    answer.map { $0.count == expected.count && $0.allSatisfy(\.isFinite) } ?? false
                }
            check(
                "outputs have one finite value per output", wellFormed,
                kept.isEmpty
                    ? "no row was served: \(policyName) refuses all \(count)"
                    : wellFormed
                        ? "\(offline.first?.count ?? 0) value(s) per row"
                        : "an answer lacked an output, had the wrong shape or a value that is not finite")
            var largest = 0.0
            for (answer, expected) in zip(served, expectedValues) {
                guard let answer, answer.count == expected.count else { continue }
                // Served values are float32 written in their shortest form: read them back as such.
                for (a, b) in zip(answer, expected) { largest = max(largest, abs(Double(Float(a)) - b)) }
            }
            difference = largest
            check(
                "served predictions equal offline within \(section.tolerance)",
                wellFormed && largest <= section.tolerance,
                "largest difference \(largest) over \(kept.count) rows (training/serving skew check)")
            // Latency of the predictions served (a refusal's quick 400 would flatter it).
            let latencies = kept.map { probe.answers[$0].milliseconds }.sorted()
            p50 = Evaluation.percentile(latencies, 0.5)
            p99 = Evaluation.percentile(latencies, 0.99)
            check(
                "p99 latency <= \(ThresholdChecks.format(section.maxP99Milliseconds)) ms",
                (p99 ?? .infinity) <= section.maxP99Milliseconds,
                String(format: "p50 %.2f ms, p99 %.2f ms over %d requests served", p50 ?? .nan, p99 ?? .nan, kept.count)
            )
        }
        checks = checks.map { $0.under(policy, "infra") }
        let blessed = !checks.contains { $0.outcome == .failed }
        let report = InfraReport(
            mode: section.mode.rawValue, blessed: blessed, checks: checks, loadSeconds: probe?.loadSeconds,
            requests: queried ? count : 0, p50Milliseconds: p50, p99Milliseconds: p99, largestDifference: difference,
            failedTries: failedTries)
        let encoder = artifactEncoder
        try FileManager.default.createDirectory(at: context.output("blessing"), withIntermediateDirectories: true)
        try AtomicFile.write(
            try encoder.encode(report), to: context.output("blessing").appendingPathComponent(InfraReport.fileName))
        let failed = checks.filter { $0.outcome == .failed }
        let figures = p99.map { String(format: ", p99 %.2f ms", $0) } ?? ""
        return ExecutorOutput(
            properties: ["blessing": ["blessed": blessed ? "1" : "0"]],
            summary: (blessed ? "blessed" : "not blessed: " + failed.map(\.name).joined(separator: ", "))
                + (probe.map { String(format: " (ready in %.2f s", $0.loadSeconds) + figures + ")" } ?? ""),
            record: ExecutionRecord(
                metrics: [
                    ("infra/p50_ms", p50), ("infra/p99_ms", p99), ("infra/load_seconds", probe?.loadSeconds),
                    ("infra/largest_difference", difference),
                ].compactMap { key, value in value.map { TrackedMetric(key: key, value: $0) } }))
    }

    /// Each row's prediction values, as the server's outputs list them.
    static func values(_ predictions: Predictions) -> [[Double]] {
        let numeric = predictions.columns.filter { $0.name != "predicted_class" && $0.numbers != nil }
        return (0..<predictions.rows).map { row in numeric.map { $0.numbers?[row] ?? .nan } }
    }
}

/// A server that did not become ready: it exited, printed no address, or was too slow.
struct StartFailure: Error {
    let reason: String
}

/// One start of `mlops serve` and, optionally, its queries; the process is stopped before
/// `run` returns or throws.
struct Probe {
    struct Answer {
        let status: Int
        let body: String
        let values: [Double]?
        let milliseconds: Double
    }

    let loadSeconds: Double
    let answers: [Answer]

    static func run(
        executable: URL, folder: URL, model: ServableModel, rows: DataTable?, outOfDomain: OutOfDomain,
        loadingSeconds: Double, context: ExecutionContext
    ) throws -> Probe {
        let process = Process()
        process.executableURL = executable
        // The production policy (`serving.out_of_domain`): the server answers as it will there.
        process.arguments = [
            "serve", folder.path, "--port", "0", "--name", "candidate", "--out-of-domain", outOfDomain.rawValue,
            "--quiet",
            // The server stops by itself if this process dies without stopping it (SIGKILL).
            "--watch-parent", String(getpid()),
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let lines = OutputBuffer()
        output.fileHandleForReading.readabilityHandler = { handle in lines.append(handle.availableData) }
        errors.fileHandleForReading.readabilityHandler = { handle in lines.appendError(handle.availableData) }
        let started = ContinuousClock.now
        do {
            try process.run()
        } catch {
            throw StartFailure(reason: "cannot start \(executable.path): \((error as NSError).localizedDescription)")
        }
        defer {
            stop(process)
            output.fileHandleForReading.readabilityHandler = nil
            errors.fileHandleForReading.readabilityHandler = nil
        }
        let deadline = started.advanced(by: .milliseconds(Int(loadingSeconds * 1000)))
        /// Polls `done` until it holds; the server exiting, the deadline (`late` says what was
        /// missing) and a cancelled run end the wait.
        func wait(_ late: String, _ done: () -> Bool) throws {
            while !done() {
                guard process.isRunning else {
                    // Its last words may still be in the pipe: read up to its end first.
                    lines.waitForErrorEnd(seconds: 1)
                    throw StartFailure(
                        reason: "the server exited with status \(process.terminationStatus): \(lines.lastError)")
                }
                guard ContinuousClock.now < deadline else {
                    throw StartFailure(reason: "\(late) within \(loadingSeconds) s")
                }
                try context.checkCancellation()
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        // The address, then readiness, both before the loading deadline.
        var base: URL?
        try wait("no address") {
            base = lines.text.firstMatch(of: /listening on (http:\/\/[0-9.]+:[0-9]+)/).flatMap {
                URL(string: String($0.1))
            }
            return base != nil
        }
        guard let base else { throw StartFailure(reason: "no address printed") }
        try wait("not ready") {
            (try? HTTP.send(base.appendingPathComponent("v2/health/ready"), body: nil))?.status == 200
        }
        let loadSeconds = started.duration(to: .now).inSeconds
        guard let rows else { return Probe(loadSeconds: loadSeconds, answers: []) }
        let url = base.appendingPathComponent("v2/models/candidate/infer")
        var answers: [Answer] = []
        for row in 0..<rows.rowCount {
            try context.checkCancellation()
            let body = Data(request(rows, row: row, inputs: model.requiredInputs).utf8)
            let sent = ContinuousClock.now
            let answer = try? HTTP.send(url, body: body)
            let milliseconds = sent.duration(to: .now).inSeconds * 1000
            answers.append(
                Answer(
                    status: answer?.status ?? 0, body: answer.map { String(decoding: $0.body, as: UTF8.self) } ?? "",
                    values: answer.flatMap { outputs($0.body) }, milliseconds: milliseconds))
        }
        return Probe(loadSeconds: loadSeconds, answers: answers)
    }

    /// An OIP v2 request for one row: one tensor per raw input the model reads.
    static func request(_ table: DataTable, row: Int, inputs: [FittedTransform.Input]) -> String {
        let tensors = inputs.compactMap { input -> String? in
            guard let column = table.column(input.name) else { return nil }
            let value: String
            let datatype: String
            switch column.values {
            case .int(let values):
                value = column.present[row] ? String(values[row]) : "null"
                datatype = "INT64"
            case .float(let values):
                value = column.present[row] && values[row].isFinite ? "\(values[row])" : "null"
                datatype = "FP64"
            case .bytes(let dictionary, let codes):
                value = codes[row] < 0 ? "null" : StringLiteral.json(dictionary[Int(codes[row])])
                datatype = "BYTES"
            }
            return
                #"{"name":\#(StringLiteral.json(input.name)),"datatype":"\#(datatype)","shape":[1],"data":[\#(value)]}"#
        }
        return #"{"inputs":[\#(tensors.joined(separator: ","))]}"#
    }

    /// The numeric outputs of an answer, in order (`predicted_class` left out), or nil.
    static func outputs(_ body: Data) -> [Double]? {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let outputs = json["outputs"] as? [[String: Any]]
        else { return nil }
        var values: [Double] = []
        for output in outputs where output["name"] as? String != "predicted_class" {
            guard let data = output["data"] as? [Any] else { return nil }
            for item in data {
                guard let number = item as? NSNumber else { return nil }
                values.append(number.doubleValue)
            }
        }
        return values
    }

    /// SIGTERM, then SIGKILL when it has not exited within 10 s; waits for the exit.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The server's output as it arrives, from the pipes' reading threads.
final class OutputBuffer: @unchecked Sendable {
    // Touched only under `lock`.
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    func append(_ data: Data) {
        lock.lock()
        out.append(data)
        lock.unlock()
    }

    private var errorEnded = false

    /// A chunk of stderr; an empty one is its end (the readability handler's end of file).
    func appendError(_ data: Data) {
        lock.lock()
        if data.isEmpty { errorEnded = true }
        err.append(data.prefix(max(0, 65_536 - err.count)))
        lock.unlock()
    }

    /// Waits until stderr has ended (the process closed it), at most `seconds`.
    func waitForErrorEnd(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            lock.lock()
            let ended = errorEnded
            lock.unlock()
            if ended { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: out, as: UTF8.self)
    }

    /// The last line the server wrote on stderr.
    var lastError: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: err, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "(no message)"
    }
}
