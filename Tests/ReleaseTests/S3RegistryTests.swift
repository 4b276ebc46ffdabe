import Foundation
import Gates
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import ProjectTestSupport
import Release
import S3Kit
import Testing

/// The registry on S3 (moto's server with signatures enforced, ``S3TestServer``): the same
/// verbs as on a folder, the layout docs/release.md gives, conditional writes that keep many
/// writers apart, and refusals for bad settings and tampered bundles.
@Suite struct S3RegistryTests {
    func gate(_ repo: TestRepository) throws -> GateRun {
        try GateRun.perform(
            try TaxiProject.open(repo), options: GateRun.Options(executable: MLOpsProcess.binary, environment: [:]),
            releases: nil, console: nil)
    }

    @Test func releasePromoteRollbackAndPushWorkAsOnAFolder() throws {
        let bucket = try S3TestBucket()
        let repo = try TaxiProject.make()
        let run = try gate(repo)
        defer { try? run.project.store.close() }
        let session = try ReleaseSession.open(
            root: repo.directory.url, repository: repo.repository, environment: bucket.environment())
        #expect(session.registry is S3Registry && session.registry.location == "s3://\(bucket.name)/models")
        let publisher = Publisher(session: session)
        let first = try publisher.release(run, name: "taxi", version: .bump(.patch), signingKey: nil, reason: "first")
        #expect(
            first.version == "0.1.0"
                && first.bundle == "s3://\(bucket.name)/models/taxi/versions/0.1.0/taxi-0.1.0.tar.zst")
        // A retried job gets the version that holds this model; a new version only when asked.
        let again = try publisher.release(run, name: "taxi", version: .bump(.minor), signingKey: nil, reason: nil)
        #expect(again.alreadyReleased && again.version == "0.1.0")
        let second = try publisher.release(
            run, name: "taxi", version: .bump(.minor), signingKey: nil, reason: nil, newVersion: true)
        #expect(second.version == "0.2.0")
        for (version, channel) in [
            ("0.1.0", "staging"), ("0.1.0", "production"), ("0.2.0", "staging"), ("0.2.0", "production"),
        ] {
            _ = try publisher.promote("taxi@\(version)", to: channel, reason: nil)
        }
        let back = try publisher.rollback("production", reason: "latency")
        #expect(back.version == "0.1.0" && back.previous == "0.2.0")
        #expect(
            try bucket.keys() == [
                "models/taxi/ledger/000000000001.json", "models/taxi/ledger/000000000002.json",
                "models/taxi/ledger/000000000003.json", "models/taxi/ledger/000000000004.json",
                "models/taxi/ledger/000000000005.json", "models/taxi/ledger/000000000006.json",
                "models/taxi/ledger/000000000007.json",
                "models/taxi/versions/0.1.0/manifest.json", "models/taxi/versions/0.1.0/taxi-0.1.0.tar.zst",
                "models/taxi/versions/0.2.0/manifest.json", "models/taxi/versions/0.2.0/taxi-0.2.0.tar.zst",
            ])

        // Another machine (a fresh session with nothing downloaded) reads the same registry.
        let elsewhere = try TemporaryDirectory("elsewhere")
        let other = try ReleaseSession.open(
            root: elsewhere.url, repository: nil, environment: bucket.environment())
        let state = try other.registry.state("taxi")
        #expect(state.events.map(\.event) == [.release, .release, .promote, .promote, .promote, .promote, .rollback])
        #expect(state.channel("production")?.version == "0.1.0" && state.channel("staging")?.version == "0.2.0")
        #expect(try other.registry.names() == ["taxi"])
        #expect(try other.registry.manifest("taxi", "0.2.0").version == "0.2.0")
        let verified = try other.verify(try other.resolve("taxi@production"))
        #expect(verified.identity == first.identity)
        let serving = try TemporaryDirectory("serving")
        let pushed = try Publisher(session: other).push("taxi@staging", to: serving.url)
        #expect(FileManager.default.fileExists(atPath: pushed.path.appendingPathComponent("model/model.json").path))
        // The production channel is the gate's baseline, from the bucket.
        let production = try #require(try session.productionBaseline())
        #expect(production.reason.hasPrefix("the production channel: taxi@0.1.0"))
    }

    /// Writes a small bundle of `name` at `version` (with `marker` in it, so each writer's
    /// model differs) and its manifest into `staging`; returns its identity.
    static func stage(_ name: String, _ version: String, marker: String, into staging: URL) throws -> String {
        let written = try BundleWriter().write(
            [.init("model/model.json", .data(Data("{\"marker\": \"\(marker)\"}".utf8)))],
            description: .init(
                name: name, version: version, time: 0,
                git: .init(commit: nil, branch: nil, remote: nil, dirty: false),
                data: .init(spans: [], sources: [], examples: nil), configSHA256: "", executions: [],
                gates: .init(
                    modelBlessed: true, infraBlessed: true, metrics: [:], baselineMetrics: nil, baseline: nil,
                    checks: []),
                externalParameters: [:], builder: CIBuilder(environment: [:])),
            to: staging.appendingPathComponent(RegistryLayout.bundleFileName(name, version)))
        try written.manifest.encoded().write(to: staging.appendingPathComponent(BundleManifest.fileName))
        return written.identity
    }

    /// One writer's release, as ``Publisher`` does it: choose the next version from the state,
    /// stage it, publish over that state; a lost race starts over, keeping its version unless
    /// another writer took it.
    static func release(_ registry: any Registry, marker: String) throws -> String {
        // The version sticks across tries unless another writer holds it: a writer keeps
        // the version it claimed (its own claim is not in `claimed`).
        var chosen: String?
        return try registry.transaction("taxi", timeout: 60) {
            let state = try registry.state("taxi")
            if chosen == nil || state.isTaken(chosen!) {
                chosen = state.latestTaken.map { $0.bumped(.patch).description } ?? "0.1.0"
            }
            let version = chosen!
            let staging = try registry.makeStaging("taxi")
            defer { try? FileManager.default.removeItem(at: staging) }
            let identity = try stage("taxi", version, marker: marker, into: staging)
            try registry.publish(
                staging: staging,
                event: LedgerEvent(
                    event: .release, time: Date(), actor: marker, name: "taxi", version: version, identity: identity,
                    channel: nil, previous: nil, reason: nil, evidence: nil),
                over: state)
            return version
        }
    }

    /// Eight writers at once, each its own registry client (as eight CI jobs are): eight
    /// versions, eight release events numbered 1 to 8, no version published twice; then
    /// eight promotions at once chain into one consistent channel history.
    @Test func eightWritersAtOnceGetEightVersionsAndAConsistentLedger() throws {
        let bucket = try S3TestBucket()
        let downloads = try TemporaryDirectory("downloads")
        let location = try RegistryLocation(configured: "", environment: bucket.environment(), root: downloads.url)
        @Sendable func open() throws -> any Registry {
            try location.open(environment: bucket.environment(), downloads: downloads.url)
        }
        let versions = try concurrently(8) { index in try Self.release(try open(), marker: "writer \(index)") }
        #expect(Set(versions).count == 8, "\(versions)")
        let registry = try open()
        let state = try registry.state("taxi")
        #expect(state.releases.count == 8 && state.revision == 8 && state.warnings.isEmpty)
        #expect(Set(state.releases.map(\.version)) == Set(versions) && Set(state.releases.map(\.actor)).count == 8)
        #expect(state.claimed.isEmpty)

        _ = try concurrently(8) { index in
            let registry = try open()
            return try registry.transaction("taxi", timeout: 60) { () throws -> String in
                let state = try registry.state("taxi")
                let version = state.releases[index].version
                try registry.move(
                    LedgerEvent(
                        event: .promote, time: Date(), actor: "promoter \(index)", name: "taxi", version: version,
                        identity: state.releases[index].identity, channel: "staging",
                        previous: state.channel("staging")?.version, reason: nil, evidence: nil),
                    over: state)
                return version
            }
        }
        let after = try registry.state("taxi")
        let promotions = after.events.filter { $0.event == .promote }
        #expect(promotions.count == 8 && after.revision == 16)
        // Each promotion names as previous the version the one before it put there.
        #expect(promotions.first?.previous == nil)
        for (earlier, later) in zip(promotions, promotions.dropFirst()) { #expect(later.previous == earlier.version) }
        #expect(after.channel("staging")?.version == promotions.last?.version)
    }

    /// A bundle whose bytes were changed in the bucket is refused on download, as on disk.
    @Test func aBundleTamperedWithInTheBucketIsRefused() throws {
        let bucket = try S3TestBucket()
        let downloads = try TemporaryDirectory("downloads")
        let location = try RegistryLocation(configured: "", environment: bucket.environment(), root: downloads.url)
        let registry = try location.open(environment: bucket.environment(), downloads: downloads.url)
        #expect(try Self.release(registry, marker: "original") == "0.1.0")
        let key = "models/taxi/versions/0.1.0/taxi-0.1.0.tar.zst"
        // A downloaded copy changed on disk is noticed (its SHA-256 against the bucket's) and
        // downloaded again.
        let first = try registry.bundleFile("taxi", "0.1.0")
        let original = try Data(contentsOf: first)
        try Data("damaged".utf8).write(to: first)
        #expect(try Data(contentsOf: registry.bundleFile("taxi", "0.1.0")) == original)
        let fresh = try TemporaryDirectory("fresh")
        let other = try TemporaryDirectory("other")
        let staged = try Self.stage("taxi", "0.1.0", marker: "swapped", into: other.url)
        try bucket.client.upload(
            file: other.url.appendingPathComponent("taxi-0.1.0.tar.zst"), bucket: bucket.name, key: key)
        let session = try ReleaseSession.open(root: fresh.url, repository: nil, environment: bucket.environment())
        let release = try session.resolve("taxi@0.1.0")
        #expect(release.identity != staged)
        // Exit 1, as for a bundle changed on disk: verification is a verdict.
        let error = try #require(throws: BundleError.self) { try session.verify(release) }
        #expect(ExitStatus(for: error) == .verdictFailed && error.message.contains("taxi-0.1.0.tar.zst"), "\(error)")
    }

    /// Wrong credentials, a missing bucket and an unknown profile are named with where the
    /// setting came from (never the secret), with exit 78, and nothing is written.
    @Test func badSettingsAreNamedAndWriteNothing() throws {
        let bucket = try S3TestBucket()
        let downloads = try TemporaryDirectory("downloads")
        let wrong = bucket.environment().merging(["AWS_SECRET_ACCESS_KEY": "wrong-secret-1234"]) { $1 }
        let location = try RegistryLocation(configured: "", environment: wrong, root: downloads.url)
        let registry = try location.open(environment: wrong, downloads: downloads.url)
        let refused = try #require(throws: ReleaseError.self) { try Self.release(registry, marker: "x") }
        #expect(ExitStatus(for: refused) == .configError)
        #expect(
            refused.message.contains(
                "the registry (MLOPS_REGISTRY = s3://\(bucket.name)/models): S3 refused s3://\(bucket.name)/models/taxi/ledger/ (SignatureDoesNotMatch) with the credentials from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
            ), "\(refused.message)")
        #expect(!refused.message.contains("wrong-secret-1234") && !refused.message.contains(bucket.server.secret))
        #expect(try bucket.keys().isEmpty)

        let missing = bucket.environment(registry: "s3://\(bucket.name)-absent/models")
        let absent = try RegistryLocation(configured: "", environment: missing, root: downloads.url)
        let noBucket = try #require(throws: ReleaseError.self) {
            try Self.release(try absent.open(environment: missing, downloads: downloads.url), marker: "x")
        }
        #expect(
            ExitStatus(for: noBucket) == .configError
                && noBucket.message.contains("the bucket '\(bucket.name)-absent' does not exist"))

        var noCredentials = bucket.environment()
        noCredentials["AWS_ACCESS_KEY_ID"] = nil
        noCredentials["AWS_PROFILE"] = "ci"
        let profile = try #require(throws: ReleaseError.self) {
            try location.open(environment: noCredentials, downloads: downloads.url)
        }
        #expect(
            ExitStatus(for: profile) == .configError
                && profile.message.contains("AWS_PROFILE: the profile 'ci' is in neither"))
    }
}
