import Foundation
import Gates
import MLOpsTestSupport
import Pipeline
import Testing

/// InfraValidator against the real `mlops serve`, and against servers that misbehave; the
/// server process never outlives the component.
@Suite struct InfraValidatorTests {
    typealias Project = EvaluatorTests.Project

    /// A program that records its PID in `pidFile`, then runs `body` (a shell line).
    func script(_ project: Project, _ name: String, _ body: String) throws -> (program: URL, pidFile: URL) {
        let pidFile = project.dir.appending("\(name).pid")
        let program = try project.dir.write(name, "#!/bin/sh\necho $$ > '\(pidFile.path)'\n\(body)\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        return (program, pidFile)
    }

    /// Whether the process whose PID `file` holds is gone (or never started).
    func gone(_ file: URL) throws -> Bool {
        guard let text = try? String(contentsOf: file, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else { return true }
        return kill(pid, 0) != 0
    }

    func infra(_ project: Project, _ config: MLOpsConfig, executable: URL) throws -> (RunReport, InfraReport) {
        let root = project.dir.url
        let components =
            try config.dataComponents(root: root)
            + [
                try InfraValidatorComponent(
                    section: config.infra, policy: PolicyAction(config.gates, "infra"),
                    outOfDomain: config.serving.outOfDomain, executable: executable)
            ]
        let runner = PipelineRunner(
            root: root, store: project.store, components: components, commit: nil,
            fingerprint: { path in
                FileManager.default.contents(atPath: root.appendingPathComponent(path).path).map {
                    "content:" + String(decoding: $0, as: UTF8.self)
                }
            })
        let report = try runner.run(pipeline: "taxi", properties: [:], options: .init())
        let file = try project.output(report, .infraValidator, "blessing").appendingPathComponent(InfraReport.fileName)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return (report, try decoder.decode(InfraReport.self, from: Data(contentsOf: file)))
    }

    func config(_ project: Project, _ infra: String) throws -> MLOpsConfig {
        // Ten rounds are enough to serve; the infra section as given.
        try project.config { text in
            text.replacingOccurrences(
                of: "infra:\n  mode: load_and_query\n  num_examples: 100\n  max_p99_ms: 50",
                with: "infra:\n" + infra
            ).replacingOccurrences(of: "rounds: 100", with: "rounds: 10")
        }
    }

    @Test func theRealServerAnswersAsTheModelDoesOfflineAndIsStoppedAfter() throws {
        let project = try Project()
        let (program, pidFile) = try script(project, "serve.sh", "exec '\(MLOpsProcess.binary.path)' \"$@\"")
        let config = try config(project, "  mode: load_and_query\n  num_examples: 20\n  max_p99_ms: 1000")
        #expect(config.infra.numExamples == 20)
        let (report, infra) = try infra(project, config, executable: program)
        let stage = try #require(report.stage(.infraValidator))
        #expect(stage.outcome == .ran && stage.summary.hasPrefix("blessed"), "\(stage.summary)")
        #expect(infra.blessed && infra.requests == 20 && infra.failedTries.isEmpty, "\(infra.checks)")
        #expect(
            infra.checks.map(\.name) == [
                "ready within 30 s", "20 requests answered 200", "outputs have one finite value per output",
                "served predictions equal offline within 1e-06", "p99 latency <= 1000 ms",
            ])
        #expect(infra.largestDifference == 0)  // the same float32, served and offline
        #expect(try gone(pidFile))
    }

    /// Issue 22 item 3: the server runs under the production policy (`serving.out_of_domain`,
    /// default reject), so rows production refuses are refused in the gate too and reported as
    /// such (the server ran under `keep` before: every row answered 200).
    @Test func theServerRunsUnderTheProductionPolicyAndRefusedRowsAreReportedAsSuch() throws {
        let project = try Project()
        // A schema that no longer lists cash payments: production answers 400 for them.
        let schemaURL = project.dir.appending("schema/schema.pbtxt")
        let schema = try String(contentsOf: schemaURL, encoding: .utf8)
        try schema.replacingOccurrences(of: "  value: \"Cash\"\n", with: "").write(
            to: schemaURL, atomically: true, encoding: .utf8)
        let (program, pidFile) = try script(project, "serve.sh", "exec '\(MLOpsProcess.binary.path)' \"$@\"")
        var config = try config(project, "  mode: load_and_query\n  num_examples: 20\n  max_p99_ms: 1000")
        #expect(config.serving.outOfDomain == .reject)
        let (_, infra) = try infra(project, config, executable: program)
        let answered = try #require(
            infra.checks.first { $0.name == "20 requests answered as serving.out_of_domain: reject serves them" },
            "\(infra.checks.map(\.name))")
        #expect(answered.outcome == .passed, "\(answered.detail)")
        #expect(
            answered.detail.contains("outside the schema's domain refused with 400 as serving.out_of_domain: reject"))
        #expect(answered.detail.contains("'payment_type': 'Cash' is not among the schema's 6 values"))
        let skew = try #require(infra.checks.first { $0.name.hasPrefix("served predictions equal offline") })
        #expect(skew.outcome == .passed && !skew.detail.hasSuffix("over 20 rows (training/serving skew check)"))
        #expect(infra.blessed && infra.largestDifference == 0)
        #expect(try gone(pidFile))
        // Under `keep` the same rows are answered, and every answer is compared.
        config.serving.outOfDomain = .keep
        let (_, kept) = try self.infra(project, config, executable: program)
        #expect(kept.checks.map(\.name).contains("20 requests answered 200"), "\(kept.checks)")
        #expect(kept.checks.contains { $0.detail.hasSuffix("over 20 rows (training/serving skew check)") })
    }

    @Test func aServerThatPredictsDifferentlyFailsTheSkewCheck() throws {
        let project = try Project()
        // Another model (one stump) behind the server the candidate is validated against.
        let stump = try project.run(
            try project.config {
                $0.replacingOccurrences(of: "rounds: 100", with: "rounds: 1")
                    .replacingOccurrences(of: "max_depth: 6", with: "max_depth: 1")
            }, baseline: nil)
        let other = try project.output(stump, .trainer, "model")
        let (program, pidFile) = try script(
            project, "skewed.sh", "shift 2\nexec '\(MLOpsProcess.binary.path)' serve '\(other.path)' \"$@\"")
        let (report, infra) = try infra(
            project, try config(project, "  mode: load_and_query\n  num_examples: 10\n  max_p99_ms: 1000"),
            executable: program)
        #expect(!infra.blessed && (infra.largestDifference ?? 0) > 1e-6)
        let skew = try #require(infra.checks.first { $0.name.hasPrefix("served predictions equal offline") })
        #expect(skew.outcome == .failed && skew.detail.contains("training/serving skew"))
        #expect(report.stage(.infraValidator)?.summary.hasPrefix("not blessed") == true)
        #expect(try gone(pidFile))
        // gates.policy.infra: warn blesses it, with the skew as a warning that says why.
        let warned = try config(project, "  mode: load_and_query\n  num_examples: 10\n  max_p99_ms: 1000")
        var policy = warned
        let index = try #require(policy.gates.policy.pairs.firstIndex { $0.name == "infra" })
        policy.gates.policy.pairs[index].value = .warn
        let (_, lenient) = try self.infra(project, policy, executable: program)
        let warning = try #require(lenient.checks.first { $0.name.hasPrefix("served predictions equal offline") })
        #expect(
            lenient.blessed && warning.outcome == .warned && warning.detail.hasSuffix("(gates.policy.infra: warn)"),
            "\(lenient.checks)")
    }

    @Test func aServerThatNeverGetsReadyOrExitsIsRetriedThenFailsAndIsStopped() throws {
        let project = try Project()
        let (hanging, hangingPid) = try script(project, "hang.sh", "exec sleep 60")
        let config = try config(project, "  mode: load_only\n  max_loading_seconds: 0.5\n  num_tries: 2")
        let (_, slow) = try infra(project, config, executable: hanging)
        #expect(
            !slow.blessed && slow.failedTries == ["try 1: no address within 0.5 s", "try 2: no address within 0.5 s"])
        #expect(slow.checks.map(\.name) == ["ready within 0.5 s"])
        #expect(try gone(hangingPid))
        let (failing, _) = try script(project, "fail.sh", "echo 'error: it broke' >&2\nexit 3")
        let (_, exited) = try infra(
            project, try self.config(project, "  mode: load_only\n  max_loading_seconds: 5\n  num_tries: 1"),
            executable: failing)
        #expect(exited.failedTries.count == 1)
        #expect(exited.failedTries[0].hasPrefix("try 1: the server exited with status 3: error: it broke"))
    }

    @Test func cancellingTheRunStopsTheServer() throws {
        let project = try Project()
        let (hanging, pidFile) = try script(project, "hang.sh", "exec sleep 60")
        let config = try config(project, "  mode: load_only\n  max_loading_seconds: 30\n  num_tries: 1")
        let root = project.dir.url
        let runner = PipelineRunner(
            root: root, store: project.store,
            components: try config.dataComponents(root: root)
                + [try InfraValidatorComponent(section: config.infra, executable: hanging)],
            commit: nil,
            fingerprint: { path in
                FileManager.default.contents(atPath: root.appendingPathComponent(path).path).map {
                    "content:" + String(decoding: $0, as: UTF8.self)
                }
            })
        // Cancel once the server has started (its PID file exists).
        let watcher = Thread {
            for _ in 0..<3000 where !FileManager.default.fileExists(atPath: pidFile.path) { usleep(10_000) }
            runner.cancel()
        }
        watcher.start()
        let started = Date()
        #expect(throws: CancellationError.self) { try runner.run(pipeline: "taxi", properties: [:], options: .init()) }
        #expect(Date().timeIntervalSince(started) < 25)  // not the 30 s loading budget
        #expect(FileManager.default.fileExists(atPath: pidFile.path))
        #expect(try gone(pidFile))
    }
}
