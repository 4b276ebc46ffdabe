import ArchiveKit
import Crypto
import Foundation
import MLOpsCore

/// Writes a release bundle: a pax tar compressed with zstd, byte-for-byte reproducible.
///
/// Entries are sorted by path, with a fixed time (the commit's), owner `root:root`, uid and
/// gid 0 and mode 0644; the zstd level is fixed. The bundle holds the given files,
/// `manifest.json` (listing them with SHA-256 and size), `provenance.json` (an in-toto
/// statement whose subjects are the files and the manifest) and, with a signing key,
/// `provenance.dsse.json`.
public struct BundleWriter {
    /// One file to put in the bundle, from memory or from disk.
    public struct Entry: Sendable {
        public enum Source: Sendable {
            case data(Data)
            case file(URL)
        }
        public let path: String
        public let source: Source

        public init(_ path: String, _ source: Source) {
            self.path = path
            self.source = source
        }
    }

    /// What the bundle holds besides its files: the manifest's other fields and the
    /// provenance's parameters.
    public struct Description {
        public var name: String
        public var version: String
        /// Seconds since 1970: the entries' time and the manifest's `created`.
        public var time: Int64
        public var git: BundleManifest.Git
        public var data: BundleManifest.DataSection
        public var configSHA256: String
        public var executions: [BundleManifest.Execution]
        public var gates: BundleManifest.GateVerdicts
        public var externalParameters: [String: JSONTree]
        public var builder: CIBuilder

        public init(
            name: String, version: String, time: Int64, git: BundleManifest.Git, data: BundleManifest.DataSection,
            configSHA256: String, executions: [BundleManifest.Execution], gates: BundleManifest.GateVerdicts,
            externalParameters: [String: JSONTree], builder: CIBuilder
        ) {
            self.name = name
            self.version = version
            self.time = time
            self.git = git
            self.data = data
            self.configSHA256 = configSHA256
            self.executions = executions
            self.gates = gates
            self.externalParameters = externalParameters
            self.builder = builder
        }
    }

    /// What was written.
    public struct Written: Sendable {
        public let manifest: BundleManifest
        /// `sha256:` + the SHA-256 of manifest.json.
        public let identity: String
        public let size: Int64
        public let signed: Bool
    }

    public static let reservedNames: Set<String> = [
        BundleManifest.fileName, ProvenanceStatement.fileName, DSSEEnvelope.fileName,
    ]

    /// zstd's own default: level 19 took 326 s on a 190 MB model.json here, level 3 took 2 s
    /// for a bundle 21% larger (bench/RESULTS.md).
    public static let defaultCompressionLevel = 3

    public var compressionLevel: Int
    public var signingKey: Curve25519.Signing.PrivateKey?

    public init(compressionLevel: Int = defaultCompressionLevel, signingKey: Curve25519.Signing.PrivateKey? = nil) {
        self.compressionLevel = compressionLevel
        self.signingKey = signingKey
    }

    /// Writes the bundle to `output` (a new file; the caller publishes it).
    public func write(_ entries: [Entry], description: Description, to output: URL) throws -> Written {
        for entry in entries {
            guard let problem = BundleReader.pathProblem(entry.path) ?? reserved(entry.path) else { continue }
            throw InternalError("bundle entry '\(entry.path)': \(problem)")
        }
        let sorted = entries.sorted { $0.path < $1.path }
        var files: [BundleManifest.File] = []
        for entry in sorted {
            let (digest, size) = try Self.digest(entry.source)
            files.append(BundleManifest.File(path: entry.path, sha256: digest, size: size))
        }
        let manifest = BundleManifest(
            name: description.name, version: description.version, created: Self.iso8601(description.time),
            tool: "mlops \(MLOpsVersion.current)", files: files, git: description.git, data: description.data,
            configSHA256: description.configSHA256, executions: description.executions, gates: description.gates)
        let manifestData = try manifest.encoded()
        let identity = "sha256:" + Hex.string(SHA256.hash(data: manifestData))
        var subjects = [
            ProvenanceStatement.ResourceDescriptor(
                name: BundleManifest.fileName, digest: ["sha256": Hex.string(SHA256.hash(data: manifestData))])
        ]
        subjects += files.map { ProvenanceStatement.ResourceDescriptor(name: $0.path, digest: ["sha256": $0.sha256]) }
        subjects.sort { ($0.name ?? "") < ($1.name ?? "") }
        var dependencies: [ProvenanceStatement.ResourceDescriptor] = []
        if let commit = description.git.commit {
            let uri = description.git.remote.map { remote in
                "git+\(remote)" + (description.git.branch.map { "@refs/heads/\($0)" } ?? "")
            }
            dependencies.append(
                .init(
                    uri: uri, name: uri == nil ? "git" : nil, digest: ["gitCommit": commit],
                    annotations: description.git.dirty ? ["dirty": .bool(true)] : nil))
        }
        for source in description.data.sources {
            dependencies.append(
                .init(
                    name: source.path, digest: Self.digestSet(source.fingerprint),
                    annotations: source.span.map { ["span": .number(Double($0))] }))
        }
        let statement = ProvenanceStatement(
            subjects: subjects, externalParameters: description.externalParameters, dependencies: dependencies,
            builder: description.builder)
        let statementData = try statement.encoded()
        var generated: [(String, Data)] = [
            (BundleManifest.fileName, manifestData), (ProvenanceStatement.fileName, statementData),
        ]
        if let signingKey {
            generated.append((DSSEEnvelope.fileName, try DSSEEnvelope.sign(statementData, with: signingKey).encoded()))
        }
        var all: [(path: String, source: Entry.Source)] = sorted.map { ($0.path, $0.source) }
        all += generated.map { ($0.0, .data($0.1)) }
        all.sort { $0.path < $1.path }
        var metadata = EntryMetadata()
        metadata.modificationTime = description.time
        let writer = try ArchiveWriter(
            path: output.path, compression: .zstd(level: compressionLevel), metadata: metadata)
        for entry in all {
            switch entry.source {
            case .data(let data): try writer.addFile(entry.path, data: data)
            case .file(let url): try writer.addFile(entry.path, contentsOf: url)
            }
        }
        try writer.finish()
        let size = (try FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.int64Value ?? 0
        return Written(manifest: manifest, identity: identity, size: size, signed: signingKey != nil)
    }

    func reserved(_ path: String) -> String? {
        Self.reservedNames.contains(path) ? "is a name the bundle writes itself" : nil
    }

    /// SHA-256 (hex) and size of an entry's content, streamed for files.
    static func digest(_ source: Entry.Source) throws -> (String, Int64) {
        switch source {
        case .data(let data):
            return (Hex.string(SHA256.hash(data: data)), Int64(data.count))
        case .file(let url):
            let handle: FileHandle
            do { handle = try FileHandle(forReadingFrom: url) } catch {
                throw FileError(.missing, path: url.path, detail: "cannot be read for the bundle")
            }
            defer { try? handle.close() }
            var hasher = SHA256()
            var size: Int64 = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                size += Int64(chunk.count)
            }
            return (Hex.string(hasher.finalize()), size)
        }
    }

    /// An mlops fingerprint as an in-toto digest set: `git:` → gitBlob, `sha256:` → sha256.
    static func digestSet(_ fingerprint: String) -> [String: String] {
        if fingerprint.hasPrefix("git:") { return ["gitBlob": String(fingerprint.dropFirst(4))] }
        if fingerprint.hasPrefix("sha256:") { return ["sha256": String(fingerprint.dropFirst(7))] }
        if fingerprint.hasPrefix("lfs:") { return ["sha256": String(fingerprint.dropFirst(4))] }
        return ["mlops": fingerprint]
    }

    public static func iso8601(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
