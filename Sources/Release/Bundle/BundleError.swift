import ArchiveKit
import MLOpsCore

/// Why a bundle was refused: a hostile or damaged archive, or contents that do not match
/// their manifest, provenance or signature. Always names the bundle, and the entry or file.
/// A refused bundle is a failed verdict (exit 1): nothing from it is used.
public struct BundleError: MLOpsError, Equatable {
    public enum Problem: Sendable, Equatable {
        /// An entry the extractor will not write: absolute, `..`, a link, a device, a FIFO…
        case unsafeEntry(entry: String, reason: String)
        case entryTooLarge(entry: String, size: Int64, limit: Int64)
        case totalTooLarge(limit: Int64)
        case tooManyEntries(limit: Int)
        case duplicateEntry(String)
        /// libarchive could not read it: truncated, not a tar, corrupt compression.
        case unreadable(String)
        case missingManifest
        case badManifest(String)
        case missingFile(String)
        case unlistedFile(String)
        case fileMismatch(path: String, expected: String, found: String)
        case provenance(String)
        /// Unsigned, and a signature is required (why).
        case signatureMissing(String)
        case signatureInvalid(String)
        /// Signed, a signature is required (why), and there is no trusted key to check it with.
        case signatureUntrusted(String)
        case identityMismatch(expected: String, found: String)
    }

    public let bundle: String
    public let problem: Problem

    public init(_ bundle: String, _ problem: Problem) {
        self.bundle = bundle
        self.problem = problem
    }

    public var message: String {
        let detail: String =
            switch problem {
            case .unsafeEntry(let entry, let reason): "entry '\(entry)' is refused: \(reason)"
            case .entryTooLarge(let entry, let size, let limit):
                "entry '\(entry)' declares \(size) bytes, over the limit of \(limit)"
            case .totalTooLarge(let limit): "its entries add up to more than the limit of \(limit) bytes"
            case .tooManyEntries(let limit): "it has more than \(limit) entries"
            case .duplicateEntry(let entry): "entry '\(entry)' appears twice"
            case .unreadable(let detail): "it cannot be read as a tar archive: \(detail)"
            case .missingManifest: "it has no manifest.json"
            case .badManifest(let detail): "manifest.json is not a valid mlops manifest: \(detail)"
            case .missingFile(let path): "'\(path)' is listed in manifest.json but not in the bundle"
            case .unlistedFile(let path): "'\(path)' is in the bundle but not listed in manifest.json"
            case .fileMismatch(let path, let expected, let found):
                "'\(path)' does not match manifest.json: SHA-256 \(found), expected \(expected)"
            case .provenance(let detail): "provenance.json does not match the bundle: \(detail)"
            case .signatureMissing(let why):
                "it is not signed (no provenance.dsse.json), and a signature is required: \(why)"
            case .signatureUntrusted(let why):
                "a signature is required (\(why)), and there is no trusted key to check it with"
            case .signatureInvalid(let detail): "the signature does not verify: \(detail)"
            case .identityMismatch(let expected, let found):
                "its identity (SHA-256 of manifest.json) is \(found), but the registry recorded \(expected)"
            }
        return "bundle '\(bundle)': \(detail)"
    }

    public var hint: String? {
        switch problem {
        case .signatureMissing:
            "sign it (release.signing_key), or accept unsigned bundles explicitly with release.require_signature: false"
        case .signatureUntrusted:
            "add the signer's public key to release.public_keys (`mlops keygen` writes NAME.pub) or pass --key FILE"
        case .signatureInvalid:
            "a bundle signed with a key not in release.public_keys (or --key), or edited after signing, is refused"
        case .unreadable: "the file may be truncated; copy it again from the registry"
        default: "do not use this bundle; release again from a clean checkout, or restore it from the registry"
        }
    }

    public var exitStatus: ExitStatus { .verdictFailed }

    /// An archive error as a bundle problem: a size limit stays one, anything else is unreadable.
    init(_ bundle: String, _ error: ArchiveError, entry: String?) {
        if case .tooLarge(let limit) = error.code {
            self.init(bundle, .entryTooLarge(entry: entry ?? "?", size: limit + 1, limit: limit))
        } else if error.code == .refused {
            self.init(bundle, .unsafeEntry(entry: error.entry ?? entry ?? "?", reason: error.detail))
        } else {
            self.init(bundle, .unreadable(error.detail))
        }
    }
}
