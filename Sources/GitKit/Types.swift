internal import CGit2
import Foundation

/// A git object id (SHA-1), as 40 lower-case hex digits.
public struct ObjectID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init?(hex: String) {
        guard hex.count == 40, hex.allSatisfy({ $0.isHexDigit }) else { return nil }
        self.hex = hex.lowercased()
    }

    init(_ oid: git_oid) {
        // Hex by hand: this runs once per index entry (tens of thousands per command).
        hex = withUnsafeBytes(of: oid.id) { raw in
            String(unsafeUninitializedCapacity: 40) { buffer in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for (index, byte) in raw.prefix(20).enumerated() {
                    buffer[index * 2] = table[Int(byte >> 4)]
                    buffer[index * 2 + 1] = table[Int(byte & 0x0F)]
                }
                return 40
            }
        }
    }

    var oid: git_oid {
        var oid = git_oid()
        _ = hex.withCString { git_oid_fromstr(&oid, $0) }
        return oid
    }

    /// The abbreviated form people read, 12 digits.
    public var short: String { String(hex.prefix(12)) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = ObjectID(hex: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a 40-digit object id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
    public var description: String { hex }
    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }
}

/// One changed path between two trees, or between a tree and the working directory.
public struct FileChange: Hashable, Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        case added, modified, deleted, renamed, copied, typeChanged = "type_changed", untracked, conflicted
    }

    public let status: Status
    /// The path after the change (for deletions: the deleted path).
    public let path: String
    /// For renames and copies: where the file came from.
    public let oldPath: String?
    /// The blob id on the new side when libgit2 knows it without hashing (zero for workdir files).
    public let newID: ObjectID?
    /// The path is a submodule (a gitlink), reported as one path and never descended into.
    public let isSubmodule: Bool

    public init(status: Status, path: String, oldPath: String? = nil, newID: ObjectID? = nil, isSubmodule: Bool = false)
    {
        self.status = status
        self.path = path
        self.oldPath = oldPath
        self.newID = newID
        self.isSubmodule = isSubmodule
    }
}

/// One entry of the index (the staging area): a tracked path and its blob id.
public struct IndexEntry: Hashable, Sendable {
    public let path: String
    public let id: ObjectID
    /// The file mode git records (0o100644, 0o100755, 0o120000 symlink, 0o160000 submodule).
    public let mode: UInt32
    /// The size recorded at the last stat, truncated to 32 bits by git's index format.
    public let recordedSize: UInt32

    public var isSubmodule: Bool { mode == 0o160000 }
}

/// An author or committer identity with a fixed time, so tests and init make the same commits.
public struct Signature: Sendable, Hashable {
    public var name: String
    public var email: String
    public var time: Date
    /// Offset from UTC in minutes.
    public var offsetMinutes: Int

    public init(name: String, email: String, time: Date, offsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }
}

/// What HEAD is: a branch (possibly with no commits yet) or a detached commit.
public enum Head: Hashable, Sendable {
    case branch(name: String, commit: ObjectID)
    case unborn(branch: String)
    case detached(commit: ObjectID)

    public var commit: ObjectID? {
        switch self {
        case .branch(_, let commit), .detached(let commit): commit
        case .unborn: nil
        }
    }

    public var branchName: String? {
        switch self {
        case .branch(let name, _), .unborn(let name): name
        case .detached: nil
        }
    }
}
