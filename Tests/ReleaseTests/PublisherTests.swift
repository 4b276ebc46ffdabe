import Foundation
import Gates
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import ProjectTestSupport
import Release
import Testing

/// Release, promote, rollback and push in-process through ``Publisher``, on a gated taxi
/// project and the directory registry in its `.mlops/registry`.
@Suite struct PublisherTests {
    func gate(_ repo: TestRepository) throws -> GateRun {
        try GateRun.perform(
            try TaxiProject.open(repo), options: GateRun.Options(executable: MLOpsProcess.binary, environment: [:]),
            releases: nil, console: nil)
    }

    func publisher(_ repo: TestRepository, environment: [String: String] = [:]) throws -> Publisher {
        Publisher(
            session: try ReleaseSession.open(
                root: repo.directory.url, repository: repo.repository, environment: environment))
    }

    @Test func releaseThenPromoteThroughTheChannelsAndRollBack() throws {
        let repo = try TaxiProject.make()
        let run = try gate(repo)
        defer { try? run.project.store.close() }
        let publisher = try publisher(repo)
        let (name, key) = try publisher.prepare(allowDirty: false)
        #expect(name == "taxi" && key == nil)
        let first = try publisher.release(run, name: name, version: .bump(.patch), signingKey: nil, reason: "first")
        #expect(first.version == "0.1.0" && FileManager.default.fileExists(atPath: first.bundle))
        #expect(!first.alreadyReleased)
        // A retried job: the registry holds this very model, so that version is the answer,
        // whatever version is asked for, and nothing is written.
        for request in [
            Publisher.VersionRequest.bump(.minor), .exact(try SemanticVersion(parsing: "0.3.0")),
            .exact(try SemanticVersion(parsing: "0.1.0")),
        ] {
            let retried = try publisher.release(run, name: name, version: request, signingKey: nil, reason: nil)
            #expect(retried.alreadyReleased && retried.version == "0.1.0" && retried.identity == first.identity)
        }
        #expect(try publisher.session.registry.state("taxi").releases.count == 1)
        // A new version of the same model only when asked for.
        let second = try publisher.release(
            run, name: name, version: .bump(.minor), signingKey: nil, reason: nil, newVersion: true)
        #expect(second.version == "0.2.0" && !second.alreadyReleased)
        // The same model gives the same files, whatever the version says inside.
        #expect(first.manifest.files == second.manifest.files)
        #expect(throws: ReleaseError.versionExists(name: "taxi", version: "0.1.0")) {
            try publisher.release(
                run, name: name, version: .exact(try SemanticVersion(parsing: "0.1.0")), signingKey: nil, reason: nil,
                newVersion: true)
        }

        // Production only after staging; then a rollback goes back one promotion.
        let refused = try #require(throws: ReleaseError.self) {
            try publisher.promote("taxi@0.1.0", to: "production", reason: nil)
        }
        #expect(ExitStatus(for: refused) == .verdictFailed && "\(refused)".contains("was never in 'staging'"))
        for (version, channel) in [
            ("0.1.0", "staging"), ("0.1.0", "production"), ("0.2.0", "staging"),
            ("0.2.0", "production"),
        ] {
            let event = try publisher.promote("taxi@\(version)", to: channel, reason: nil)
            #expect(event.event == .promote && event.version == version && event.evidence?.verified == true)
        }
        let back = try publisher.rollback("production", reason: "bad latency")
        #expect(back.version == "0.1.0" && back.previous == "0.2.0" && back.reason == "bad latency")
        #expect(throws: ReleaseError.nothingToRollBack(channel: "production")) {
            try publisher.rollback("production", reason: nil)
        }
        let state = try publisher.session.registry.state("taxi")
        #expect(state.channel("production")?.version == "0.1.0" && state.channel("staging")?.version == "0.2.0")
        #expect(state.events.map(\.event) == [.release, .release, .promote, .promote, .promote, .promote, .rollback])
        // Production as the gate's baseline: identified by its model's content, which is the
        // candidate's own, so a gate of this model is never compared with itself.
        let production = try #require(try publisher.session.productionBaseline())
        #expect(production.identity == (try run.artifacts.artifact(.trainer, "model"))?.fingerprint)
        #expect(
            production.identity == (try PipelineRunner.fingerprint(folder: URL(fileURLWithPath: production.folder))))

        // Push: the verified bundle unpacked into DIR/NAME/VERSION/, never over an existing one.
        let serving = try TemporaryDirectory("serving")
        let pushed = try publisher.push("taxi@production", to: serving.url)
        #expect(pushed.path.path.hasSuffix("/taxi/0.1.0"))
        #expect(FileManager.default.fileExists(atPath: pushed.path.appendingPathComponent("model/model.json").path))
        #expect(throws: ReleaseError.destinationExists(pushed.path.path)) {
            try publisher.push("taxi@0.1.0", to: serving.url)
        }
    }

    @Test func aModelTheGateRefusedIsNeverPublished() throws {
        let repo = try TaxiProject.make()
        let blessed = try gate(repo)
        try blessed.project.store.close()
        try TaxiProject.worsen(repo)
        let refused = try gate(repo)
        defer { try? refused.project.store.close() }
        #expect(!refused.gate.blessed)
        let publisher = try publisher(repo)
        let error = try #require(throws: ReleaseError.self) {
            try publisher.release(refused, name: "taxi", version: .bump(.patch), signingKey: nil, reason: nil)
        }
        #expect(ExitStatus(for: error) == .verdictFailed && "\(error)".contains("the gate did not bless the model"))
        #expect(try publisher.session.registry.state("taxi").events.isEmpty)
        // A dirty tree is refused before any gate runs, unless allowed.
        #expect(throws: ReleaseError.self) { try publisher.prepare(allowDirty: false) }
        #expect(try publisher.prepare(allowDirty: true).name == "taxi")
    }

    @Test func theSameModelReleasedTwiceIsTheSameBytesAndASignedOneVerifies() throws {
        let repo = try TaxiProject.make()
        let run = try gate(repo)
        defer { try? run.project.store.close() }
        let registries = try TemporaryDirectory()
        var bundles: [Data] = []
        for name in ["a", "b"] {
            let publisher = try publisher(
                repo, environment: ["MLOPS_REGISTRY": registries.url.appendingPathComponent(name).path])
            let published = try publisher.release(
                run, name: "taxi", version: .exact(try SemanticVersion(parsing: "1.0.0")), signingKey: nil, reason: nil)
            bundles.append(try Data(contentsOf: URL(fileURLWithPath: published.bundle)))
        }
        #expect(bundles[0] == bundles[1] && bundles[0].count > 1000)

        // Signed: the DSSE envelope verifies with the public key, and names the key.
        let key = SigningKeys.generate()
        let signed = try publisher(
            repo, environment: ["MLOPS_REGISTRY": registries.url.appendingPathComponent("c").path]
        )
        .release(run, name: "taxi", version: .bump(.patch), signingKey: key, reason: nil)
        #expect(signed.signed)
        let verified = try BundleReader.open(
            URL(fileURLWithPath: signed.bundle), signatures: .requiring([key.publicKey]), expected: signed.identity)
        #expect(verified.signedBy == SigningKeys.keyID(key.publicKey))
    }

    /// A backend whose lock is always held elsewhere: the publisher reports it as the
    /// backend says, exit 75 (retry), and publishes nothing.
    struct LockedRegistry: Registry {
        let inner: DirectoryRegistry
        var location: String { inner.location }
        func names() throws(ReleaseError) -> [String] { try inner.names() }
        func state(_ name: String) throws(ReleaseError) -> RegistryState { try inner.state(name) }
        func manifest(_ name: String, _ version: String) throws(ReleaseError) -> BundleManifest {
            try inner.manifest(name, version)
        }
        func bundleFile(_ name: String, _ version: String) throws(ReleaseError) -> URL {
            try inner.bundleFile(name, version)
        }
        func bundleAddress(_ name: String, _ version: String) -> String { inner.bundleAddress(name, version) }
        func transaction<T>(_ name: String, timeout: Double, _ body: () throws -> T) throws -> T {
            throw ReleaseError.locked(path: "\(location)/\(name)", seconds: timeout)
        }
        func makeStaging(_ name: String) throws(ReleaseError) -> URL { try inner.makeStaging(name) }
        func publish(staging: URL, event: LedgerEvent, over state: RegistryState) throws(ReleaseError) {
            try inner.publish(staging: staging, event: event, over: state)
        }
        func move(_ event: LedgerEvent, over state: RegistryState) throws(ReleaseError) {
            try inner.move(event, over: state)
        }
    }

    @Test func aBackendsLockFailureIsExit75AndPublishesNothing() throws {
        let repo = try TaxiProject.make()
        let run = try gate(repo)
        defer { try? run.project.store.close() }
        let session = try ReleaseSession.open(root: repo.directory.url, repository: repo.repository, environment: [:])
        let directory = try #require(session.registry as? DirectoryRegistry)
        let locked = Publisher(session: session.with(registry: LockedRegistry(inner: directory)))
        let error = try #require(throws: ReleaseError.self) {
            try locked.release(run, name: "taxi", version: .bump(.patch), signingKey: nil, reason: nil)
        }
        #expect(ExitStatus(for: error) == .temporaryFailure)
        #expect(try directory.state("taxi").events.isEmpty && directory.names().isEmpty)
    }
}
