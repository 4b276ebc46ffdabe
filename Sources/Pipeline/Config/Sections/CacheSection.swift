import Foundation
import MLOpsCore
import Metadata
import S3Kit
import Yams

// The `cache` section of mlops.yaml (docs/pipeline.md, "The remote cache"): where the
// component outputs other jobs computed are found and this job's are pushed. MLOPS_CACHE
// overrides it (empty: no remote cache); `--no-remote-cache` skips it for one command.

public struct CacheSection: ConfigSection {
    /// `s3://BUCKET/PREFIX`, or nil for no remote cache (the default).
    public var remote: String?

    public enum Key: String, ConfigKey { case remote }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        remote = f.string(.remote)
        if let remote, let node = f.value(.remote) {
            do { _ = try S3Location(parsing: remote) } catch {
                f.reader.report(
                    node, f.keyPath(.remote), "cache.remote: \(error.message)",
                    hint: "write it as s3://BUCKET/PREFIX, or leave it out")
            }
        }
    }
}

/// The `store` value: the metadata store's `postgresql://` URI or SQLite path. Written back
/// (`mlops config check`, also `--json`) with any password shown as `***`.
public struct StoreSetting: Encodable, Sendable, Hashable {
    public let value: String

    public init(_ value: String) { self.value = value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(PostgresAddress.redacting(value))
    }
}
