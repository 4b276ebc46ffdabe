import Crypto
import Foundation
import Gates
import MLOpsCore
import Metadata
import Pipeline
import Tabular

/// What a release bundles, from a blessed gate run: the model folder, the Evaluator's,
/// InfraValidator's and ExampleValidator's outputs, the statistics, and the gate reports
/// rendered as of the Evaluator's own run (not this one), so the same model gives the same bytes.
public struct BundleContents {
    let entries: [BundleWriter.Entry]
    let description: (_ name: String, _ version: String) -> BundleWriter.Description

    public init(run: GateRun, environment: [String: String]) throws {
        let artifacts = run.artifacts
        let session = run.project
        let store = session.store
        var entries: [BundleWriter.Entry] = []
        func add(_ component: Component, _ output: String, as prefix: String) throws {
            guard let artifact = try artifacts.artifact(component, output) else { return }
            let folder = session.folder(of: artifact)
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
            if stage.component == .evaluator, let run = original.run { evaluatorRun = run }
            executions.append(
                .init(
                    component: stage.component.rawValue, execution: original.id, cacheKey: execution.cacheKey,
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
        let gates = BundleManifest.GateVerdicts(
            modelBlessed: gate.evaluation?.blessed == true, infraBlessed: gate.infra?.blessed == true,
            metrics: overall?.metrics.values ?? [:], baselineMetrics: baselineOverall?.metrics.values,
            baseline: gate.evaluation?.baseline?.reason, checks: gate.checks)
        let parameters: [String: JSONTree] = [
            "config": try JSONTree(session.config), "config_file": .string(MLOpsConfig.fileName),
        ]
        let builder = CIBuilder(environment: environment)
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
        let bundle = folder.appendingPathComponent(RegistryLayout.bundleFileName(name, version))
        let written = try writer.write(entries, description: description(name, version), to: bundle)
        let own = SignaturePolicy(
            keys: writer.signingKey.map { [$0.publicKey] } ?? [], required: writer.signingKey != nil,
            reason: "release.signing_key is set")
        _ = try BundleReader.open(bundle, signatures: own, expected: written.identity)
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
