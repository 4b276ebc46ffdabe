import ArgumentParser
import Crypto
import Foundation
import Gates
import MLOpsCore
import Pipeline
import Release

extension MLOps {
    struct Release: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Gate the model and publish it as a versioned, reproducible, verifiable bundle in the registry.",
            discussion: """
                Runs the gate first (`mlops gate`, cached when nothing changed) and refuses with exit 1 \
                a model without both blessings, or a working tree with uncommitted changes unless \
                --allow-dirty (the manifest then says dirty). The bundle NAME-VERSION.tar.zst holds the \
                model, its fitted transform and schema, the evaluation and infra results, the data \
                checks and statistics, the gate reports, manifest.json (every file's SHA-256, the \
                commit, the data fingerprints, the executions, the gates' checks) and provenance.json \
                (SLSA provenance v1), signed into provenance.dsse.json with release.signing_key. The \
                same model gives the same bytes. The version is --version, else the latest one bumped \
                (--bump, patch by default; the first release is 0.1.0) (docs/release.md).
                """)
        static let jsonSchema = "mlops.release/v1"

        @OptionGroup var global: GlobalOptions

        @Option(help: "The version to publish (MAJOR.MINOR.PATCH[-PRERELEASE]); it must not exist yet.")
        var version: String?

        @Option(help: "Which part of the latest version to bump: patch, minor or major.")
        var bump: String = "patch"

        @Flag(name: .customLong("allow-dirty"), help: "Release from a working tree with uncommitted changes.")
        var allowDirty = false

        @Option(help: "Why, for the ledger.")
        var reason: String?

        @Option(
            help: ArgumentHelp(
                "The gate's baseline: production, latest-blessed, none or a model folder.", valueName: "baseline"))
        var baseline: String?

        func validate() throws {
            if let version {
                do { _ = try SemanticVersion(parsing: version) } catch {
                    throw ValidationError("--version: \(error.message) (\(error.hint ?? ""))")
                }
            }
            guard SemanticVersion.Bump(rawValue: bump) != nil else {
                throw ValidationError("--bump must be patch, minor or major")
            }
        }

        struct Output: Encodable {
            let name: String
            let version: String
            let identity: String
            let bundle: String
            let size: Int64
            let signed: Bool
            let manifest: BundleManifest
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let environment = ProcessInfo.processInfo.environment
            // The refusals that need no gate come first.
            let registrySession = try RegistrySession.open(context)
            guard let config = registrySession.config, let name = registrySession.projectName else {
                throw FileError(.missing, path: "mlops.yaml", detail: "is needed to release")
            }
            let signingKey = try config.release.signingKey.map {
                try SigningKeys.loadPrivateKey($0, root: registrySession.root, environment: environment)
            }
            if let repository = registrySession.repository {
                let snapshot = try RepositorySnapshot(repository: repository)
                if snapshot.dirty && !allowDirty {
                    throw ReleaseError.refused(
                        "the working tree has uncommitted changes, so the commit would not say what was built",
                        hint: "commit them, or pass --allow-dirty (the manifest then records dirty: true)")
                }
            }
            let run = try GateRun.perform(context, baseline: baseline, strict: false, command: "release")
            defer { try? run.session.store.close() }
            guard run.gate.blessed else {
                if console.mode != .json { run.printVerdict(on: console) }
                let failed = run.gate.checks.filter { $0.outcome == .failed }
                let first = failed.first.map { ": \($0.className) \($0.name)" } ?? ""
                throw ReleaseError.refused(
                    "the gate did not bless the model (\(failed.count) check\(failed.count == 1 ? "" : "s") failed\(first))",
                    hint: "see .mlops/reports/gate.md; `mlops gate` gives the same verdict")
            }
            let contents = try BundleContents(run: run)
            let registry = registrySession.registry
            let writer = BundleWriter(compressionLevel: config.release.compressionLevel, signingKey: signingKey)
            func next(_ state: Registry.State) throws -> String {
                if let version {
                    if state.release(version) != nil { throw ReleaseError.versionExists(name: name, version: version) }
                    return version
                }
                guard let latest = state.versions.last else { return "0.1.0" }
                return latest.bumped(SemanticVersion.Bump(rawValue: bump) ?? .patch).description
            }
            // Built outside the lock with the version free now; built again under it in the rare
            // case another job took that version meanwhile.
            var chosen = try next(try registry.state(name))
            var staging = try registry.makeStaging(name)
            var written = try contents.write(writer, name: name, version: chosen, into: staging)
            let published: BundleWriter.Written = try registry.withLock(name, timeout: registrySession.lockTimeout) {
                let state = try registry.state(name)
                if state.release(chosen) != nil {
                    try? FileManager.default.removeItem(at: staging)
                    chosen = try next(state)
                    staging = try registry.makeStaging(name)
                    written = try contents.write(writer, name: name, version: chosen, into: staging)
                }
                let event = LedgerEvent(
                    event: .release, time: Date(), actor: registrySession.actor, name: name, version: chosen,
                    identity: written.identity, channel: nil, previous: nil, reason: reason,
                    evidence: LedgerEvent.Evidence(
                        manifest: written.manifest,
                        signedBy: signingKey.map { SigningKeys.keyID($0.publicKey) }, verified: true))
                do {
                    try registry.publish(staging: staging, event: event)
                } catch {
                    try? FileManager.default.removeItem(at: staging)
                    throw error
                }
                return written
            }
            let path = registry.bundle(name, chosen)
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            name: name, version: chosen, identity: published.identity, bundle: path.path,
                            size: published.size, signed: published.signed, manifest: published.manifest)))
            } else {
                console.line(
                    console.style("released", .green, bold: true) + " \(name)@\(chosen)  \(published.identity)")
                console.line(
                    "  \(path.path) (\(Self.size(published.size)), \(published.manifest.files.count + 2) files, "
                        + (published.signed ? "signed" : "unsigned") + ")")
            }
        }

        static func size(_ bytes: Int64) -> String {
            bytes >= 1 << 20
                ? String(format: "%.1f MB", Double(bytes) / 1_048_576) : String(format: "%.1f KB", Double(bytes) / 1024)
        }
    }

    struct Keygen: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Make an Ed25519 key pair for signing releases (PEM: PKCS #8 and SubjectPublicKeyInfo).",
            discussion: """
                Writes PREFIX.key (the private key, mode 0600: keep it out of git, e.g. in a CI secret \
                read with `release.signing_key: env:MLOPS_SIGNING_KEY`) and PREFIX.pub (list it in \
                release.public_keys). Refuses to overwrite either file.
                """)
        static let jsonSchema = "mlops.keygen/v1"

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Where to write PREFIX.key and PREFIX.pub.", valueName: "prefix"))
        var out: String = "mlops-release"

        struct Output: Encodable {
            let privateKey: String
            let publicKey: String
            let keyID: String
        }

        func run(context: CommandContext) async throws {
            let key = SigningKeys.generate()
            let privateURL = URL(fileURLWithPath: out + ".key")
            let publicURL = URL(fileURLWithPath: out + ".pub")
            for url in [privateURL, publicURL] where FileManager.default.fileExists(atPath: url.path) {
                throw ReleaseError.destinationExists(url.path)
            }
            let descriptor = open(privateURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw FileError(.notWritable, path: privateURL.path, detail: String(cString: strerror(errno)))
            }
            let text = Array(SigningKeys.pem(key).utf8)
            let written = text.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            fsync(descriptor)
            close(descriptor)
            guard written == text.count else {
                unlink(privateURL.path)
                throw FileError(.io, path: privateURL.path, detail: "the key could not be written")
            }
            try AtomicFile.write(Data(SigningKeys.pem(key.publicKey).utf8), to: publicURL)
            let id = SigningKeys.keyID(key.publicKey)
            if context.console.mode == .json {
                try context.console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(privateKey: privateURL.path, publicKey: publicURL.path, keyID: id)))
            } else {
                context.console.line("wrote \(privateURL.path) (private, 0600) and \(publicURL.path); key id \(id)")
            }
        }
    }
}

/// What a release bundles, from a blessed gate run: the model folder, the Evaluator's,
/// InfraValidator's and ExampleValidator's outputs, the statistics, and the gate reports
/// rendered as of the Evaluator's own run (not this one), so the same model gives the same bytes.
struct BundleContents {
    let entries: [BundleWriter.Entry]
    let description: (_ name: String, _ version: String) -> BundleWriter.Description

    init(run: GateRun) throws {
        let artifacts = run.artifacts
        let session = run.session
        let store = session.store
        var entries: [BundleWriter.Entry] = []
        func add(_ component: Component, _ output: String, as prefix: String) throws {
            guard let artifact = try artifacts.artifact(component, output) else { return }
            let folder = session.root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
            for file in Self.files(in: folder) {
                entries.append(.init(prefix + file, .file(folder.appendingPathComponent(file))))
            }
        }
        try add(.trainer, "model", as: "model/")
        try add(.evaluator, "evaluation", as: "evaluation/")
        try add(.infraValidator, "blessing", as: "infra/")
        try add(.exampleValidator, "anomalies", as: "data/")
        try add(.statisticsGen, "statistics", as: "data/")
        // Each execution that made the model, by its original (not a cached copy).
        var executions: [BundleManifest.Execution] = []
        var evaluatorRun = run.artifacts.report.run
        for stage in run.artifacts.report.stages {
            guard let id = stage.execution, let execution = try store.execution(id) else { continue }
            let original = try execution.cachedFrom.flatMap { try store.execution($0) } ?? execution
            if stage.component == Component.evaluator.rawValue, let run = original.run { evaluatorRun = run }
            executions.append(
                .init(
                    component: stage.component, execution: original.id, cacheKey: execution.cacheKey,
                    outputs: stage.outputs))
        }
        let gate = try artifacts.gateReport(run: evaluatorRun)
        for (file, data) in [
            ("gate.md", Data(gate.markdown().utf8)), ("gate.json", try gate.encoded()),
            ("junit.xml", Data(gate.junit().utf8)), ("report.html", Data(artifacts.html(gate).utf8)),
        ] {
            entries.append(.init("reports/" + file, .data(data)))
        }
        self.entries = entries
        // The data read: each source file, with its span when the sources have spans.
        let examples = try artifacts.read(ExampleGen.Result.self, .exampleGen, "examples", ExampleGen.metadataFile)
        var spanOf: [String: Int] = [:]
        for span in examples?.spans ?? [] { for file in span.files { spanOf[file] = span.span } }
        let hasSpans = session.config.data.sources.contains { SpanPattern($0).hasSpan }
        let fingerprints = gate.dataFingerprints
        let sources = fingerprints.keys.sorted().filter { $0 != "(examples artifact)" }.map { path in
            BundleManifest.DataSource(
                path: path, fingerprint: fingerprints[path] ?? "", span: hasSpans ? spanOf[path] : nil)
        }
        let data = BundleManifest.DataSection(
            spans: examples?.spans.map(\.span) ?? [], sources: sources, examples: fingerprints["(examples artifact)"])
        let snapshot = session.snapshot
        let repository = session.repository
        let commitTime = try snapshot.commit.flatMap { try? repository.resolveCommit($0) }.map {
            try repository.commitTime($0)
        }
        let git = BundleManifest.Git(
            commit: snapshot.commit, branch: snapshot.branch, remote: try? repository.remoteURL(),
            dirty: snapshot.dirty)
        let configBytes = (try? Data(contentsOf: session.root.appendingPathComponent(MLOpsConfig.fileName))) ?? Data()
        let configHash = Hex.string(SHA256.hash(data: configBytes))
        let overall = gate.evaluation?.candidate.first { $0.slice == "overall" }
        let baselineOverall = gate.evaluation?.baselineMetrics?.first { $0.slice == "overall" }
        let gates = BundleManifest.Gates(
            modelBlessed: gate.evaluation?.blessed == true, infraBlessed: gate.infra?.blessed == true,
            metrics: overall?.metrics.values ?? [:], baselineMetrics: baselineOverall?.metrics.values,
            baseline: gate.evaluation?.baseline?.reason, checks: gate.checks)
        let parameters: [String: JSONTree] = [
            "config": try JSONTree(session.config), "config_file": .string(MLOpsConfig.fileName),
        ]
        let builder = CIBuilder(environment: ProcessInfo.processInfo.environment)
        description = { name, version in
            var external = parameters
            external["release"] = .object(["name": .string(name), "version": .string(version)])
            return BundleWriter.Description(
                name: name, version: version, time: commitTime ?? 0, git: git, data: data, configSHA256: configHash,
                executions: executions, gates: gates, externalParameters: external, builder: builder)
        }
    }

    /// Writes the bundle and its manifest copy into `folder` and reads it back verified.
    func write(_ writer: BundleWriter, name: String, version: String, into folder: URL) throws
        -> BundleWriter.Written
    {
        let bundle = folder.appendingPathComponent(Registry.bundleFileName(name, version))
        let written = try writer.write(entries, description: description(name, version), to: bundle)
        _ = try BundleReader.open(
            bundle, keys: writer.signingKey.map { [$0.publicKey] } ?? [], expected: written.identity)
        try AtomicFile.write(try written.manifest.encoded(), to: folder.appendingPathComponent(BundleManifest.fileName))
        return written
    }

    /// The regular files below `folder`, relative, sorted.
    static func files(in folder: URL) -> [String] {
        guard
            let enumerator = FileManager.default.enumerator(
                at: folder, includingPropertiesForKeys: [.isRegularFileKey], options: [])
        else { return [] }
        let base = folder.standardizedFileURL.path + "/"
        var files: [String] = []
        for case let url as URL in enumerator
        where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            let path = url.standardizedFileURL.path
            if path.hasPrefix(base) { files.append(String(path.dropFirst(base.count))) }
        }
        return files.sorted()
    }
}
