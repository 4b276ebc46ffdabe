import Foundation
import GitKit

@_exported import struct MLOpsCore.SplitMix64

/// A git repository built in place with libgit2, with a fixed identity and fixed commit
/// times, so the same steps give the same commit ids on any machine.
public final class TestRepository: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let repository: Repository
    private var tick: TimeInterval = 1_700_000_000

    public static let identity = "mlops-test"
    public static let email = "test@mlops.invalid"

    public init(branch: String = "main") throws {
        directory = try TemporaryDirectory("mlops-repo")
        repository = try Repository.create(at: directory.path, initialBranch: branch)
    }

    /// A fresh clone of `origin` (libgit2's `git_clone`), as a CI runner or an
    /// orchestrator's task checks the project out.
    public init(cloning origin: TestRepository) throws {
        directory = try TemporaryDirectory("mlops-clone")
        try FileManager.default.removeItem(at: directory.url)
        repository = try Repository.clone(from: origin.path, to: directory.path)
    }

    public var path: String { directory.path }

    /// Writes a file in the work tree (not staged).
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> URL {
        try directory.write(relative, text)
    }

    public func remove(_ relative: String) throws {
        try FileManager.default.removeItem(at: directory.appending(relative))
    }

    /// Stages everything and commits it; each commit is one minute after the previous one.
    @discardableResult
    public func commitAll(_ message: String) throws -> ObjectID {
        try repository.stageAll()
        tick += 60
        let signature = Signature(name: Self.identity, email: Self.email, time: Date(timeIntervalSince1970: tick))
        return try repository.commit(message: message, author: signature)
    }
}
