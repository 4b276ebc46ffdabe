import Crypto
import Foundation
import Gates
import GitKit
import MLOpsCore
import Pipeline

/// What the registry commands (release, promote, rollback, releases, verify, push, serve
/// NAME@…) share: the registry, the channels, the keys that verify, who is acting.
public struct ReleaseSession {
    public let registry: any Registry
    public let location: RegistryLocation
    public let root: URL
    public let config: MLOpsConfig?
    public let repository: Repository?
    /// `release.channels`, in promotion order.
    public let channels: [String]
    /// Whether bundles must be signed, and the trusted keys (`release.public_keys`, `--key`
    /// files, the public half of `release.signing_key` when it is here).
    public let signatures: SignaturePolicy
    public var keys: [Curve25519.Signing.PublicKey] { signatures.keys }
    public let lockTimeout: Double
    let environment: [String: String]

    /// The registry of the project at `root` (its `mlops.yaml`, or `config` when the caller
    /// has loaded it already), or `MLOPS_REGISTRY` alone outside a project.
    public static func open(
        root: URL, repository: Repository?, environment: [String: String], extraKeys: [String] = [],
        config loaded: MLOpsConfig? = nil
    ) throws -> ReleaseSession {
        let file = root.appendingPathComponent(MLOpsConfig.fileName)
        var config = loaded
        if config == nil, FileManager.default.fileExists(atPath: file.path) {
            config = try MLOpsConfig.load(from: file, root: root)
        } else if config == nil, (environment["MLOPS_REGISTRY"] ?? "").isEmpty {
            throw FileError(
                .missing, path: file.path, detail: "no mlops.yaml here to name the registry",
                hint: "run inside the project, or set MLOPS_REGISTRY to the registry directory")
        }
        let release = config?.release
        let location = try RegistryLocation(
            configured: release?.registry ?? ".mlops/registry", environment: environment, root: root)
        let signatures = try SignaturePolicy.configured(
            release, extraKeys: extraKeys, root: root, environment: environment)
        // Outside a project, a folder of this process's own (a shared one in /tmp could be
        // prepared by another user).
        let downloads =
            config == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent(
                "mlops-downloads-\(UUID().uuidString.lowercased())", isDirectory: true)
            : root.appendingPathComponent(".mlops/downloads", isDirectory: true)
        return ReleaseSession(
            registry: try location.open(environment: environment, downloads: downloads), location: location, root: root,
            config: config, repository: repository, channels: release?.channels ?? ["staging", "production"],
            signatures: signatures, lockTimeout: environment["MLOPS_LOCK_TIMEOUT"].flatMap(Double.init) ?? 60,
            environment: environment)
    }

    /// The same session over another backend (a wrapper, or a test's stand-in).
    public func with(registry: any Registry) -> ReleaseSession {
        ReleaseSession(
            registry: registry, location: location, root: root, config: config, repository: repository,
            channels: channels, signatures: signatures, lockTimeout: lockTimeout, environment: environment)
    }

    /// The bundle name of this project (release.name, else the pipeline's name).
    public var projectName: String? { config.map { $0.release.name ?? $0.pipeline.name } }

    /// Splits `NAME@SELECTOR`; a bare `@SELECTOR` takes this project's name.
    public func reference(_ text: String) throws -> (name: String, selector: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, !parts[1].isEmpty {
            if parts[0].isEmpty, let projectName { return (projectName, parts[1]) }
            if !parts[0].isEmpty { return (parts[0], parts[1]) }
        }
        throw ReleaseError.invalidReference(text)
    }

    /// The released version `NAME@VERSION` or `NAME@CHANNEL` names.
    public func resolve(_ text: String) throws -> LedgerEvent {
        let (name, selector) = try reference(text)
        return try registry.resolve(name, selector, channels: channels)
    }

    /// Who acts, for the ledger: the CI user, else the git identity, else the login name.
    public var actor: String {
        if let user = environment["GITHUB_ACTOR"], !user.isEmpty { return "github:\(user)" }
        if let user = environment["GITLAB_USER_LOGIN"], !user.isEmpty { return "gitlab:\(user)" }
        if let name = try? repository?.configValue("user.name"), !name.isEmpty {
            let email = (try? repository?.configValue("user.email")).flatMap { $0 }
            return email.map { "\(name) <\($0)>" } ?? name
        }
        return environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    }

    /// Verifies the bundle of a released version against its recorded identity and the keys.
    public func verify(_ event: LedgerEvent) throws -> BundleReader.Verified {
        let bundle: URL
        do { bundle = try registry.bundleFile(event.name, event.version) } catch {
            throw BundleError(
                registry.bundleAddress(event.name, event.version),
                .unreadable("the file is missing from the registry"))
        }
        return try BundleReader.open(bundle, signatures: signatures, expected: event.identity)
    }

    /// A released version's folder, unpacked and verified once into the project's
    /// `.mlops/bundles/<identity>/` (or a temporary folder outside a project).
    public func unpacked(_ event: LedgerEvent) throws -> URL {
        let folder = Self.bundleFolder(root: config == nil ? nil : root, identity: event.identity)
        let bundle = try registry.bundleFile(event.name, event.version)
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(BundleManifest.fileName).path) {
            // Unpacked before: the bundle is verified again under today's policy (a signing key
            // configured since must not let an unsigned bundle through its old unpacking).
            _ = try BundleReader.open(bundle, signatures: signatures, expected: event.identity)
        } else {
            _ = try BundleReader.open(bundle, signatures: signatures, expected: event.identity, extractTo: folder)
        }
        return folder
    }

    /// Where a bundle of `identity` is unpacked: `.mlops/bundles/<identity>/` in a project,
    /// else a temporary folder (its parent is created).
    static func bundleFolder(root: URL?, identity: String) -> URL {
        let base =
            root?.appendingPathComponent(".mlops/bundles")
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("mlops-bundles")
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        return base.appendingPathComponent(identity.replacingOccurrences(of: "sha256:", with: ""))
    }

    /// A bundle file (e.g. a CI artifact), verified as `signatures` requires and unpacked once;
    /// returns its model folder and the name it was released as.
    public static func unpackedModel(bundle file: URL, root: URL?, signatures: SignaturePolicy) throws
        -> (folder: URL, name: String)
    {
        let verified = try BundleReader.open(file, signatures: signatures)
        let folder = bundleFolder(root: root, identity: verified.identity)
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(BundleManifest.fileName).path) {
            _ = try BundleReader.open(file, signatures: signatures, expected: verified.identity, extractTo: folder)
        }
        return (folder.appendingPathComponent("model", isDirectory: true), verified.manifest.name)
    }

    /// A model folder named on the command line: `NAME@CHANNEL` / `NAME@VERSION` (a released
    /// bundle, verified and unpacked), else nil for the caller to take as a path or `latest`.
    public func releasedModel(_ reference: String) throws -> URL {
        try unpacked(try resolve(reference)).appendingPathComponent("model", isDirectory: true)
    }
}

extension ReleaseSession: BaselineSource {
    /// The model the production channel (the last of release.channels) points at, verified
    /// and unpacked; nil when the channel is empty.
    public func productionBaseline() throws -> Baseline? {
        guard let name = projectName, let channel = channels.last else { return nil }
        let state = try registry.state(name)
        guard let pointer = state.channel(channel), let release = state.release(pointer.version) else { return nil }
        let unpacked = try unpacked(release)
        let manifest = try readArtifactJSON(
            BundleManifest.self, unpacked.appendingPathComponent(BundleManifest.fileName))
        let commit = manifest.git.commit.map { ", released from commit \($0.prefix(12))" } ?? ""
        // Identified by its model folder's content, as a Trainer artifact is, from the digests
        // the verified manifest lists (no file read again): the candidate itself is recognised.
        let model = manifest.files.compactMap { file -> (path: String, sha256: [UInt8])? in
            guard file.path.hasPrefix("model/"), let digest = Hex.bytes(file.sha256) else { return nil }
            return (String(file.path.dropFirst("model/".count)), digest)
        }
        return Baseline(
            folder: unpacked.appendingPathComponent("model", isDirectory: true).path,
            reason: "the \(channel) channel: \(name)@\(release.version)\(commit)",
            identity: PipelineRunner.fingerprint(files: model))
    }
}
