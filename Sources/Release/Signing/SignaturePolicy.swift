import Crypto
import Foundation
import Pipeline

/// Whether a bundle must be signed, and the keys a signature is checked with (docs/release.md,
/// "Signature policy"). A project that signs must verify: with `release.signing_key` or
/// `release.public_keys` set, a bundle without a signature that verifies with a trusted key is
/// refused, unless `release.require_signature: false` accepts unsigned bundles.
public struct SignaturePolicy: Sendable {
    /// The trusted keys: `release.public_keys`, `--key` files, and the public half of
    /// `release.signing_key` when that key can be read here.
    public var keys: [Curve25519.Signing.PublicKey]
    /// A signature that verifies with one of `keys` is required.
    public var required: Bool
    /// Why it is required or not, for messages: `release.signing_key is set`.
    public var reason: String

    public init(keys: [Curve25519.Signing.PublicKey], required: Bool, reason: String) {
        self.keys = keys
        self.required = required
        self.reason = reason
    }

    /// No project, no keys: nothing required (`mlops verify FILE` outside a project).
    public static let none = SignaturePolicy(keys: [], required: false, reason: "no signing key or public key is set")

    /// A signature by one of `keys` required; none when `keys` is empty.
    public static func requiring(_ keys: [Curve25519.Signing.PublicKey]) -> SignaturePolicy {
        keys.isEmpty ? .none : SignaturePolicy(keys: keys, required: true, reason: "keys were given")
    }

    /// The policy `release` sets, with `extraKeys` (`--key` files) trusted too.
    public static func configured(
        _ release: ReleaseSection?, extraKeys: [String], root: URL, environment: [String: String]
    ) throws -> SignaturePolicy {
        var keys: [Curve25519.Signing.PublicKey] = []
        for path in (release?.publicKeys ?? []) + extraKeys {
            keys.append(try SigningKeys.loadPublicKey(path, root: root))
        }
        // Our own key's public half is trusted when the key is here (a job without the secret
        // cannot derive it, and needs release.public_keys).
        if let setting = release?.signingKey,
            let key = try? SigningKeys.loadPrivateKey(setting, root: root, environment: environment),
            !keys.contains(where: { $0.rawRepresentation == key.publicKey.rawRepresentation })
        {
            keys.append(key.publicKey)
        }
        let reason: String
        let configured: Bool
        if release?.signingKey != nil {
            (configured, reason) = (true, "release.signing_key is set")
        } else if !(release?.publicKeys ?? []).isEmpty {
            (configured, reason) = (true, "release.public_keys is set")
        } else if !extraKeys.isEmpty {
            (configured, reason) = (true, "--key was given")
        } else {
            (configured, reason) = (false, "no signing key or public key is set")
        }
        if let explicit = release?.requireSignature {
            return SignaturePolicy(
                keys: keys, required: explicit,
                reason: explicit ? "release.require_signature is true" : "release.require_signature is false")
        }
        return SignaturePolicy(keys: keys, required: configured, reason: reason)
    }
}

/// What verification found of a bundle's signature, for the ledger and `--json`.
public enum SignatureCheck: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A signature verified with the trusted key of this id.
    case verified(keyID: String)
    /// No signature, and none required.
    case absent
    /// Signed, but no trusted key to check it with, and none required.
    case unchecked

    /// What a verification checked, by name, for the ledger and `verify --json`.
    public var checked: [String: String] {
        ["hashes": "verified", "provenance": "verified", "signature": description]
    }

    public var keyID: String? {
        if case .verified(let id) = self { return id }
        return nil
    }

    /// `verified with key 1a2b…`, `absent (not required)`, `not checked (no trusted key; not required)`.
    public var description: String {
        switch self {
        case .verified(let id): "verified with key \(id)"
        case .absent: "absent (not required)"
        case .unchecked: "not checked (no trusted key; not required)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text.hasPrefix("verified with key ") {
            self = .verified(keyID: String(text.dropFirst("verified with key ".count)))
        } else if text.hasPrefix("absent") {
            self = .absent
        } else {
            self = .unchecked
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
