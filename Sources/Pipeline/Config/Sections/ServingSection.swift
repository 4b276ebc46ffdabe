import Foundation
import MLOpsCore
import S3Kit
import Yams

// The `serving` section of mlops.yaml (docs/config.md): how the model is served in production,
// which `mlops serve`, `mlops infer` and InfraValidator all read, so the infra gate tests
// exactly what will be served. Their `--out-of-domain` flag overrides it.

extension OutOfDomain: Codable {}

public struct ServingSection: ConfigSection {
    /// A value outside the schema's domain: `reject` (a 400, a bad row), `missing` or `keep`.
    public var outOfDomain: OutOfDomain
    /// Where `mlops serve` logs the rows it predicts (docs/monitoring.md); nil: no log.
    public var log: PredictionLogSection?

    public enum Key: String, ConfigKey {
        case outOfDomain = "out_of_domain"
        case log
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        outOfDomain = f.choice(.outOfDomain, default: .reject)
        log = f.optionalSection(.log)
    }
}

/// `serving.log`: the prediction log's folder, sampling, columns left out and rotation.
public struct PredictionLogSection: ConfigSection {
    /// The folder, relative to the repository's root (or absolute).
    public var path: String
    /// The share of requests logged, 0…1.
    public var sample: Double
    /// Feature columns never written.
    public var exclude: [String]
    /// A file is published at this size (MiB)…
    public var rotateMB: Int
    /// …or this age (seconds).
    public var rotateSeconds: Int

    public enum Key: String, ConfigKey {
        case path, sample, exclude
        case rotateMB = "rotate_mb"
        case rotateSeconds = "rotate_seconds"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        path = f.string(.path, default: ".mlops/predictions")
        sample = f.double(.sample, default: 1, in: 0...1)
        exclude = f.strings(.exclude, default: [])
        rotateMB = f.int(.rotateMB, default: 64, in: 1...4096)
        rotateSeconds = f.int(.rotateSeconds, default: 3600, in: 1...86_400)
        if let node = f.value(.path), path.isEmpty {
            f.reader.report(node, f.keyPath(.path), "serving.log.path cannot be empty")
        }
        if let node = f.value(.path), path.lowercased().hasPrefix("s3://") {
            do {
                _ = try S3Location(parsing: path)
            } catch {
                f.reader.report(node, f.keyPath(.path), "serving.log.path: \(error.message)")
            }
        }
    }
}
