import Foundation
import MLOpsCore
import Yams

// The `release` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public struct ReleaseSection: ConfigSection {
    /// Bundle name; nil means the pipeline name.
    public var name: String?
    /// A directory path, file:// URL or s3://BUCKET/PREFIX (MLOPS_REGISTRY overrides).
    public var registry: String
    /// Channels in promotion order.
    public var channels: [String]
    /// An Ed25519 private key: a file path, or `env:VARIABLE`.
    public var signingKey: String?
    /// Public keys (files) that verification accepts.
    public var publicKeys: [String]
    /// Whether a bundle must carry a signature that verifies: by default, when a signing key or
    /// public keys are set; `false` accepts unsigned bundles explicitly.
    public var requireSignature: Bool?
    public var compressionLevel: Int

    public enum Key: String, ConfigKey {
        case name, registry, channels, signingKey = "signing_key", publicKeys = "public_keys"
        case requireSignature = "require_signature", compressionLevel = "compression_level"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        name = f.string(.name)
        if let name, !PipelineSection.isValidName(name), let node = f.value(.name) {
            f.reader.report(
                node, f.keyPath(.name),
                "'release.name' must be lower-case letters, digits, '.', '_' or '-', found '\(name)'")
        }
        registry = f.string(.registry, default: ".mlops/registry")
        channels = f.strings(.channels, default: ["staging", "production"])
        if f.has(.channels), channels.isEmpty {
            f.reader.report(
                f.value(.channels), f.keyPath(.channels), "'release.channels' must name at least one channel")
        }
        if Set(channels).count != channels.count {
            f.reader.report(f.value(.channels), f.keyPath(.channels), "'release.channels' lists a channel twice")
        }
        for channel in channels where !PipelineSection.isValidName(channel) {
            f.reader.report(
                f.value(.channels), f.keyPath(.channels),
                "channel name '\(channel)' must be lower-case letters, digits, '.', '_' or '-'")
        }
        signingKey = f.string(.signingKey)
        publicKeys = f.strings(.publicKeys, default: [])
        requireSignature = f.has(.requireSignature) ? f.bool(.requireSignature, default: true) : nil
        // zstd's default level; 19 compresses a 190 MB model 160 times slower for 17% less (bench/release).
        compressionLevel = f.int(.compressionLevel, default: 3, in: 1...22)
    }
}
