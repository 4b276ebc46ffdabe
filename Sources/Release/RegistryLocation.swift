import Foundation

/// Where the release registry lives: a directory, given as a path or a `file://` URL.
///
/// Resolution order: `MLOPS_REGISTRY` in the environment, then `release.registry` from
/// `mlops.yaml`. Relative paths are taken from the repository root.
public struct RegistryLocation: Sendable, Hashable, CustomStringConvertible {
    public let directory: URL
    /// Where the setting came from, for messages ("MLOPS_REGISTRY", "release.registry").
    public let source: String

    public init(configured: String, environment: [String: String], root: URL) throws(ReleaseError) {
        if let override = environment["MLOPS_REGISTRY"], !override.isEmpty {
            directory = try Self.parse(override, root: root)
            source = "MLOPS_REGISTRY"
        } else {
            directory = try Self.parse(configured, root: root)
            source = "release.registry"
        }
    }

    static func parse(_ text: String, root: URL) throws(ReleaseError) -> URL {
        if text.contains("://") {
            guard text.hasPrefix("file://") else {
                throw ReleaseError.invalidRegistry(text, reason: "only directories and file:// URLs are supported")
            }
            guard let url = URL(string: text), url.isFileURL, !url.path.isEmpty else {
                throw ReleaseError.invalidRegistry(text, reason: "not a valid file:// URL")
            }
            guard url.host == nil || url.host == "" || url.host == "localhost" else {
                throw ReleaseError.invalidRegistry(text, reason: "file:// URLs on another host are not supported")
            }
            return url.standardizedFileURL
        }
        guard !text.isEmpty else { throw ReleaseError.invalidRegistry(text, reason: "the location is empty") }
        if text.hasPrefix("/") { return URL(fileURLWithPath: text).standardizedFileURL }
        return root.appendingPathComponent(text).standardizedFileURL
    }

    public var description: String { directory.path }
}
