import Foundation

/// A repository-relative glob: `*` and `?` and `[…]` within one path segment, `**` across any
/// number of segments. A pattern also matches everything below a folder it names, so `data`
/// and `data/` match `data/train.csv`. Patterns are anchored at the repository root: `*.py`
/// matches `train.py` but not `src/train.py` (write `**/*.py` for that).
///
/// Matching works on UTF-8 bytes with the pattern compiled once: literal segments compare
/// bytes, wildcard segments go to `fnmatch(3)`.
public struct PathGlob: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal([UInt8])
        /// NUL-terminated, for fnmatch.
        case wildcard([CChar])
        case globstar
    }

    public let pattern: String
    let segments: [Segment]
    /// For patterns of literal segments, optionally ending in `**`: their bytes joined by `/`,
    /// so a match is a byte-prefix test with no splitting.
    let literalPrefix: [UInt8]?
    /// The leading literal segments followed by `/` (e.g. `data/` for `data/*.csv`): a path
    /// that does not start with these bytes cannot match, which is decided without splitting.
    let leadingFolders: [UInt8]

    public init(_ pattern: String) {
        self.pattern = pattern
        var trimmed = Substring(pattern)
        while trimmed.hasPrefix("./") { trimmed = trimmed.dropFirst(2) }
        segments = trimmed.split(separator: "/", omittingEmptySubsequences: true).map { part in
            if part == "**" { return .globstar }
            if part.contains(where: { "*?[\\".contains($0) }) { return .wildcard(Array(String(part).utf8CString)) }
            return .literal(Array(part.utf8))
        }
        var literals: [[UInt8]] = []
        var simple = true
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let bytes): literals.append(bytes)
            case .globstar where index == segments.count - 1: break
            default: simple = false
            }
        }
        literalPrefix = simple && !literals.isEmpty ? Array(literals.joined(separator: [UInt8(ascii: "/")])) : nil
        var leading: [UInt8] = []
        for segment in segments.dropLast() {
            guard case .literal(let bytes) = segment else { break }
            leading += bytes + [UInt8(ascii: "/")]
        }
        leadingFolders = leading
    }

    /// The answer without splitting `path` when the pattern is a literal prefix; nil otherwise.
    func quickMatch(_ path: String) -> Bool? {
        guard let prefix = literalPrefix else {
            guard !leadingFolders.isEmpty else { return nil }
            var utf8 = path.utf8.makeIterator()
            for byte in leadingFolders where utf8.next() != byte { return false }
            return nil
        }
        var utf8 = path.utf8.makeIterator()
        for byte in prefix {
            guard utf8.next() == byte else { return false }
        }
        guard let next = utf8.next() else { return true }  // the path is the prefix itself
        return next == UInt8(ascii: "/")  // or lies below it
    }

    public var description: String { pattern }

    /// Whether `path` (relative, `/`-separated) is matched, or lies below a matched folder.
    public func matches(_ path: String) -> Bool { quickMatch(path) ?? matches(SplitPath(path)) }

    /// The same for a path already split, so many globs can test one path without re-splitting it.
    func matches(_ path: SplitPath) -> Bool { match(0, 0, path) }

    private func match(_ pattern: Int, _ segment: Int, _ path: SplitPath) -> Bool {
        guard pattern < segments.count else { return true }  // a full match, or a folder containing the path
        switch segments[pattern] {
        case .globstar:
            if pattern + 1 == segments.count { return true }
            var next = segment
            while next <= path.ranges.count {
                if match(pattern + 1, next, path) { return true }
                next += 1
            }
            return false
        case .literal(let bytes):
            guard segment < path.ranges.count, path.bytes[path.ranges[segment]].elementsEqual(bytes) else {
                return false
            }
            return match(pattern + 1, segment + 1, path)
        case .wildcard(let cPattern):
            guard segment < path.ranges.count, Self.fnmatch(cPattern, path.bytes[path.ranges[segment]]) else {
                return false
            }
            return match(pattern + 1, segment + 1, path)
        }
    }

    private static func fnmatch(_ pattern: [CChar], _ name: ArraySlice<UInt8>) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: name.count + 1) { buffer in
            var index = 0
            for byte in name {
                buffer[index] = CChar(bitPattern: byte)
                index += 1
            }
            buffer[index] = 0
            return pattern.withUnsafeBufferPointer { Foundation.fnmatch($0.baseAddress, buffer.baseAddress, 0) == 0 }
        }
    }
}

/// A path's UTF-8 bytes and the ranges of its `/`-separated segments.
struct SplitPath {
    let bytes: [UInt8]
    let ranges: [Range<Int>]

    init(_ path: String) {
        bytes = Array(path.utf8)
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
            if index > start { ranges.append(start..<index) }
            start = index + 1
        }
        if bytes.count > start { ranges.append(start..<bytes.count) }
        self.ranges = ranges
    }
}
