import Foundation

/// The files of one span (and its latest version) of the data sources.
public struct SpanFiles: Sendable, Codable, Equatable {
    /// 0 when no pattern has `{SPAN}`.
    public let span: Int
    /// The version read (the highest of the span), nil when the patterns have no `{VERSION}`.
    public let version: Int?
    /// Repository-relative paths, sorted (absolute for files named on the command line).
    public let files: [String]

    public init(span: Int, version: Int?, files: [String]) {
        self.span = span
        self.version = version
        self.files = files
    }
}

/// A data source pattern with `{SPAN}` and `{VERSION}` placeholders, as in TFX's ExampleGen:
/// `data/span-{SPAN}/*.csv` or `data/{SPAN}/v{VERSION}/part-*.csv`. Each placeholder stands
/// for a run of decimal digits inside one path segment, before any `**`.
public struct SpanPattern: Sendable {
    public let pattern: String
    let glob: PathGlob
    /// Per segment index: a regular expression capturing the placeholders of that segment.
    let captures: [(segment: Int, regex: NSRegularExpression, tokens: [Token])]
    enum Token: Sendable { case span, version }

    public var hasSpan: Bool { captures.contains { $0.tokens.contains(.span) } }
    public var hasVersion: Bool { captures.contains { $0.tokens.contains(.version) } }

    /// Why `pattern`'s placeholders are unusable, or nil.
    public static func problem(_ pattern: String) -> String? {
        let segments = pattern.split(separator: "/")
        var seenGlobstar = false
        var spans = 0
        var versions = 0
        for segment in segments {
            if segment == "**" { seenGlobstar = true }
            let here = segment.components(separatedBy: "{SPAN}").count - 1
            let versionsHere = segment.components(separatedBy: "{VERSION}").count - 1
            if (here > 0 || versionsHere > 0) && seenGlobstar { return "has {SPAN} or {VERSION} after '**'" }
            spans += here
            versions += versionsHere
        }
        if spans > 1 { return "has {SPAN} more than once" }
        if versions > 1 { return "has {VERSION} more than once" }
        if versions == 1 && spans == 0 { return "has {VERSION} without {SPAN}" }
        return nil
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        glob = PathGlob(
            pattern.replacingOccurrences(of: "{SPAN}", with: "*").replacingOccurrences(of: "{VERSION}", with: "*"))
        var captures: [(Int, NSRegularExpression, [Token])] = []
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        for (index, segment) in segments.enumerated() where segment.contains("{SPAN}") || segment.contains("{VERSION}")
        {
            var regex = "^"
            var tokens: [Token] = []
            var rest = Substring(segment)
            while !rest.isEmpty {
                if rest.hasPrefix("{SPAN}") || rest.hasPrefix("{VERSION}") {
                    tokens.append(rest.hasPrefix("{SPAN}") ? .span : .version)
                    regex += "([0-9]+)"
                    rest = rest.dropFirst(rest.hasPrefix("{SPAN}") ? 6 : 9)
                    continue
                }
                let character = rest.removeFirst()
                switch character {
                case "*": regex += ".*"
                case "?": regex += "."
                default: regex += NSRegularExpression.escapedPattern(for: String(character))
                }
            }
            // Character classes are left to the glob; here `[` is literal, so a segment with one
            // only captures when the glob has already matched it.
            if let compiled = try? NSRegularExpression(pattern: regex + "$") {
                captures.append((index, compiled, tokens))
            }
        }
        self.captures = captures
    }

    /// The span and version in `path` when it matches, nil otherwise.
    func match(_ path: String) -> (span: Int, version: Int?)? {
        guard glob.matches(path) else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var span = 0
        var version: Int?
        for capture in captures {
            guard capture.segment < segments.count else { return nil }
            let segment = String(segments[capture.segment])
            let range = NSRange(segment.startIndex..., in: segment)
            guard let result = capture.regex.firstMatch(in: segment, range: range) else { return nil }
            for (index, token) in capture.tokens.enumerated() {
                guard let group = Range(result.range(at: index + 1), in: segment),
                    let number = Int(segment[group])
                else { return nil }
                switch token {
                case .span: span = number
                case .version: version = number
                }
            }
        }
        return (span, version)
    }

    /// The folder below which matches can be: the pattern's leading literal segments.
    var literalFolder: String {
        var parts: [Substring] = []
        for segment in pattern.split(separator: "/", omittingEmptySubsequences: true).dropLast() {
            if segment == "." { continue }
            if segment.contains(where: { "*?[\\{".contains($0) }) { break }
            parts.append(segment)
        }
        return parts.joined(separator: "/")
    }
}

/// Finds the files of the data sources and picks the spans to read.
public enum SpanResolver {
    /// The spans `selection` picks from the files under `root` matching `patterns`, oldest
    /// first; within a span only its highest version is read.
    public static func resolve(patterns: [String], selection: SpanSelection, root: URL) throws(ExampleGenError)
        -> [SpanFiles]
    {
        let compiled = patterns.map(SpanPattern.init)
        // span -> version -> files
        var found: [Int: [Int: Set<String>]] = [:]
        let anySpan = compiled.contains { $0.hasSpan }
        for pattern in compiled {
            for path in candidates(below: pattern.literalFolder, root: root) {
                guard let (span, version) = pattern.match(path) else { continue }
                found[span, default: [:]][version ?? -1, default: []].insert(path)
            }
        }
        guard !found.isEmpty else { throw ExampleGenError(.noFiles(patterns: patterns)) }
        if !anySpan, selection != .latest, selection != .all {
            throw ExampleGenError(.spanWithoutPlaceholder(selection: selection.description))
        }
        let available = found.keys.sorted()
        let chosen: [Int]
        switch selection {
        case .latest: chosen = available.last.map { [$0] } ?? []
        case .all: chosen = available
        case .single(let span): chosen = available.filter { $0 == span }
        case .range(let low, let high): chosen = available.filter { $0 >= low && $0 <= high }
        }
        guard !chosen.isEmpty else {
            throw ExampleGenError(.spanNotFound(selection: selection.description, available: available))
        }
        return chosen.map { span in
            let versions = found[span] ?? [:]
            let latest = versions.keys.max() ?? -1
            return SpanFiles(
                span: span, version: latest >= 0 ? latest : nil, files: (versions[latest] ?? []).sorted())
        }
    }

    /// Regular files below `folder` (repository-relative), skipping `.git` and `.mlops`.
    static func candidates(below folder: String, root: URL) -> [String] {
        let start = folder.isEmpty ? root : root.appendingPathComponent(folder)
        guard
            let enumerator = FileManager.default.enumerator(
                at: start, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey], options: [])
        else { return [] }
        var paths: [String] = []
        let prefix = folder.isEmpty ? "" : folder + "/"
        let startPath = start.standardizedFileURL.path
        for case let url as URL in enumerator {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            let name = url.lastPathComponent
            if values?.isDirectory == true {
                if name == ".git" || name == ".mlops" { enumerator.skipDescendants() }
                continue
            }
            guard values?.isRegularFile == true else { continue }
            let full = url.standardizedFileURL.path
            guard full.hasPrefix(startPath + "/") else { continue }
            paths.append(prefix + String(full.dropFirst(startPath.count + 1)))
        }
        return paths
    }
}
