import ArchiveKit
import Foundation
import Gates
import MLOpsTestSupport
import Release
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `mlops release`, `promote`, `rollback`, `releases`, `verify`, `push` and `serve NAME@CHANNEL`
/// on the taxi template, with the registry in the project's `.mlops/registry`.
@Suite struct ReleaseCLITests {
    /// A taxi project whose model passed `mlops gate`.
    func gated() throws -> TestRepository {
        let repo = try TrainCLITests().gateableProject()
        let gate = try MLOpsProcess.run(["gate"], in: repo.directory.url)
        #expect(gate.status == 0, "\(gate.stdout)\n\(gate.stderr)")
        return repo
    }

    func registry(_ repo: TestRepository) -> URL { repo.directory.url.appendingPathComponent(".mlops/registry") }

    func run(_ arguments: [String], _ repo: TestRepository, environment: [String: String] = [:]) throws
        -> MLOpsProcess.Result
    {
        try MLOpsProcess.run(arguments, in: repo.directory.url, environment: environment)
    }

    @Test func releasePromoteServeVerifyHistoryDiffAndRollBack() async throws {
        let repo = try gated()
        let first = try run(["release", "--reason", "first model"], repo)
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("mlops release  taxi @ "))
        #expect(first.stdout.contains("released taxi@0.1.0  sha256:"), "\(first.stdout)")
        let bundle = registry(repo).appendingPathComponent("taxi/0.1.0/taxi-0.1.0.tar.zst")
        #expect(FileManager.default.fileExists(atPath: bundle.path))
        // The manifest: files, the commit, data with its fingerprint, both gates' checks.
        let manifest =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: registry(repo).appendingPathComponent("taxi/0.1.0/manifest.json")))
            as? [String: Any]
        #expect(manifest?["schema"] as? String == "mlops.manifest/v1" && manifest?["version"] as? String == "0.1.0")
        let files = (manifest?["files"] as? [[String: Any]])?.compactMap { $0["path"] as? String } ?? []
        for path in [
            "model/model.json", "model/transform.json", "model/schema.pbtxt", "evaluation/evaluation.json",
            "reports/gate.md", "reports/junit.xml", "reports/report.html", "data/statistics.json",
        ] {
            #expect(files.contains(path), "\(files)")
        }
        let git = manifest?["git"] as? [String: Any]
        #expect((git?["commit"] as? String)?.count == 40 && git?["dirty"] as? Bool == false)
        let sources = (manifest?["data"] as? [String: Any])?["sources"] as? [[String: Any]]
        #expect(sources?.first?["path"] as? String == "data/data.csv")
        #expect((sources?.first?["fingerprint"] as? String)?.hasPrefix("git:") == true)
        let gates = manifest?["gates"] as? [String: Any]
        #expect(gates?["model_blessed"] as? Bool == true && gates?["infra_blessed"] as? Bool == true)
        // A retried job: the same model is already released, and says so (exit 0, no new version).
        let retried = try run(["release"], repo)
        #expect(retried.status == 0 && retried.stdout.contains("already released taxi@0.1.0"), "\(retried.stdout)")
        #expect(retried.stdout.contains("--new-version publishes it again"))
        // The same model as a new version only when asked for.
        let second = try run(["release", "--new-version"], repo)
        #expect(second.stdout.contains("released taxi@0.1.1"), "\(second.stdout)\n\(second.stderr)")
        let again = try run(["release", "--version", "0.1.0", "--new-version"], repo)
        #expect(again.status == 1 && again.stderr.contains("taxi@0.1.0 is already in the registry"))

        let list = try run(["releases", "list"], repo)
        #expect(list.stdout.contains("  0.1.1 ") && list.stdout.contains("  0.1.0 "), "\(list.stdout)")
        // Production only after staging.
        let early = try run(["promote", "taxi@0.1.0", "--to", "production"], repo)
        #expect(early.status == 1)
        #expect(early.stderr.contains("taxi@0.1.0 was never in 'staging', which comes before 'production'"))
        #expect(try run(["promote", "taxi@0.1.0", "--to", "staging", "--reason", "try it"], repo).status == 0)
        let promoted = try run(["promote", "taxi@0.1.0", "--to", "production"], repo)
        #expect(promoted.stdout.contains("promoted production → taxi@0.1.0 (was empty)"), "\(promoted.stderr)")
        try await Task.sleep(for: .milliseconds(1100))
        let between = ISO8601DateFormatter().string(from: Date())
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try run(["promote", "taxi@0.1.1", "--to", "staging"], repo).status == 0)
        #expect(try run(["promote", "taxi@staging", "--to", "production"], repo).status == 0)

        // Serve what production holds, from the registry, as `taxi` (the name it was released as).
        try await serveAnswers("taxi@production", repo)
        // A bundle file, as a CI artifact holds it: verified, unpacked, served as its release
        // name, in the project and outside any project.
        let artifact = registry(repo).appendingPathComponent("taxi/0.1.1/taxi-0.1.1.tar.zst")
        try await serveAnswers(artifact.path, repo)
        let elsewhere = try TemporaryDirectory("artifact")
        try FileManager.default.copyItem(at: artifact, to: elsewhere.url.appendingPathComponent("taxi.tar.zst"))
        try await serveAnswers("taxi.tar.zst", repo, in: elsewhere.url)
        // The gate now compares with what production holds.
        let gate = try run(["gate"], repo)
        #expect(
            gate.status == 0
                && gate.stdout.contains("baseline: the production channel: taxi@0.1.1, released from commit "),
            "\(gate.stdout)")
        let verify = try run(["verify", "taxi@production"], repo)
        #expect(verify.status == 0 && verify.stdout.contains("verified taxi@0.1.1"), "\(verify.stderr)")
        #expect(
            verify.stdout.contains(
                "files match manifest.json; provenance subjects match; signature absent (not required)"))
        let file = try run(["verify", bundle.path], repo)
        #expect(file.status == 0 && file.stdout.contains("verified taxi@0.1.0"))

        // What was in production at `between`, and the evidence it relied on.
        let at = try run(["releases", "history", "--at", between], repo)
        #expect(at.stdout.contains("  production   0.1.0  since "), "\(at.stdout)")
        #expect(at.stdout.contains("[model blessed, infra blessed, "), "\(at.stdout)")
        let history = try run(["releases", "history", "--channel", "staging"], repo)
        #expect(history.stdout.contains("promote  staging → 0.1.0  by ") && history.stdout.contains(": try it ["))
        #expect(!history.stdout.contains("production"))
        let diff = try run(["releases", "diff", "taxi@0.1.0", "taxi@0.1.1"], repo)
        #expect(diff.status == 0 && diff.stdout.contains("version") && diff.stdout.contains("auc "), "\(diff.stdout)")
        #expect(diff.stdout.contains("data data/data.csv"))
        let show = try run(["releases", "show", "taxi@production", "--json"], repo)
        #expect(
            show.stdout.contains(#""schema" : "mlops.releases-show/v1""#)
                || show.stdout.contains(#""schema":"mlops.releases-show/v1""#))

        let back = try run(["rollback", "production", "--reason", "latency"], repo)
        #expect(back.stdout.contains("rolled back production → taxi@0.1.0 (was 0.1.1)"), "\(back.stderr)")
        let none = try run(["rollback", "production"], repo)
        #expect(none.status == 1 && none.stderr.contains("channel 'production' has no earlier version"))

        // Push: the versioned layout model servers watch, never overwritten.
        let pushed = try run(["push", "taxi@production", "--to", "serving"], repo)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(
            FileManager.default.fileExists(
                atPath: repo.directory.url.appendingPathComponent("serving/taxi/0.1.0/model/model.json").path))
        let twice = try run(["push", "taxi@production", "--to", "serving"], repo)
        #expect(twice.status == 1 && twice.stderr.contains("exists already"))
    }

    /// `mlops serve REFERENCE` becomes ready and answers a metadata request at its release
    /// name, `taxi`, with no --name (run in `directory`, the project's by default).
    func serveAnswers(_ reference: String, _ repo: TestRepository, in directory: URL? = nil) async throws {
        let process = Process()
        process.executableURL = MLOpsProcess.binary
        process.arguments = ["serve", reference, "--port", "0"]
        process.currentDirectoryURL = directory ?? repo.directory.url
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        var text = ""
        while !text.contains("ready: model '") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text.contains("ready: model 'taxi'"), "\(text)")
        let port = try #require(text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).map { String($0.1) })
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/v2/models/taxi/ready"))
        let (_, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
    }

    @Test func aDirtyTreeAnUnblessedModelAndBadReferencesAreRefused() throws {
        let repo = try gated()
        _ = try repo.write("notes.txt", "uncommitted\n")
        let dirty = try run(["release"], repo)
        #expect(dirty.status == 1 && dirty.stderr.contains("release refused: the working tree has uncommitted changes"))
        let allowed = try run(["release", "--allow-dirty", "--json"], repo)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains(#""dirty" : true"#) || allowed.stdout.contains(#""dirty":true"#))
        try repo.remove("notes.txt")
        // A worse model: the gate fails, nothing is published.
        let yaml = try String(contentsOf: repo.directory.url.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write("mlops.yaml", yaml.replacingOccurrences(of: "lower_bound: 0.75", with: "lower_bound: 0.999"))
        _ = try repo.commitAll("an AUC floor no model reaches")
        let refused = try run(["release"], repo)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("release refused: the gate did not bless the model (1 check failed"),
            "\(refused.stderr)")
        #expect(try run(["releases", "list", "--json"], repo).stdout.contains(#""0.1.1""#) == false)

        #expect(try run(["promote", "taxi@9.9.9", "--to", "staging"], repo).status == 66)
        let channel = try run(["promote", "taxi@0.1.0", "--to", "prod"], repo)
        #expect(channel.status == 64 && channel.stderr.contains("'prod' is not a channel of release.channels"))
        #expect(try run(["promote", "taxi", "--to", "staging"], repo).status == 64)
        #expect(try run(["rollback", "staging"], repo).status == 1)
        // Bad flags are usage errors naming the flag; a missing key file is a configuration error.
        let version = try run(["release", "--version", "1.2"], repo)
        #expect(version.status == 64 && version.stderr.contains("'1.2' is not a semantic version"), "\(version.stderr)")
        let bump = try run(["release", "--bump", "huge"], repo)
        #expect(
            bump.status == 64
                && bump.stderr.contains(
                    "The value 'huge' is invalid for '--bump <bump>'. Please provide one of 'major', 'minor' or 'patch'."
                ))
        let at = try run(["releases", "history", "--at", "last tuesday"], repo)
        #expect(at.status == 64 && at.stderr.contains("--at: 'last tuesday' is not an ISO 8601 time"))
        let key = try run(["verify", "taxi@0.1.0", "--key", "keys/nowhere.pub"], repo)
        #expect(key.status == 78 && key.stderr.contains("signing key 'keys/nowhere.pub': the file cannot be read"))

        // A NOT_BLESSED bundle that reached the registry by other means is never promoted.
        let registry = DirectoryRegistry(directory: registry(repo))
        let staging = try registry.makeStaging("taxi")
        let written = try BundleWriter().write(
            [.init("model/model.json", .data(Data("{}".utf8)))],
            description: .init(
                name: "taxi", version: "0.9.0", time: 0,
                git: .init(commit: nil, branch: nil, remote: nil, dirty: false),
                data: .init(spans: [], sources: [], examples: nil), configSHA256: "", executions: [],
                gates: .init(
                    modelBlessed: false, infraBlessed: true, metrics: [:], baselineMetrics: nil, baseline: nil,
                    checks: [
                        CheckResult(
                            className: "mlops.gate.evaluation.overall", name: "auc >= 0.75", outcome: .failed,
                            detail: "auc = 0.6")
                    ]),
                externalParameters: [:], builder: CIBuilder(environment: [:])),
            to: staging.appendingPathComponent("taxi-0.9.0.tar.zst"))
        try registry.publish(
            staging: staging,
            event: LedgerEvent(
                event: .release, time: Date(), actor: "someone", name: "taxi", version: "0.9.0",
                identity: written.identity,
                channel: nil, previous: nil, reason: nil, evidence: nil),
            over: registry.state("taxi"))
        let unblessed = try run(["promote", "taxi@0.9.0", "--to", "staging"], repo)
        #expect(unblessed.status == 1)
        #expect(
            unblessed.stderr.contains(
                "taxi@0.9.0 is not blessed (model NOT_BLESSED, infra blessed; failed: mlops.gate.evaluation.overall auc >= 0.75)"
            ), "\(unblessed.stderr)")
    }

    @Test func signedBundlesVerifyAndOneChangedByteIsNamedEverywhere() throws {
        let repo = try gated()
        let dir = repo.directory.url
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        let keygen = try run(["keygen", "--out", "keys/release"], repo)
        #expect(keygen.status == 0 && keygen.stdout.contains("key id "), "\(keygen.stderr)")
        let mode =
            try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("keys/release.key").path)[
                .posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try run(["keygen", "--out", "keys/release"], repo).status == 1)  // never overwritten
        let privateKey = try String(contentsOf: dir.appendingPathComponent("keys/release.key"), encoding: .utf8)
        try repo.remove("keys/release.key")  // the secret lives in CI, not in git
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        _ = try repo.write(
            "mlops.yaml",
            yaml.replacingOccurrences(
                of: "  channels: [staging, production]    # promotion order\n",
                with:
                    "  channels: [staging, production]\n  signing_key: env:MLOPS_SIGNING_KEY\n  public_keys: [keys/release.pub]\n"
            ))
        _ = try repo.commitAll("sign releases")
        let released = try run(["release"], repo, environment: ["MLOPS_SIGNING_KEY": privateKey])
        #expect(released.status == 0 && released.stdout.contains(", signed)"), "\(released.stdout)\n\(released.stderr)")
        let verified = try run(["verify", "taxi@0.1.0"], repo)
        let keyID = try #require(keygen.stdout.firstMatch(of: /key id ([0-9a-f]{64})/)?.1)
        #expect(
            verified.status == 0 && verified.stdout.contains("signature verified with key \(keyID)"),
            "\(verified.stdout)\n\(verified.stderr)")
        // An independent DSSE verifier (securesystemslib) accepts the signature as written.
        let independent = try DSSEVerifier.run(
            registry(repo).appendingPathComponent("taxi/0.1.0/taxi-0.1.0.tar.zst"),
            key: dir.appendingPathComponent("keys/release.pub"))
        #expect(independent.status == 0, "\(independent.output)")
        #expect(independent.output.contains("OK: signature verified by securesystemslib"))
        #expect(independent.output.contains("verified keyid(s): \(keyID)"), "\(independent.output)")

        // One byte of the model changed inside the registry's bundle.
        let bundle = registry(repo).appendingPathComponent("taxi/0.1.0/taxi-0.1.0.tar.zst")
        let reader = try ArchiveReader(path: bundle.path)
        var files: [(String, Data)] = []
        while let entry = try reader.next() { files.append((entry.path, try reader.readData(limit: 1 << 30))) }
        try reader.close()
        let index = try #require(files.firstIndex { $0.0 == "model/model.json" })
        var model = files[index].1
        let position = try #require(model.firstIndex(of: UInt8(ascii: "5")))
        model[position] = UInt8(ascii: "6")
        files[index].1 = model
        try FileManager.default.removeItem(at: bundle)
        let writer = try ArchiveWriter(path: bundle.path, compression: .zstd(level: 3))
        for (path, data) in files { try writer.addFile(path, data: data) }
        try writer.finish()
        let tampered = try run(["verify", "taxi@0.1.0"], repo)
        #expect(tampered.status == 1)
        let refused = try DSSEVerifier.run(bundle, key: dir.appendingPathComponent("keys/release.pub"))
        #expect(refused.status == 1 && refused.output.contains("'model/model.json' has sha256"), "\(refused.output)")
        #expect(tampered.stderr.contains("'model/model.json' does not match manifest.json"), "\(tampered.stderr)")
        let promote = try run(["promote", "taxi@0.1.0", "--to", "staging"], repo)
        #expect(promote.status == 1 && promote.stderr.contains("'model/model.json' does not match manifest.json"))
        let serve = try run(["serve", "taxi@0.1.0", "--port", "0"], repo)
        #expect(serve.status == 1 && serve.stderr.contains("'model/model.json' does not match manifest.json"))
        let file = try run(["serve", bundle.path, "--port", "0"], repo)
        #expect(file.status == 1 && file.stderr.contains("'model/model.json' does not match manifest.json"))
        let unpacked =
            (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(".mlops/bundles").path))
            ?? []
        #expect(unpacked.isEmpty, "\(unpacked)")
    }

    /// Issue 22 item 5: a project that signs must verify. With `release.signing_key` set and no
    /// `public_keys`, promote checked no signature and the ledger said `verified: true`.
    @Test func aProjectThatSignsRefusesWhatItCannotVerify() throws {
        let repo = try gated()
        let dir = repo.directory.url
        let original = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        // A required signature with no key to sign with: the release is refused up front.
        _ = try repo.write(
            "mlops.yaml",
            original.replacingOccurrences(
                of: "  channels: [staging, production]    # promotion order\n",
                with: "  channels: [staging, production]\n  require_signature: true\n"))
        let keyless = try run(["release", "--allow-dirty"], repo)
        #expect(
            keyless.status == 1 && keyless.stderr.contains("release.signing_key is not set to sign with"),
            "\(keyless.stderr)")
        _ = try repo.write("mlops.yaml", original)
        // A bundle released before signing was configured: unsigned.
        #expect(try run(["release"], repo).status == 0)
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        let keygen = try run(["keygen", "--out", "keys/release"], repo)
        let keyID = try #require(keygen.stdout.firstMatch(of: /key id ([0-9a-f]{64})/)?.1)
        let privateKey = try String(contentsOf: dir.appendingPathComponent("keys/release.key"), encoding: .utf8)
        try repo.remove("keys/release.key")
        try repo.remove("keys/release.pub")
        let yaml = try String(contentsOf: dir.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        func configure(_ release: String) throws {
            _ = try repo.write(
                "mlops.yaml",
                yaml.replacingOccurrences(
                    of: "  channels: [staging, production]    # promotion order\n",
                    with: "  channels: [staging, production]\n" + release))
        }
        try configure("  signing_key: env:MLOPS_SIGNING_KEY\n")
        let secret = ["MLOPS_SIGNING_KEY": privateKey]
        // The unsigned 0.1.0 is refused now, with the reason.
        let unsigned = try run(["promote", "taxi@0.1.0", "--to", "staging"], repo, environment: secret)
        #expect(unsigned.status == 1)
        #expect(
            unsigned.stderr.contains(
                "it is not signed (no provenance.dsse.json), and a signature is required: release.signing_key is set"),
            "\(unsigned.stderr)")
        // A signed release verifies with the signing key's own public half (no public_keys).
        _ = try repo.commitAll("sign releases")
        let released = try run(["release", "--new-version"], repo, environment: secret)
        #expect(released.status == 0 && released.stdout.contains("signed"), "\(released.stdout)\n\(released.stderr)")
        let promoted = try run(["promote", "taxi@0.1.1", "--to", "staging"], repo, environment: secret)
        #expect(promoted.status == 0, "\(promoted.stderr)")
        let ledger = try String(contentsOf: registry(repo).appendingPathComponent("taxi/ledger.jsonl"), encoding: .utf8)
        let lastLine = try #require(ledger.split(separator: "\n").last)
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        let evidence = try #require(last["evidence"] as? [String: Any])
        #expect(evidence["signed_by"] as? String == String(keyID))
        #expect(
            evidence["checked"] as? [String: String]
                == ["hashes": "verified", "provenance": "verified", "signature": "verified with key \(keyID)"])
        // A job without the secret has no trusted key to check the signature with: refused.
        let untrusted = try run(["promote", "taxi@0.1.1", "--to", "production"], repo)
        #expect(untrusted.status == 1)
        #expect(
            untrusted.stderr.contains(
                "a signature is required (release.signing_key is set), and there is no trusted key to check it with"),
            "\(untrusted.stderr)")
        let json = try run(["verify", "taxi@0.1.1", "--json"], repo, environment: secret)
        let output = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let result = try #require(output["result"] as? [String: Any])
        #expect((result["checked"] as? [String: String])?["signature"] == "verified with key \(keyID)")
        // An explicit setting accepts unsigned bundles, and the ledger says what was checked.
        try configure("  signing_key: env:MLOPS_SIGNING_KEY\n  require_signature: false\n")
        let accepted = try run(["promote", "taxi@0.1.0", "--to", "staging"], repo)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let after = try String(contentsOf: registry(repo).appendingPathComponent("taxi/ledger.jsonl"), encoding: .utf8)
        #expect(
            after.contains(#""signature":"absent (not required)""#)
                || after.contains(#""signature" : "absent (not required)""#), "\(after)")
    }

    @Test func eightReleasesAtOnceGetEightVersionsAndEightEvents() throws {
        let repo = try gated()
        let directory = repo.directory.url
        // Eight processes started together, each from its own thread.
        final class Results: @unchecked Sendable {
            var all = [MLOpsProcess.Result?](repeating: nil, count: 8)
            let lock = NSLock()
        }
        let box = Results()
        let group = DispatchGroup()
        for index in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                let result = try? MLOpsProcess.run(
                    ["release", "--new-version", "--reason", "job \(index)"], in: directory,
                    environment: ["MLOPS_BUSY_TIMEOUT": "120"])
                box.lock.lock()
                box.all[index] = result
                box.lock.unlock()
                group.leave()
            }
        }
        group.wait()
        let results = box.all
        #expect(results.map { $0?.status } == Array(repeating: 0, count: 8), "\(results.map { $0?.stderr ?? "" })")
        let ledger = try String(contentsOf: registry(repo).appendingPathComponent("taxi/ledger.jsonl"), encoding: .utf8)
        let lines = ledger.split(separator: "\n")
        #expect(lines.count == 8)
        let versions = Set(
            lines.compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["version"] as? String
            })
        #expect(versions == Set((0..<8).map { "0.1.\($0)" }))
        for version in versions.sorted() {
            let verify = try run(["verify", "taxi@\(version)"], repo)
            #expect(verify.status == 0, "\(version): \(verify.stderr)")
        }
    }

    @Test func aReleaseKilledMidWriteLeavesNothingAndAnEndedLedgerLineIsReadPast() throws {
        let repo = try gated()
        let folder = registry(repo).appendingPathComponent("taxi")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Hold the registry's lock, so the release writes its bundle and then waits for it.
        let lock = open(folder.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        #expect(lock >= 0 && flock(lock, LOCK_EX) == 0)
        let process = Process()
        process.executableURL = MLOpsProcess.binary
        process.arguments = ["release"]
        process.currentDirectoryURL = repo.directory.url
        process.environment = ProcessInfo.processInfo.environment.merging(["CI": "true"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The staged bundle and its manifest are written: kill it there.
        let deadline = Date().addingTimeInterval(120)
        var staged = false
        while Date() < deadline, !staged, process.isRunning {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            staged = entries.contains { entry in
                entry.hasPrefix(".staging-")
                    && FileManager.default.fileExists(
                        atPath: folder.appendingPathComponent(entry + "/manifest.json").path)
            }
            if !staged { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(staged)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        flock(lock, LOCK_UN)
        close(lock)
        // Nothing listed, nothing visible but the hidden staging folder and the lock.
        let list = try run(["releases", "list"], repo)
        #expect(list.stdout.contains("no releases in "), "\(list.stdout)")
        let visible = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        #expect(visible.isEmpty, "\(visible)")
        // The next release works and clears what the killed one left.
        let next = try run(["release"], repo)
        #expect(next.status == 0 && next.stdout.contains("released taxi@0.1.0"), "\(next.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".staging-") }
                .isEmpty)

        // A ledger line cut short by a crash: read past with a warning, the next event whole.
        let handle = try FileHandle(forWritingTo: folder.appendingPathComponent("ledger.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"event":"promote","ti"#.utf8))
        try handle.close()
        let warned = try run(["releases", "list"], repo)
        #expect(warned.stderr.contains("ledger.jsonl:2: an unreadable ledger line"), "\(warned.stderr)")
        let after = try run(["release", "--new-version"], repo)
        #expect(after.status == 0 && after.stdout.contains("released taxi@0.1.1"), "\(after.stderr)")
        let listed = try run(["releases", "list"], repo)
        #expect(listed.stdout.contains("  0.1.1 ") && listed.stdout.contains("  0.1.0 "))
    }
}

/// The independent DSSE verifier (Tests/Tools/verify_dsse.py, on PyPI's securesystemslib), run
/// with MLOPS_DSSE_PYTHON (bash .ci/run sets it) or `.build/ci-tools/bin/python`. Missing is a
/// failure, never a skip.
enum DSSEVerifier {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "securesystemslib is not installed: bash .ci/run installs it into .build/ci-tools, or set MLOPS_DSSE_PYTHON to a python that has securesystemslib, cryptography and zstandard"
        }
    }

    static func run(_ bundle: URL, key: URL) throws -> (status: Int32, output: String) {
        let environment = ProcessInfo.processInfo.environment
        let python =
            environment["MLOPS_DSSE_PYTHON"]
            ?? sources.appendingPathComponent(".build/ci-tools/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Missing() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            sources.appendingPathComponent("Tests/Tools/verify_dsse.py").path, bundle.path, key.path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if output.contains("ModuleNotFoundError") { throw Missing() }
        return (process.terminationStatus, output)
    }
}
