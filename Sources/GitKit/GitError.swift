internal import CGit2
import Foundation
import MLOpsCore

/// A libgit2 failure: the C function, libgit2's own message, and the object involved.
public struct GitError: MLOpsError {
    public enum Code: Sendable, Equatable {
        /// No repository at or above the path (`GIT_ENOTFOUND` from open/discover).
        case notARepository
        /// The object, reference or path does not exist.
        case notFound
        /// HEAD points at a branch with no commits yet.
        case unbornBranch
        /// The repository is owned by another user (libgit2's `safe.directory` check).
        case unsafeOwnership
        /// Anything else libgit2 reported, with its numeric code.
        case other(Int32)
    }

    public let code: Code
    /// The libgit2 entry point that failed, e.g. `git_repository_open_ext`.
    public let function: String
    /// libgit2's message (`git_error_last`), or a description of ours.
    public let detail: String
    /// The path, ref or revision the call was about.
    public let object: String

    public init(code: Code, function: String, detail: String, object: String) {
        self.code = code
        self.function = function
        self.detail = detail
        self.object = object
    }

    public var message: String {
        switch code {
        case .notARepository:
            return "'\(object)' is not inside a git repository"
        case .unsafeOwnership:
            return "the git repository at '\(object)' is owned by another user (\(detail))"
        default:
            return "git: \(function) failed for '\(object)': \(detail)"
        }
    }

    public var hint: String? {
        switch code {
        case .notARepository:
            return "run mlops inside a git repository, pass --repo PATH, or create one with `mlops init`"
        case .unsafeOwnership:
            return "if you trust it, mark it safe: `git config --global --add safe.directory '\(object)'`"
                + " (CI containers often check out as another user)"
        case .unbornBranch:
            return "the repository has no commits yet; commit something first"
        default:
            return nil
        }
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .notARepository, .notFound, .unbornBranch: .noInput
        case .unsafeOwnership, .other: .ioError
        }
    }
}

/// The one place a libgit2 return code becomes a Swift error. Reads `git_error_last()` at once,
/// before any other libgit2 call can overwrite it.
@discardableResult
func check(_ rc: Int32, _ function: StaticString, object: String) throws(GitError) -> Int32 {
    guard rc < 0 else { return rc }
    var detail = "error \(rc)"
    if let last = git_error_last(), let text = last.pointee.message {
        detail = String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)
    }
    let code: GitError.Code
    if rc == GIT_EOWNER.rawValue || detail.contains("safe.directory") || detail.contains("not owned by current user") {
        code = .unsafeOwnership
    } else {
        switch rc {
        case GIT_ENOTFOUND.rawValue: code = .notFound
        case GIT_EUNBORNBRANCH.rawValue: code = .unbornBranch
        default: code = .other(rc)
        }
    }
    throw GitError(code: code, function: "\(function)", detail: detail, object: object)
}

/// A C string from libgit2 as a Swift string; invalid UTF-8 (odd file names) is repaired, never trapped on.
func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
}
