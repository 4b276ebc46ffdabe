import Crypto
import Foundation
import MLOpsCore

/// Ed25519 keys in the PEM files OpenSSL, cosign and most tools read: the private key as
/// PKCS #8 (`BEGIN PRIVATE KEY`), the public key as SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
/// A key's id is securesystemslib's (TUF, in-toto): the SHA-256, in hex, of the key's canonical
/// JSON `{"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}`, so DSSE
/// verifiers built on it match mlops's signatures to keys out of the box.
public enum SigningKeys {
    /// DER before the 32-byte seed: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING } }.
    static let privatePrefix: [UInt8] = [
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    /// DER before the 32-byte key: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }.
    static let publicPrefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// Writes a new key pair as `prefix.key` (mode 0600, created exclusively) and `prefix.pub`;
    /// refuses to overwrite either. Returns the paths and the key id.
    public static func writePair(prefix: String) throws -> (privateKey: URL, publicKey: URL, keyID: String) {
        let key = generate()
        let privateURL = URL(fileURLWithPath: prefix + ".key")
        let publicURL = URL(fileURLWithPath: prefix + ".pub")
        for url in [privateURL, publicURL] where FileManager.default.fileExists(atPath: url.path) {
            throw ReleaseError.destinationExists(url.path)
        }
        let descriptor = open(privateURL.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileError(.notWritable, path: privateURL.path, detail: String(cString: strerror(errno)))
        }
        let text = Array(pem(key).utf8)
        let written = text.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
        guard written == text.count else {
            unlink(privateURL.path)
            throw FileError(.io, path: privateURL.path, detail: "the key could not be written")
        }
        try AtomicFile.write(Data(pem(key.publicKey).utf8), to: publicURL)
        return (privateURL, publicURL, keyID(key.publicKey))
    }

    public static func generate() -> Curve25519.Signing.PrivateKey { Curve25519.Signing.PrivateKey() }

    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        pem(label: "PRIVATE KEY", der: privatePrefix + Array(key.rawRepresentation))
    }

    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        pem(label: "PUBLIC KEY", der: publicPrefix + Array(key.rawRepresentation))
    }

    public static func keyID(_ key: Curve25519.Signing.PublicKey) -> String {
        let canonical =
            #"{"keytype":"ed25519","keyval":{"public":""# + Hex.string(key.rawRepresentation)
            + #""},"scheme":"ed25519"}"#
        return Hex.string(SHA256.hash(data: Data(canonical.utf8)))
    }

    /// A private key from PEM text; `source` names it in errors (a file, or `env:NAME`).
    public static func privateKey(pem text: String, source: String) throws(ReleaseError)
        -> Curve25519.Signing.PrivateKey
    {
        let raw = try der(text, label: "PRIVATE KEY", prefix: privatePrefix, source: source)
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ReleaseError.badKey(source, reason: "not an Ed25519 private key")
        }
        return key
    }

    public static func publicKey(pem text: String, source: String) throws(ReleaseError) -> Curve25519.Signing.PublicKey
    {
        let raw = try der(text, label: "PUBLIC KEY", prefix: publicPrefix, source: source)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw ReleaseError.badKey(source, reason: "not an Ed25519 public key")
        }
        return key
    }

    /// The private key `setting` names: `env:VARIABLE` (the PEM text in that variable) or a
    /// file (relative to `root`).
    public static func loadPrivateKey(_ setting: String, root: URL, environment: [String: String]) throws(ReleaseError)
        -> Curve25519.Signing.PrivateKey
    {
        if setting.hasPrefix("env:") {
            let name = String(setting.dropFirst(4))
            guard let text = environment[name], !text.isEmpty else {
                throw ReleaseError.badKey(setting, reason: "the environment variable \(name) is not set")
            }
            return try privateKey(pem: text, source: setting)
        }
        return try privateKey(pem: try read(setting, root: root), source: setting)
    }

    public static func loadPublicKey(_ path: String, root: URL) throws(ReleaseError) -> Curve25519.Signing.PublicKey {
        try publicKey(pem: try read(path, root: root), source: path)
    }

    static func read(_ path: String, root: URL) throws(ReleaseError) -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReleaseError.badKey(path, reason: "the file cannot be read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func pem(label: String, der: [UInt8]) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(body)\n-----END \(label)-----\n"
    }

    static func der(_ text: String, label: String, prefix: [UInt8], source: String) throws(ReleaseError) -> Data {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex)
        else {
            throw ReleaseError.badKey(source, reason: "no '\(begin)' block")
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(body)), der.count == prefix.count + 32,
            Array(der.prefix(prefix.count)) == prefix
        else {
            throw ReleaseError.badKey(source, reason: "the \(label.lowercased()) is not an Ed25519 key in PEM")
        }
        return der.suffix(32)
    }
}
