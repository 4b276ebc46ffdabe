internal import CGit2
import Foundation

/// A git object id (SHA-1). Kept as its 20 bytes (tens of thousands are made per command,
/// one per index entry); ``hex`` spells it as 40 lower-case hex digits.
public struct ObjectID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    // The 20 bytes, big-endian in three words, so equality, hashing and ordering are the bytes'.
    private let high: UInt64
    private let middle: UInt64
    private let low: UInt32

    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 20)
        for index in 0..<20 {
            guard let upper = Self.value(of: digits[index * 2]), let lower = Self.value(of: digits[index * 2 + 1])
            else {
                return nil
            }
            bytes[index] = upper << 4 | lower
        }
        self = bytes.withUnsafeBytes { ObjectID(bytes: $0) }
    }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// From 20 raw bytes (big-endian words, as git writes them).
    init(bytes raw: UnsafeRawBufferPointer) {
        func load(_ offset: Int, _ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in offset..<(offset + count) { value = value << 8 | UInt64(raw[index]) }
            return value
        }
        high = load(0, 8)
        middle = load(8, 8)
        low = UInt32(truncatingIfNeeded: load(16, 4))
    }

    init(_ oid: git_oid) {
        self = withUnsafeBytes(of: oid.id) { ObjectID(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(20))) }
    }

    /// The 20 bytes, in order.
    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: middle >> (56 - 8 * $0)) }
            + (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * $0)) }
    }

    public var hex: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(40)
        appendHex(to: &digits)
        return String(decoding: digits, as: UTF8.self)
    }

    /// The all-zero id libgit2 uses for "not computed".
    public var isZero: Bool { high == 0 && middle == 0 && low == 0 }

    /// Writes the 40 hex digits into `buffer` (for callers that build text without a String).
    public func appendHex(to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            let table: StaticString = "0123456789abcdef"
            let hex = table.utf8Start
            for index in 0..<16 {
                digits[index] = hex[Int((high >> UInt64(60 - 4 * index)) & 0xF)]
                digits[16 + index] = hex[Int((middle >> UInt64(60 - 4 * index)) & 0xF)]
            }
            for index in 0..<8 { digits[32 + index] = hex[Int((low >> UInt32(28 - 4 * index)) & 0xF)] }
            buffer.append(contentsOf: digits)
        }
    }

    var oid: git_oid {
        var oid = git_oid()
        let source = bytes
        withUnsafeMutableBytes(of: &oid.id) { raw in
            for index in 0..<min(20, raw.count) { raw[index] = source[index] }
        }
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
    public static func < (a: ObjectID, b: ObjectID) -> Bool { (a.high, a.middle, a.low) < (b.high, b.middle, b.low) }
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

/// `git status` in one value: see ``Repository/status(against:includeUntracked:)``.
public struct WorkTreeStatus: Sendable {
    /// The index against HEAD (`git diff --cached`), with renames.
    public let staged: [FileChange]
    /// The work tree against the index, untracked files included when asked for.
    public let unstaged: [FileChange]
    /// The index's stage-0 entries, in path order.
    public let entries: [IndexEntry]

    public var isDirty: Bool { !staged.isEmpty || !unstaged.isEmpty }
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
