import Foundation
import MLOpsCore
import S3Kit

/// Tuner trials computed by tasks of their own (`mlops component run Tuner --trial K`, the
/// fanned-out trials of an exported pipeline), kept by the Tuner's cache key: the Tuner that
/// gathers them reads each instead of training it again.
public protocol TrialResults: Sendable {
    /// Where they are, for messages.
    var location: String { get }
    /// Trial `number`'s result for the Tuner execution of cache key `key`; nil when not there.
    func load(key: String, trial number: Int) throws -> Data?
    func save(key: String, trial number: Int, data: Data) throws
}

/// Trials in this checkout's `.mlops/trials/KEY/K.json` (one machine; without a remote cache).
public struct LocalTrialResults: TrialResults {
    public let folder: URL

    public init(folder: URL) { self.folder = folder }

    public var location: String { folder.path }

    func file(_ key: String, _ number: Int) -> URL {
        folder.appendingPathComponent("\(key)/\(number).json")
    }

    public func load(key: String, trial number: Int) throws -> Data? {
        FileManager.default.contents(atPath: file(key, number).path)
    }

    public func save(key: String, trial number: Int, data: Data) throws {
        let url = file(key, number)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }
}

extension S3RemoteCache: TrialResults {
    /// `PREFIX/ab/KEY/trials/K.json`, beside the Tuner's record once it is pushed.
    func trialKey(_ key: String, _ number: Int) -> String { folder(key) + "/trials/\(number).json" }

    public func load(key: String, trial number: Int) throws -> Data? {
        do { return try client.get(bucket: root.bucket, key: trialKey(key, number)) } catch {
            if case .refused(code: "AccessDenied", _, _) = error.kind { return nil }
            throw failure(error)
        }
    }

    public func save(key: String, trial number: Int, data: Data) throws {
        do { _ = try client.put(bucket: root.bucket, key: trialKey(key, number), data: data) } catch {
            throw failure(error)
        }
    }
}
