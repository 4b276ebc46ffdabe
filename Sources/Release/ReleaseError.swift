import MLOpsCore
import S3Kit

/// Why a release, promotion or registry operation could not be done.
public enum ReleaseError: MLOpsError, Equatable {
    case invalidVersion(String)
    case invalidRegistry(String, reason: String)
    case invalidReference(String)
    case badKey(String, reason: String)
    /// `mlops release` refuses: the gate did not bless the model, or the tree is dirty.
    case refused(String, hint: String)
    case versionExists(name: String, version: String)
    case notFound(String, available: [String])
    case unknownChannel(String, channels: [String])
    case promotionRefused(String)
    case nothingToRollBack(channel: String)
    /// Another process holds the registry's lock longer than the timeout.
    case locked(path: String, seconds: Double)
    case io(path: String, detail: String)
    case destinationExists(String)
    /// A conditional write lost to another writer (object storage): the transaction runs
    /// again; past its timeout, exit 75 (retry).
    case conflict(String)
    /// The object storage behind the registry failed; `setting` names where its location came from.
    case storage(S3Error, setting: String)

    public var message: String {
        switch self {
        case .invalidVersion(let text):
            "'\(text)' is not a semantic version (MAJOR.MINOR.PATCH, optionally -PRERELEASE)"
        case .invalidRegistry(let text, let reason):
            "registry location '\(text)' is not usable: \(reason)"
        case .invalidReference(let text):
            "'\(text)' is not NAME@VERSION, NAME@CHANNEL or a bundle file"
        case .badKey(let source, let reason):
            "signing key '\(source)': \(reason)"
        case .refused(let reason, _):
            "release refused: \(reason)"
        case .versionExists(let name, let version):
            "\(name)@\(version) is already in the registry; a version is published once"
        case .notFound(let what, let available):
            "\(what) is not in the registry"
                + (available.isEmpty ? "" : " (there: \(available.prefix(10).joined(separator: ", ")))")
        case .unknownChannel(let channel, let channels):
            "'\(channel)' is not a channel of release.channels (\(channels.joined(separator: ", ")))"
        case .promotionRefused(let reason):
            "promotion refused: \(reason)"
        case .nothingToRollBack(let channel):
            "channel '\(channel)' has no earlier version to roll back to"
        case .locked(let path, let seconds):
            "the registry is locked by another process (\(path)), still after \(Int(seconds)) s"
        case .io(let path, let detail):
            "registry file '\(path)': \(detail)"
        case .destinationExists(let path):
            "'\(path)' exists already; a pushed version is never overwritten"
        case .conflict(let what):
            "another job wrote to the registry first, again and again: \(what)"
        case .storage(let error, let setting):
            "the registry (\(setting)): \(error.message)"
        }
    }

    public var hint: String? {
        switch self {
        case .invalidVersion: "for example 1.4.0 or 2.0.0-rc.1"
        case .invalidRegistry:
            "use a directory path, a file:// URL or s3://BUCKET/PREFIX, in release.registry or MLOPS_REGISTRY"
        case .invalidReference: "for example taxi@1.0.2, taxi@production, or dist/taxi-1.0.2.tar.zst"
        case .badKey: "`mlops keygen` makes an Ed25519 key pair in PEM (PKCS #8 and SubjectPublicKeyInfo)"
        case .refused(_, let hint): hint
        case .versionExists: "leave out --version to take the next patch version, or use --bump"
        case .notFound: "`mlops releases list` shows what the registry holds"
        case .unknownChannel: "add it to release.channels in mlops.yaml"
        case .promotionRefused: nil
        case .nothingToRollBack: "`mlops releases history --channel CHANNEL` shows what it held"
        case .locked: "retry; MLOPS_LOCK_TIMEOUT sets how many seconds to wait (default 60)"
        case .io: "check the registry directory's permissions and free space"
        case .destinationExists: "push the next version, or remove that folder yourself"
        case .conflict: "retry; MLOPS_LOCK_TIMEOUT sets how many seconds to keep trying (default 60)"
        case .storage(let error, _): error.hint
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .invalidVersion, .invalidReference, .unknownChannel: .usage
        case .invalidRegistry, .badKey: .configError
        case .refused, .versionExists, .promotionRefused, .nothingToRollBack, .destinationExists: .verdictFailed
        case .notFound: .noInput
        case .locked, .conflict: .temporaryFailure
        case .io: .ioError
        case .storage(let error, _): error.exitStatus
        }
    }
}
