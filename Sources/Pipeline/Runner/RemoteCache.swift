import Foundation
import MLOpsCore
import Metadata
import S3Kit

/// What the remote cache holds for one cache key: the execution that made the outputs and,
/// per output, its type, fingerprint, properties and files (each with its SHA-256).
public struct RemoteCacheRecord: Sendable, Codable, Equatable {
    public struct File: Sendable, Codable, Equatable {
        public let path: String
        public let sha256: String
        public let size: Int64
    }

    public struct Output: Sendable, Codable, Equatable {
        public let type: String
        public let fingerprint: String
        public let properties: [String: String]
        public let files: [File]

        /// Whether the files listed make the fingerprint given (each digest well-formed).
        var listsItsFingerprint: Bool {
            let listed = files.compactMap { file in Hex.bytes(file.sha256).map { (file.path, $0) } }
            return listed.count == files.count && PipelineRunner.fingerprint(files: listed) == fingerprint
        }
    }

    public static let format = "mlops.remote-cache/v1"
    public let format: String
    public let cacheKey: String
    public let component: String
    public let version: String
    public let manifest: KeyManifest
    public let outputs: [String: Output]
    /// The folder of this push's files under the entry: each push writes its own, so two jobs
    /// pushing one key at once never overwrite the files the winning record names.
    public let push: String
    /// Where it was made: the commit, the execution in that job's store, the host, when.
    public let commit: String?
    public let execution: Int64
    public let host: String
    public let created: String

    enum CodingKeys: String, CodingKey {
        case format, cacheKey = "cache_key", component, version, manifest, outputs, push, commit, execution, host
        case created
    }
}

/// A cache of component outputs shared by every job that points at it (docs/pipeline.md,
/// "The remote cache"): looked up by cache key before a component runs, pushed after it ran.
public protocol RemoteCache: Sendable {
    /// Where it is, for messages (an `s3://` URL).
    var location: String { get }
    /// The record of `key`; nil when the cache does not hold it (or holds it only in part).
    func lookup(_ key: String) throws -> RemoteCacheRecord?
    /// Downloads one output of `record` into `folder` (created), every file checked against
    /// the record's SHA-256.
    func pull(_ record: RemoteCacheRecord, output: String, into folder: URL) throws
    /// Uploads the outputs' files, then the record last: a push cut off leaves the key absent.
    func push(_ record: RemoteCacheRecord, folders: [String: URL]) throws
    /// The folder of one output's files in `record`'s push (`s3://…/KEY/PUSH/OUTPUT/`), for
    /// orchestrators' artifact URIs.
    func outputURL(_ record: RemoteCacheRecord, output: String) -> String
}

/// Why the remote cache could not be used.
public struct RemoteCacheError: MLOpsError {
    public let location: String
    public let detail: String
    public let hint: String?
    public let exitStatus: ExitStatus

    public var message: String { "the remote cache (\(location)): \(detail)" }
}

/// The remote cache in S3-compatible object storage:
///
/// ```
/// PREFIX/ab/abcdef…/record.json          the record, written last (created once)
/// PREFIX/ab/abcdef…/PUSH/OUTPUT/FILE…    each output's files, in the folder of the push
/// ```
public struct S3RemoteCache: RemoteCache {
    public let client: S3Client
    public let root: S3Location
    /// Where the location came from (`cache.remote`, `MLOPS_CACHE`), for errors.
    public let setting: String

    public init(client: S3Client, root: S3Location, setting: String) {
        self.client = client
        self.root = root
        self.setting = setting
    }

    public var location: String { root.description }

    func folder(_ key: String) -> String { root.key("\(key.prefix(2))/\(key)") }

    public func outputURL(_ record: RemoteCacheRecord, output: String) -> String {
        "s3://\(root.bucket)/\(folder(record.cacheKey))/\(record.push)/\(output)/"
    }

    func failure(_ error: S3Error) -> RemoteCacheError {
        RemoteCacheError(
            location: "\(setting) = \(root)", detail: error.message, hint: error.hint, exitStatus: error.exitStatus)
    }

    public func lookup(_ key: String) throws -> RemoteCacheRecord? {
        let data: Data?
        do { data = try client.get(bucket: root.bucket, key: folder(key) + "/record.json") } catch {
            // Without s3:ListBucket, S3 answers a missing key 403 AccessDenied, not 404: a miss
            // for a role that may only read objects (a wrong key or secret is still exit 78).
            if case .refused(code: "AccessDenied", _, _) = error.kind { return nil }
            throw failure(error)
        }
        guard let data else { return nil }
        guard let record = try? JSONDecoder().decode(RemoteCacheRecord.self, from: data),
            record.format == RemoteCacheRecord.format, record.cacheKey == key, Self.isSegment(record.push)
        else {
            // Another version's format, or damaged: not a hit (this job runs and pushes nothing over it).
            return nil
        }
        return record
    }

    public func pull(_ record: RemoteCacheRecord, output: String, into destination: URL) throws {
        guard let entry = record.outputs[output] else {
            throw RemoteCacheError(
                location: location, detail: "the record of \(record.cacheKey) has no output '\(output)'", hint: nil,
                exitStatus: .dataError)
        }
        // The files the record lists must make the fingerprint it gives (checked before any download).
        guard entry.listsItsFingerprint else {
            throw RemoteCacheError(
                location: location,
                detail:
                    "the record of \(record.cacheKey) lists files that do not make output '\(output)''s fingerprint",
                hint: "the entry was changed in the bucket; it is not used", exitStatus: .dataError)
        }
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        for file in entry.files {
            guard !file.path.split(separator: "/").contains(".."), !file.path.hasPrefix("/") else {
                throw RemoteCacheError(
                    location: location, detail: "the record of \(record.cacheKey) names an unsafe path '\(file.path)'",
                    hint: nil, exitStatus: .dataError)
            }
            let target = destination.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let digest: [UInt8]?
            let key = folder(record.cacheKey) + "/\(record.push)/\(output)/\(file.path)"
            do { digest = try client.download(bucket: root.bucket, key: key, to: target) } catch {
                throw failure(error)
            }
            guard let digest else {
                throw RemoteCacheError(
                    location: location, detail: "s3://\(root.bucket)/\(key) is missing", hint: nil,
                    exitStatus: .ioError)
            }
            guard Hex.string(digest) == file.sha256 else {
                throw RemoteCacheError(
                    location: location,
                    detail:
                        "s3://\(root.bucket)/\(key) does not match its record (SHA-256 \(Hex.string(digest).prefix(16))…, "
                        + "recorded \(file.sha256.prefix(16))…)",
                    hint: "the entry was changed in the bucket; it is not used",
                    exitStatus: .dataError)
            }
        }
    }

    public func push(_ record: RemoteCacheRecord, folders: [String: URL]) throws {
        let base = folder(record.cacheKey)
        let files = "\(base)/\(record.push)"
        do {
            for (name, output) in record.outputs.sorted(by: { $0.key < $1.key }) {
                guard let source = folders[name] else { continue }
                for file in output.files {
                    try client.upload(
                        file: source.appendingPathComponent(file.path), bucket: root.bucket,
                        key: "\(files)/\(name)/\(file.path)")
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(record)
            // Created once: of two jobs pushing one key, the first record wins and names its own files.
            try client.put(bucket: root.bucket, key: "\(base)/record.json", data: data, ifAbsent: true)
        } catch let error as S3Error {
            throw failure(error)
        }
    }

    /// A push folder's name: one path segment of letters, digits and dashes.
    static func isSegment(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
