import Crypto
import Foundation
import GitKit
import MLOpsCore
import Pipeline
import Release

/// What the registry commands (release, promote, rollback, releases, verify, push, serve
/// NAME@…) share: the registry, the channels, the keys that verify, who is acting.
struct RegistrySession {
    let registry: Registry
    let location: RegistryLocation
    let root: URL
    let config: MLOpsConfig?
    let repository: Repository?
    /// `release.channels`, in promotion order.
    let channels: [String]
    /// `release.public_keys` and `--key` files.
    let keys: [Curve25519.Signing.PublicKey]
    let lockTimeout: Double

    /// The project's registry, or `MLOPS_REGISTRY` alone outside a project.
    static func open(_ context: CommandContext, extraKeys: [String] = []) throws -> RegistrySession {
        let environment = ProcessInfo.processInfo.environment
        let repository = try? context.repository()
        let root = try context.projectRoot()
        let file = root.appendingPathComponent(MLOpsConfig.fileName)
        var config: MLOpsConfig?
        if FileManager.default.fileExists(atPath: file.path) {
            config = try MLOpsConfig.load(from: file, root: root)
        } else if (environment["MLOPS_REGISTRY"] ?? "").isEmpty {
            throw FileError(
                .missing, path: file.path, detail: "no mlops.yaml here to name the registry",
                hint: "run inside the project, or set MLOPS_REGISTRY to the registry directory")
        }
        let release = config?.release
        let location = try RegistryLocation(
            configured: release?.registry ?? ".mlops/registry", environment: environment, root: root)
        var keys: [Curve25519.Signing.PublicKey] = []
        for path in (release?.publicKeys ?? []) + extraKeys {
            keys.append(try SigningKeys.loadPublicKey(path, root: root))
        }
        return RegistrySession(
            registry: Registry(directory: location.directory), location: location, root: root, config: config,
            repository: repository, channels: release?.channels ?? ["staging", "production"], keys: keys,
            lockTimeout: environment["MLOPS_LOCK_TIMEOUT"].flatMap(Double.init) ?? 60)
    }

    /// The bundle name of this project (release.name, else the pipeline's name).
    var projectName: String? { config.map { $0.release.name ?? $0.pipeline.name } }

    /// Splits `NAME@SELECTOR`; a bare `@SELECTOR` or `SELECTOR` alone takes this project's name.
    func reference(_ text: String) throws -> (name: String, selector: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, !parts[1].isEmpty {
            if parts[0].isEmpty, let projectName { return (projectName, parts[1]) }
            if !parts[0].isEmpty { return (parts[0], parts[1]) }
        }
        throw ReleaseError.invalidReference(text)
    }

    /// Who acts, for the ledger: the CI user, else the git identity, else the login name.
    var actor: String {
        let environment = ProcessInfo.processInfo.environment
        if let user = environment["GITHUB_ACTOR"], !user.isEmpty { return "github:\(user)" }
        if let user = environment["GITLAB_USER_LOGIN"], !user.isEmpty { return "gitlab:\(user)" }
        if let name = try? repository?.configValue("user.name"), !name.isEmpty {
            let email = (try? repository?.configValue("user.email")).flatMap { $0 }
            return email.map { "\(name) <\($0)>" } ?? name
        }
        return environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
    }

    /// Verifies the bundle of a released version against its recorded identity and the keys.
    func verify(_ event: LedgerEvent) throws -> BundleReader.Verified {
        let bundle = registry.bundle(event.name, event.version)
        guard FileManager.default.fileExists(atPath: bundle.path) else {
            throw BundleError(bundle.path, .unreadable("the file is missing from the registry"))
        }
        return try BundleReader.open(bundle, keys: keys, expected: event.identity)
    }

    /// A released version's model folder, unpacked and verified once into the project's
    /// `.mlops/bundles/<identity>/` (or a temporary folder outside a project).
    func unpacked(_ event: LedgerEvent) throws -> URL {
        let base =
            config == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent("mlops-bundles")
            : root.appendingPathComponent(".mlops/bundles")
        let folder = base.appendingPathComponent(event.identity.replacingOccurrences(of: "sha256:", with: ""))
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent(BundleManifest.fileName).path) {
            _ = try BundleReader.open(
                registry.bundle(event.name, event.version), keys: keys, expected: event.identity, extractTo: folder)
        }
        return folder
    }
}
