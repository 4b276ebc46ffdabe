import Foundation
import S3Kit

/// Where the release registry lives: a directory (a path or a `file://` URL), or S3-compatible
/// object storage (`s3://BUCKET/PREFIX`).
///
/// Resolution order: `MLOPS_REGISTRY` in the environment, then `release.registry` from
/// `mlops.yaml`. Relative paths are taken from the repository root.
public struct RegistryLocation: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case directory(URL)
        case s3(S3Location)
    }

    public let kind: Kind
    /// Where the setting came from, for messages ("MLOPS_REGISTRY", "release.registry").
    public let source: String

    public init(configured: String, environment: [String: String], root: URL) throws(ReleaseError) {
        if let override = environment["MLOPS_REGISTRY"], !override.isEmpty {
            kind = try Self.parse(override, root: root)
            source = "MLOPS_REGISTRY"
        } else {
            kind = try Self.parse(configured, root: root)
            source = "release.registry"
        }
    }

    /// The directory of a folder registry; nil for object storage.
    public var directory: URL? {
        if case .directory(let url) = kind { return url }
        return nil
    }

    static func parse(_ text: String, root: URL) throws(ReleaseError) -> Kind {
        if text.hasPrefix("s3://") {
            do { return .s3(try S3Location(parsing: text)) } catch {
                throw ReleaseError.invalidRegistry(text, reason: error.message)
            }
        }
        if text.contains("://") {
            guard text.hasPrefix("file://") else {
                throw ReleaseError.invalidRegistry(
                    text, reason: "only directories, file:// and s3:// URLs are supported")
            }
            guard let url = URL(string: text), url.isFileURL, !url.path.isEmpty else {
                throw ReleaseError.invalidRegistry(text, reason: "not a valid file:// URL")
            }
            guard url.host == nil || url.host == "" || url.host == "localhost" else {
                throw ReleaseError.invalidRegistry(text, reason: "file:// URLs on another host are not supported")
            }
            return .directory(url.standardizedFileURL)
        }
        guard !text.isEmpty else { throw ReleaseError.invalidRegistry(text, reason: "the location is empty") }
        if text.hasPrefix("/") { return .directory(URL(fileURLWithPath: text).standardizedFileURL) }
        return .directory(root.appendingPathComponent(text).standardizedFileURL)
    }

    /// The registry this location names. Object storage takes its credentials, region and
    /// endpoint from the AWS settings in `environment`, and downloads bundles into `downloads`.
    public func open(environment: [String: String], downloads: URL) throws(ReleaseError) -> any Registry {
        switch kind {
        case .directory(let url): return DirectoryRegistry(directory: url)
        case .s3(let location):
            do {
                return S3Registry(
                    client: try S3Settings.client(environment: environment), root: location, downloads: downloads,
                    setting: source)
            } catch { throw ReleaseError.storage(error, setting: "\(source) = \(location)") }
        }
    }

    public var description: String {
        switch kind {
        case .directory(let url): url.path
        case .s3(let location): location.description
        }
    }
}
