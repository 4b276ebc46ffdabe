import ArchiveKit
import Crypto
import Foundation
import MLOpsCore

/// Reads a bundle safely and verifies it: every entry is checked before a byte of it is
/// used, every file is hashed as it is read, and the manifest, provenance and signature must
/// agree with what was read.
///
/// Refused entries: absolute paths, empty, `.` or `..` components, backslashes or control
/// characters in a name, links (symbolic or hard), devices, FIFOs and sockets, an entry
/// whose header declares more than `Limits.maxEntryBytes`, more than `maxTotalBytes` in all,
/// more than `maxEntries` entries, and a path seen twice. Extraction goes through
/// libarchive's disk writer with its secure options (no symlink followed, no `..`, no
/// overwrite) into a fresh folder that replaces the destination only when everything
/// verified.
public enum BundleReader {
    public struct Limits: Sendable {
        public var maxEntryBytes: Int64 = 8 << 30
        public var maxTotalBytes: Int64 = 32 << 30
        public var maxEntries = 10_000
        public init() {}
    }

    /// What was read: each file's SHA-256 and size, and the small files verification needs.
    public struct Contents: Sendable {
        public var files: [String: (sha256: String, size: Int64)] = [:]
        public var manifestData: Data?
        public var provenanceData: Data?
        public var envelopeData: Data?
    }

    /// A bundle that verified.
    public struct Verified: Sendable {
        public let manifest: BundleManifest
        /// `sha256:` + the SHA-256 of manifest.json.
        public let identity: String
        /// What was found of the signature: verified (with the key id), absent or not checked.
        public let signature: SignatureCheck
        public let signed: Bool
        /// The id of the key whose signature verified, nil when none did.
        public var signedBy: String? { signature.keyID }
    }

    /// Why `path` (an entry name) is unsafe, or nil.
    public static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "the name is empty" }
        if path.hasPrefix("/") { return "an absolute path" }
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) {
            return "a control character or backslash in the name"
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains("..") { return "a '..' component leaves the destination" }
        if components.contains(where: { $0.isEmpty || $0 == "." }) { return "an empty or '.' component" }
        return nil
    }

    /// Reads every entry of `bundle`, hashing each file; with `destination`, also writes the
    /// files under it (a folder that must not exist yet; it is created).
    public static func read(_ bundle: URL, limits: Limits = Limits(), extractTo destination: URL? = nil)
        throws(BundleError) -> Contents
    {
        let name = bundle.path
        let reader: ArchiveReader
        do { reader = try ArchiveReader(path: name, policy: .bundle) } catch {
            throw BundleError(name, error, entry: nil)
        }
        defer { try? reader.close() }
        var disk: ArchiveDiskWriter?
        if let destination {
            do {
                try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: false)
                disk = try ArchiveDiskWriter()
            } catch {
                throw BundleError(name, .unreadable("cannot create '\(destination.path)': \(error)"))
            }
        }
        var contents = Contents()
        var total: Int64 = 0
        var count = 0
        var folders: Set<String> = []
        while true {
            let entry: ArchiveEntry?
            do { entry = try reader.next() } catch { throw BundleError(name, error, entry: nil) }
            guard let entry else { break }
            count += 1
            if count > limits.maxEntries { throw BundleError(name, .tooManyEntries(limit: limits.maxEntries)) }
            if let problem = pathProblem(entry.path) {
                throw BundleError(name, .unsafeEntry(entry: entry.path, reason: problem))
            }
            switch entry.kind {
            case .file: break
            case .directory:
                folders.insert(entry.path)
                continue
            case .symlink, .hardlink:
                throw BundleError(
                    name, .unsafeEntry(entry: entry.path, reason: "a link (to '\(entry.linkTarget ?? "")')"))
            default:
                throw BundleError(name, .unsafeEntry(entry: entry.path, reason: "a \(entry.kind.rawValue) entry"))
            }
            guard contents.files[entry.path] == nil, !folders.contains(entry.path) else {
                throw BundleError(name, .duplicateEntry(entry.path))
            }
            if entry.size > limits.maxEntryBytes || entry.size < 0 {
                throw BundleError(
                    name, .entryTooLarge(entry: entry.path, size: entry.size, limit: limits.maxEntryBytes))
            }
            total += entry.size
            if total > limits.maxTotalBytes { throw BundleError(name, .totalTooLarge(limit: limits.maxTotalBytes)) }
            var hasher = SHA256()
            var size: Int64 = 0
            let small = BundleWriter.reservedNames.contains(entry.path)
            var kept = Data()
            // The header's size is the most a file may hold: more is a lie and refused.
            let limit = min(entry.size, limits.maxEntryBytes)
            let sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void = { block in
                hasher.update(bufferPointer: block)
                size += Int64(block.count)
                if small { kept.append(contentsOf: block) }
            }
            do {
                if let disk, let destination {
                    let target = destination.appendingPathComponent(entry.path)
                    try FileManager.default.createDirectory(
                        at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try reader.extract(to: target.path, with: disk, limit: limit, sink)
                } else {
                    try reader.streamData(limit: limit, sink)
                }
            } catch let error as ArchiveError {
                throw BundleError(name, error, entry: entry.path)
            } catch {
                throw BundleError(name, .unreadable("cannot write '\(entry.path)': \(error)"))
            }
            contents.files[entry.path] = (Hex.string(hasher.finalize()), size)
            switch entry.path {
            case BundleManifest.fileName: contents.manifestData = kept
            case ProvenanceStatement.fileName: contents.provenanceData = kept
            case DSSEEnvelope.fileName: contents.envelopeData = kept
            default: break
            }
        }
        do { try reader.close() } catch { throw BundleError(name, error, entry: nil) }
        return contents
    }

    /// Checks what was read: the manifest lists exactly the files with their digests, the
    /// provenance's subjects are those files and the manifest, and the signature as `signatures`
    /// requires: a DSSE envelope carrying this very provenance signed by a trusted key (always
    /// checked when there is one and a trusted key; required when the policy says so).
    /// `expected`, the identity a registry recorded, must match too.
    public static func verify(
        _ contents: Contents, bundle: String, signatures: SignaturePolicy, expected: String? = nil
    ) throws(BundleError) -> Verified {
        let keys = signatures.keys
        guard let manifestData = contents.manifestData else { throw BundleError(bundle, .missingManifest) }
        let manifest: BundleManifest
        do { manifest = try BundleJSON.decode(BundleManifest.self, manifestData) } catch {
            throw BundleError(bundle, .badManifest("\(error)"))
        }
        guard manifest.schema == BundleManifest.schemaName else {
            throw BundleError(
                bundle, .badManifest("schema '\(manifest.schema)', expected \(BundleManifest.schemaName)"))
        }
        let identity = "sha256:" + Hex.string(SHA256.hash(data: manifestData))
        if let expected, expected != identity {
            throw BundleError(bundle, .identityMismatch(expected: expected, found: identity))
        }
        var listed: Set<String> = []
        for file in manifest.files {
            listed.insert(file.path)
            guard let found = contents.files[file.path] else { throw BundleError(bundle, .missingFile(file.path)) }
            guard found.sha256 == file.sha256, found.size == file.size else {
                throw BundleError(bundle, .fileMismatch(path: file.path, expected: file.sha256, found: found.sha256))
            }
        }
        for path in contents.files.keys.sorted()
        where !listed.contains(path) && !BundleWriter.reservedNames.contains(path) {
            throw BundleError(bundle, .unlistedFile(path))
        }
        // The provenance: its subjects are exactly the manifest and the files, by digest.
        guard let provenanceData = contents.provenanceData else {
            throw BundleError(bundle, .provenance("provenance.json is missing"))
        }
        let statement: ProvenanceStatement
        do { statement = try BundleJSON.decode(ProvenanceStatement.self, provenanceData) } catch {
            throw BundleError(bundle, .provenance("not an in-toto statement: \(error)"))
        }
        guard statement.type == ProvenanceStatement.statementType,
            statement.predicateType == ProvenanceStatement.predicateType
        else {
            throw BundleError(bundle, .provenance("not an in-toto v1 statement with an SLSA v1 predicate"))
        }
        var subjects: [String: String] = [:]
        for subject in statement.subject {
            subjects[subject.name ?? ""] = subject.digest["sha256"]
        }
        let expectedSubjects = Set(listed).union([BundleManifest.fileName])
        for path in expectedSubjects.sorted() {
            guard let digest = subjects[path] else {
                throw BundleError(bundle, .provenance("'\(path)' is not a subject"))
            }
            guard digest == contents.files[path]?.sha256 else {
                throw BundleError(bundle, .provenance("the subject '\(path)' has another SHA-256 than the file"))
            }
        }
        if let extra = Set(subjects.keys).subtracting(expectedSubjects).sorted().first {
            throw BundleError(bundle, .provenance("the subject '\(extra)' is not in the bundle"))
        }
        // The signature, as the policy requires.
        let check: SignatureCheck
        if let envelopeData = contents.envelopeData {
            let envelope: DSSEEnvelope
            do { envelope = try BundleJSON.decode(DSSEEnvelope.self, envelopeData) } catch {
                throw BundleError(bundle, .signatureInvalid("provenance.dsse.json is not a DSSE envelope"))
            }
            if !keys.isEmpty {
                guard let (payload, key) = envelope.verifiedPayload(keys: keys) else {
                    throw BundleError(
                        bundle,
                        .signatureInvalid(
                            "no signature by a trusted key (signed by \(envelope.signatures.map(\.keyid).joined(separator: ", ")))"
                        ))
                }
                guard payload == provenanceData else {
                    throw BundleError(bundle, .signatureInvalid("the signed statement is not provenance.json"))
                }
                check = .verified(keyID: SigningKeys.keyID(key))
            } else if signatures.required {
                throw BundleError(bundle, .signatureUntrusted(signatures.reason))
            } else {
                check = .unchecked
            }
        } else if signatures.required {
            throw BundleError(bundle, .signatureMissing(signatures.reason))
        } else {
            check = .absent
        }
        return Verified(
            manifest: manifest, identity: identity, signature: check, signed: contents.envelopeData != nil)
    }

    /// Reads and verifies `bundle`; with `destination`, extracts it there first into a staging
    /// folder beside it that takes its place only when the bundle verified.
    public static func open(
        _ bundle: URL, signatures: SignaturePolicy, expected: String? = nil, extractTo destination: URL? = nil,
        limits: Limits = Limits()
    ) throws -> Verified {
        guard let destination else {
            return try verify(
                read(bundle, limits: limits), bundle: bundle.path, signatures: signatures, expected: expected)
        }
        var verified: Verified?
        try StagedFolder.publish(destination) { staging in
            try FileManager.default.removeItem(at: staging)
            let contents = try read(bundle, limits: limits, extractTo: staging)
            verified = try verify(contents, bundle: bundle.path, signatures: signatures, expected: expected)
        }
        guard let verified else { throw InternalError("the bundle was extracted but not verified") }
        return verified
    }
}
