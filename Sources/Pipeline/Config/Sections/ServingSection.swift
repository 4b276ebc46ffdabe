import Foundation
import MLOpsCore
import Yams

// The `serving` section of mlops.yaml (docs/config.md): how the model is served in production,
// which `mlops serve`, `mlops infer` and InfraValidator all read, so the infra gate tests
// exactly what will be served. Their `--out-of-domain` flag overrides it.

extension OutOfDomain: Codable {}

public struct ServingSection: ConfigSection {
    /// A value outside the schema's domain: `reject` (a 400, a bad row), `missing` or `keep`.
    public var outOfDomain: OutOfDomain

    public enum Key: String, ConfigKey { case outOfDomain = "out_of_domain" }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        outOfDomain = f.choice(.outOfDomain, default: .reject)
    }
}
