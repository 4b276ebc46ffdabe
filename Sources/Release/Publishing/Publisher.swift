import Crypto
import Foundation
import Gates
import MLOpsCore
import Pipeline

/// The release engineer's verbs on a registry: publish a gated model as a new version,
/// promote a version into a channel, roll a channel back, push a version to a serving
/// folder. Each verifies what it relies on and writes under the name's lock, so concurrent
/// CI jobs cannot tear a bundle or lose an event (docs/release.md).
public struct Publisher {
    public let session: ReleaseSession

    public init(session: ReleaseSession) { self.session = session }

    var registry: any Registry { session.registry }

    // MARK: - Release

    /// Which version a release takes.
    public enum VersionRequest: Sendable, Equatable {
        /// This one, which must not exist yet.
        case exact(SemanticVersion)
        /// The latest one bumped (the first release is 0.1.0).
        case bump(SemanticVersion.Bump)
    }

    /// A published version, or the one that already held this model.
    public struct Published: Sendable {
        public let name: String
        public let version: String
        public let bundle: String
        public let identity: String
        public let size: Int64
        public let signed: Bool
        public let manifest: BundleManifest
        /// The registry held this very model already (the same files, byte for byte: model,
        /// transform, evaluation, reports): nothing was written, `version` is that release.
        public let alreadyReleased: Bool
    }

    /// Refusals that need no gate: no project, a dirty tree (unless allowed); returns the
    /// bundle name and the signing key.
    public func prepare(allowDirty: Bool) throws -> (name: String, signingKey: Curve25519.Signing.PrivateKey?) {
        guard let config = session.config, let name = session.projectName else {
            throw FileError(.missing, path: "mlops.yaml", detail: "is needed to release")
        }
        let signingKey = try config.release.signingKey.map {
            try SigningKeys.loadPrivateKey($0, root: session.root, environment: session.environment)
        }
        // An unsigned release a required signature would refuse at every promote: refused now.
        if signingKey == nil, session.signatures.required {
            throw ReleaseError.refused(
                "a signature is required (\(session.signatures.reason)), and release.signing_key is not set to sign with",
                hint: "set release.signing_key (mlops keygen makes a key pair), or release.require_signature: false")
        }
        if let repository = session.repository, !allowDirty, try RepositorySnapshot(repository: repository).dirty {
            throw ReleaseError.refused(
                "the working tree has uncommitted changes, so the commit would not say what was built",
                hint: "commit them, or pass --allow-dirty (the manifest then records dirty: true)")
        }
        return (name, signingKey)
    }

    /// Publishes the model of a gate run as version `request` of `name`: refused (exit 1)
    /// unless both gates blessed it. The bundle is built outside the lock with the version
    /// free then, and built again under it in the rare case another job took that version.
    ///
    /// Idempotent: when a released version holds the same files (a CI job retried after its
    /// release succeeded), that version is the answer and nothing is written, unless
    /// `newVersion` asks for another version of the same model.
    public func release(
        _ run: GateRun, name: String, version request: VersionRequest, signingKey: Curve25519.Signing.PrivateKey?,
        reason: String?, newVersion: Bool = false
    ) throws -> Published {
        guard run.gate.blessed else {
            let failed = run.gate.checks.filter { $0.outcome == .failed }
            let first = failed.first.map { ": \($0.className) \($0.name)" } ?? ""
            throw ReleaseError.refused(
                "the gate did not bless the model (\(failed.count) check\(failed.count == 1 ? "" : "s") failed\(first))",
                hint: "see .mlops/reports/gate.md; `mlops gate` gives the same verdict")
        }
        let contents = try BundleContents(run: run, environment: session.environment)
        let writer = BundleWriter(
            compressionLevel: run.project.config.release.compressionLevel, signingKey: signingKey)
        func next(_ state: RegistryState) throws -> String {
            switch request {
            case .exact(let version):
                if state.isTaken(version.description) {
                    throw ReleaseError.versionExists(name: name, version: version.description)
                }
                return version.description
            case .bump(let part):
                guard let latest = state.latestTaken else { return "0.1.0" }
                return latest.bumped(part).description
            }
        }
        // An exact version that exists may be this very model (a retried job): the bundle is
        // built under that version first, and the version is refused only when it is not.
        let initial = try registry.state(name)
        var chosen: String
        if case .exact(let version) = request, !newVersion, initial.release(version.description) != nil {
            chosen = version.description
        } else {
            chosen = try next(initial)
        }
        var staging = try registry.makeStaging(name)
        // Whatever fails, the staged files go: nothing half-written is left beside the versions.
        defer { try? FileManager.default.removeItem(at: staging) }
        var written = try contents.write(writer, name: name, version: chosen, into: staging)
        /// The release that holds these files already, unless a new version is asked for.
        func existing(_ state: RegistryState) throws -> LedgerEvent? {
            guard !newVersion else { return nil }
            for release in state.releases.reversed()
            where try registry.manifest(name, release.version).files == written.manifest.files {
                return release
            }
            return nil
        }
        if let release = try existing(initial) { return try already(release) }
        /// What the lock decided: a new version written, or the release that already holds it.
        enum Outcome {
            case published(BundleWriter.Written)
            case held(LedgerEvent)
        }
        let outcome: Outcome = try registry.transaction(name, timeout: session.lockTimeout) {
            let state = try registry.state(name)
            // Another job may have released this model while the bundle was built.
            if let release = try existing(state) { return .held(release) }
            if state.isTaken(chosen) {
                try? FileManager.default.removeItem(at: staging)
                chosen = try next(state)
                staging = try registry.makeStaging(name)
                written = try contents.write(writer, name: name, version: chosen, into: staging)
            }
            let event = LedgerEvent(
                event: .release, time: Date(), actor: session.actor, name: name, version: chosen,
                identity: written.identity, channel: nil, previous: nil, reason: reason,
                evidence: LedgerEvent.Evidence(
                    manifest: written.manifest,
                    signature: signingKey.map { .verified(keyID: SigningKeys.keyID($0.publicKey)) } ?? .absent))
            try registry.publish(staging: staging, event: event, over: state)
            return .published(written)
        }
        switch outcome {
        case .held(let release):
            return try already(release)
        case .published(let published):
            return Published(
                name: name, version: chosen,
                bundle: registry.bundleAddress(name, chosen),
                identity: published.identity, size: published.size, signed: published.signed,
                manifest: published.manifest, alreadyReleased: false)
        }
    }

    /// The answer for a model the registry holds already: that release, its bundle verified.
    func already(_ release: LedgerEvent) throws -> Published {
        let verified = try session.verify(release)
        let file = try registry.bundleFile(release.name, release.version)
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int64 ?? 0
        return Published(
            name: release.name, version: release.version, bundle: registry.bundleAddress(release.name, release.version),
            identity: verified.identity,
            size: size, signed: verified.signed, manifest: verified.manifest, alreadyReleased: true)
    }

    // MARK: - Channels

    /// Points `channel` at the version `reference` names, after verifying the bundle, that
    /// both gates blessed it, and the channel order (a version enters a channel only after it
    /// was in the one before).
    public func promote(_ reference: String, to channel: String, reason: String?) throws -> LedgerEvent {
        let (name, selector) = try session.reference(reference)
        guard let position = session.channels.firstIndex(of: channel) else {
            throw ReleaseError.unknownChannel(channel, channels: session.channels)
        }
        return try registry.transaction(name, timeout: session.lockTimeout) { () throws -> LedgerEvent in
            let state = try registry.state(name)
            let release = try state.resolve(selector, channels: session.channels)
            let verified = try session.verify(release)
            let gates = verified.manifest.gates
            guard gates.passed else {
                let failed = gates.checks.filter { $0.outcome == .failed }.map { "\($0.className) \($0.name)" }
                throw ReleaseError.promotionRefused(
                    "\(name)@\(release.version) is not blessed (model \(gates.modelBlessed ? "blessed" : "NOT_BLESSED"), "
                        + "infra \(gates.infraBlessed ? "blessed" : "NOT_BLESSED")"
                        + (failed.isEmpty ? ")" : "; failed: \(failed.prefix(3).joined(separator: ", ")))"))
            }
            if position > 0 {
                let before = session.channels[position - 1]
                guard state.wasPromoted(release.version, to: before) else {
                    throw ReleaseError.promotionRefused(
                        "\(name)@\(release.version) was never in '\(before)', which comes before '\(channel)' in release.channels"
                    )
                }
            }
            let current = state.channel(channel)
            if current?.version == release.version {
                throw ReleaseError.promotionRefused("'\(channel)' already points at \(name)@\(release.version)")
            }
            let event = LedgerEvent(
                event: .promote, time: Date(), actor: session.actor, name: name, version: release.version,
                identity: verified.identity, channel: channel, previous: current?.version, reason: reason,
                evidence: LedgerEvent.Evidence(manifest: verified.manifest, signature: verified.signature)
            )
            try registry.move(event, over: state)
            return event
        }
    }

    /// Points `channel` (or `NAME@CHANNEL`) back at the version it held before its last
    /// promotion, after verifying that version's bundle.
    public func rollback(_ text: String, reason: String?) throws -> LedgerEvent {
        let (name, channel) = text.contains("@") ? try session.reference(text) : (session.projectName ?? "", text)
        guard !name.isEmpty else { throw ReleaseError.invalidReference(text) }
        guard session.channels.contains(channel) else {
            throw ReleaseError.unknownChannel(channel, channels: session.channels)
        }
        return try registry.transaction(name, timeout: session.lockTimeout) { () throws -> LedgerEvent in
            let state = try registry.state(name)
            let stack = state.channels()[channel] ?? []
            guard stack.count >= 2, let current = stack.last else {
                throw ReleaseError.nothingToRollBack(channel: channel)
            }
            let target = stack[stack.count - 2]
            guard let release = state.release(target.version) else {
                throw ReleaseError.notFound("\(name)@\(target.version)", available: [])
            }
            let verified = try session.verify(release)
            let event = LedgerEvent(
                event: .rollback, time: Date(), actor: session.actor, name: name, version: target.version,
                identity: verified.identity, channel: channel, previous: current.version, reason: reason,
                evidence: LedgerEvent.Evidence(manifest: verified.manifest, signature: verified.signature)
            )
            try registry.move(event, over: state)
            return event
        }
    }

    // MARK: - Push

    /// Unpacks the verified bundle `reference` names into `directory/NAME/VERSION/`: into a
    /// hidden folder beside it, renamed into place, so a watcher sees all of it or nothing.
    /// An existing version folder is never overwritten.
    public func push(_ reference: String, to directory: URL) throws -> (event: LedgerEvent, path: URL) {
        let release = try session.resolve(reference)
        let parent = directory.appendingPathComponent(release.name, isDirectory: true)
        let destination = parent.appendingPathComponent(release.version, isDirectory: true)
        guard !FileManager.default.fileExists(atPath: destination.path) else {
            throw ReleaseError.destinationExists(destination.path)
        }
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(
            ".\(release.version).push-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: staging)
        do {
            _ = try BundleReader.open(
                try registry.bundleFile(release.name, release.version), signatures: session.signatures,
                expected: release.identity, extractTo: staging)
            guard rename(staging.path, destination.path) == 0 else {
                throw ReleaseError.destinationExists(destination.path)
            }
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        return (release, destination)
    }
}
