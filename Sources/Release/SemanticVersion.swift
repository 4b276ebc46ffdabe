import MLOpsCore

/// A release version `MAJOR.MINOR.PATCH[-PRERELEASE]` (semver 2.0.0 precedence, no build metadata).
public struct SemanticVersion: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let patch: Int
    public let prerelease: [String]

    public init(major: Int, minor: Int, patch: Int, prerelease: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
    }

    /// Parses `1.2.3` or `1.2.3-rc.1`; a leading `v` is accepted.
    public init(parsing text: String) throws(ReleaseError) {
        var body = Substring(text)
        if body.hasPrefix("v") { body = body.dropFirst() }
        let parts = body.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3,
            let major = Self.number(numbers[0]), let minor = Self.number(numbers[1]),
            let patch = Self.number(numbers[2])
        else {
            throw ReleaseError.invalidVersion(text)
        }
        var prerelease: [String] = []
        if parts.count == 2 {
            prerelease = parts[1].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !prerelease.isEmpty,
                prerelease.allSatisfy({
                    !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } && $0.allSatisfy(\.isASCII)
                })
            else {
                throw ReleaseError.invalidVersion(text)
            }
        }
        self.init(major: major, minor: minor, patch: patch, prerelease: prerelease)
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text == "0" || !text.hasPrefix("0") else { return nil }
        return Int(text)
    }

    public enum Bump: String, Sendable, CaseIterable { case major, minor, patch }

    /// The next version; a bump always drops the pre-release label.
    public func bumped(_ part: Bump) -> SemanticVersion {
        switch part {
        case .major: SemanticVersion(major: major + 1, minor: 0, patch: 0)
        case .minor: SemanticVersion(major: major, minor: minor + 1, patch: 0)
        case .patch:
            prerelease.isEmpty
                ? SemanticVersion(major: major, minor: minor, patch: patch + 1)
                : SemanticVersion(major: major, minor: minor, patch: patch)
        }
    }

    public var description: String {
        "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-" + prerelease.joined(separator: "."))
    }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) {
            return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
        }
        // A version without a pre-release label ranks above one with it.
        if a.prerelease.isEmpty || b.prerelease.isEmpty { return !a.prerelease.isEmpty && b.prerelease.isEmpty }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (Int(x), Int(y)) {
            case (let i?, let j?): return i < j
            case (_?, nil): return true
            case (nil, _?): return false
            default: return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }
}
