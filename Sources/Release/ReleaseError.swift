import MLOpsCore

/// Why a release, promotion or registry operation could not be done.
public enum ReleaseError: MLOpsError {
    case invalidVersion(String)
    case invalidRegistry(String, reason: String)

    public var message: String {
        switch self {
        case .invalidVersion(let text):
            "'\(text)' is not a semantic version (MAJOR.MINOR.PATCH, optionally -PRERELEASE)"
        case .invalidRegistry(let text, let reason):
            "registry location '\(text)' is not usable: \(reason)"
        }
    }

    public var hint: String? {
        switch self {
        case .invalidVersion: "for example 1.4.0 or 2.0.0-rc.1"
        case .invalidRegistry: "use a directory path or a file:// URL, in release.registry or MLOPS_REGISTRY"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .invalidVersion: .usage
        case .invalidRegistry: .configError
        }
    }
}
