import Foundation
import MLOpsCore
import Yams

// The `infra` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum InfraMode: String, Sendable, Codable, CaseIterable {
    case loadOnly = "load_only"
    case loadAndQuery = "load_and_query"
}

public struct InfraSection: ConfigSection {
    public var enabled: Bool
    public var mode: InfraMode
    public var maxLoadingSeconds: Double
    public var numExamples: Int
    public var numTries: Int
    public var maxP99Milliseconds: Double
    /// Largest allowed difference between served and offline predictions.
    public var tolerance: Double

    public enum Key: String, ConfigKey {
        case enabled, mode, maxLoadingSeconds = "max_loading_seconds", numExamples = "num_examples"
        case numTries = "num_tries", maxP99Milliseconds = "max_p99_ms", tolerance
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        enabled = f.bool(.enabled, default: true)
        mode = f.choice(.mode, default: .loadAndQuery)
        maxLoadingSeconds = f.double(.maxLoadingSeconds, default: 30, in: 0.1...3600)
        numExamples = f.int(.numExamples, default: 100, in: 1...1_000_000)
        numTries = f.int(.numTries, default: 3, in: 1...100)
        maxP99Milliseconds = f.double(.maxP99Milliseconds, default: 50, in: 0.001...600_000)
        tolerance = f.double(.tolerance, default: 1e-6, in: 0...1)
    }
}
