import Foundation
import MLOpsCore
import Yams

/// The keys a configuration section accepts: its `CodingKeys`, whose raw values are the
/// YAML spellings. One list serves decoding checks, suggestions and the printed effective
/// configuration.
public protocol ConfigKey: CodingKey, CaseIterable, RawRepresentable<String>, Hashable, Sendable {}

/// Walks a composed YAML document, reading typed values and collecting every problem with
/// its file, line, column and key path instead of stopping at the first.
///
/// Getters never throw: on a problem they record a diagnostic and return the default, so a
/// single `mlops config check` lists everything wrong at once.
final class ConfigReader {
    let file: String
    /// The repository root, for checks that referenced files exist.
    let root: URL?
    private(set) var diagnostics: [ConfigDiagnostic] = []

    init(file: String, root: URL?) {
        self.file = file
        self.root = root
    }

    /// - Parameter offset: characters into a one-line scalar's text (a position inside an
    ///   expression); the column then points at that character.
    func report(_ node: Node?, _ keyPath: String, _ message: String, hint: String? = nil, offset: Int? = nil) {
        let mark = node?.mark
        var column = mark?.column
        if let offset, let start = column, case .scalar(let scalar)? = node, !scalar.string.contains("\n") {
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            column = start + offset + (quoted ? 1 : 0)
        }
        diagnostics.append(
            ConfigDiagnostic(
                location: SourceLocation(file: file, line: mark?.line, column: column), keyPath: keyPath,
                message: message, hint: hint))
    }

    /// The diagnostics in file order (line, then column).
    var sortedDiagnostics: [ConfigDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            let la = (a.element.sourceLocation.line ?? 0, a.element.sourceLocation.column ?? 0, a.offset)
            let lb = (b.element.sourceLocation.line ?? 0, b.element.sourceLocation.column ?? 0, b.offset)
            return la < lb
        }.map(\.element)
    }

    // MARK: - Node helpers

    static func isNull(_ node: Node?) -> Bool {
        guard let node else { return true }
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
                return "the string \"\(scalar.string)\""
            }
            if isNull(node) { return "nothing" }
            return "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}

/// A YAML mapping being read as a section whose keys are `Key`.
struct Fields<Key: ConfigKey> {
    let reader: ConfigReader
    let path: String
    /// The mapping node itself (nil when the section is absent).
    let node: Node?
    private var values: [String: (key: Node, value: Node)] = [:]
    /// False when the node is present but not a mapping (already reported).
    private var isMapping = true

    /// Reads `node` as a mapping, reporting a non-mapping and every unknown key (with the
    /// nearest valid key when one is close).
    init(_ reader: ConfigReader, path: String, node: Node?) {
        self.reader = reader
        self.path = path
        self.node = ConfigReader.isNull(node) ? nil : node
        guard let node = self.node else { return }
        guard case .mapping(let mapping) = node else {
            reader.report(
                node, path, "'\(path)' must be a mapping of keys to values, found \(ConfigReader.describe(node))")
            isMapping = false
            return
        }
        let allowed = Key.allCases.map(\.rawValue)
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                reader.report(keyNode, path, "keys in '\(path)' must be plain names")
                continue
            }
            let key = scalar.string
            guard allowed.contains(key) else {
                let here = ConfigReader.join(path, key)
                if let suggestion = Suggestions.nearest(to: key, in: allowed) {
                    reader.report(
                        keyNode, here, "unknown key '\(key)' in '\(path.isEmpty ? "the top level" : path)'",
                        hint: "did you mean '\(suggestion)'?")
                } else {
                    reader.report(
                        keyNode, here, "unknown key '\(key)' in '\(path.isEmpty ? "the top level" : path)'",
                        hint: "valid keys are: " + allowed.joined(separator: ", "))
                }
                continue
            }
            values[key] = (keyNode, valueNode)
        }
    }

    var isPresent: Bool { node != nil }

    func keyPath(_ key: Key) -> String { ConfigReader.join(path, key.rawValue) }

    /// The value node of a key, nil when absent or null.
    func value(_ key: Key) -> Node? {
        guard let entry = values[key.rawValue], !ConfigReader.isNull(entry.value) else { return nil }
        return entry.value
    }

    func has(_ key: Key) -> Bool { value(key) != nil }

    /// Reports a missing required key at the section (or file start).
    func requirePresent(_ key: Key, what: String) {
        guard isMapping, !has(key) else { return }
        reader.report(
            values[key.rawValue]?.key ?? node, keyPath(key), "missing required key '\(keyPath(key))': \(what)")
    }

    // MARK: - Scalars

    func string(_ key: Key) -> String? {
        guard let node = value(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            reader.report(
                node, keyPath(key), "'\(keyPath(key))' must be a string, found \(ConfigReader.describe(node))")
            return nil
        }
        return scalar.string
    }

    func string(_ key: Key, default fallback: String) -> String { string(key) ?? fallback }

    func int(_ key: Key, default fallback: Int, in range: ClosedRange<Int> = Int.min...Int.max) -> Int {
        guard let node = value(key) else { return fallback }
        return ConfigValue.int(node, reader, keyPath(key), in: range) ?? fallback
    }

    func optionalInt(_ key: Key, in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard let node = value(key) else { return nil }
        return ConfigValue.int(node, reader, keyPath(key), in: range)
    }

    func double(
        _ key: Key, default fallback: Double, in range: ClosedRange<Double> = -Double.infinity...Double.infinity
    ) -> Double {
        guard let node = value(key) else { return fallback }
        return ConfigValue.double(node, reader, keyPath(key), in: range) ?? fallback
    }

    func optionalDouble(_ key: Key, in range: ClosedRange<Double> = -Double.infinity...Double.infinity) -> Double? {
        guard let node = value(key) else { return nil }
        return ConfigValue.double(node, reader, keyPath(key), in: range)
    }

    func bool(_ key: Key, default fallback: Bool) -> Bool {
        guard let node = value(key) else { return fallback }
        return ConfigValue.bool(node, reader, keyPath(key)) ?? fallback
    }

    func choice<E: RawRepresentable<String> & CaseIterable>(_ key: Key, default fallback: E) -> E {
        guard let node = value(key) else { return fallback }
        return ConfigValue.choice(node, reader, keyPath(key), as: E.self) ?? fallback
    }

    /// A list of strings; a single string is accepted as a one-element list.
    func strings(_ key: Key, default fallback: [String]) -> [String] {
        guard let node = value(key) else { return fallback }
        return ConfigValue.strings(node, reader, keyPath(key)) ?? fallback
    }

    // MARK: - Nested

    func section<S: ConfigSection>(_ key: Key, _ type: S.Type = S.self) -> S {
        S(Fields<S.Key>(reader, path: keyPath(key), node: value(key)))
    }

    /// A section that is only configured when its key is present.
    func optionalSection<S: ConfigSection>(_ key: Key, _ type: S.Type = S.self) -> S? {
        guard let entry = values[key.rawValue] else { return nil }
        return S(Fields<S.Key>(reader, path: keyPath(key), node: entry.value))
    }

    /// Ordered `name: value` pairs of a mapping whose keys are user-chosen (feature names, splits).
    func pairs(_ key: Key) -> [(name: String, keyNode: Node, value: Node)]? {
        guard let node = value(key) else { return nil }
        return ConfigValue.pairs(node, reader, keyPath(key))
    }

    func list(_ key: Key) -> [Node]? {
        guard let node = value(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            reader.report(node, keyPath(key), "'\(keyPath(key))' must be a list, found \(ConfigReader.describe(node))")
            return nil
        }
        return Array(sequence)
    }
}

/// A configuration section: built from its fields, printable as the effective configuration.
protocol ConfigSection: Encodable, Sendable {
    associatedtype Key: ConfigKey
    init(_ fields: Fields<Key>)
}

/// Readers of single YAML values, shared by sections and list items.
enum ConfigValue {
    static func scalar(_ node: Node, _ reader: ConfigReader, _ path: String, expected: String) -> Node.Scalar? {
        guard case .scalar(let scalar) = node else {
            reader.report(node, path, "'\(path)' must be \(expected), found \(ConfigReader.describe(node))")
            return nil
        }
        return scalar
    }

    static func isQuoted(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .singleQuoted || scalar.style == .doubleQuoted
    }

    static func int(_ node: Node, _ reader: ConfigReader, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard let scalar = scalar(node, reader, path, expected: "an integer") else { return nil }
        guard !isQuoted(scalar), let value = Int(scalar.string) else {
            reader.report(
                node, path, "'\(path)' must be an integer, found \(ConfigReader.describe(node))",
                hint: isQuoted(scalar) && Int(scalar.string) != nil ? "remove the quotes" : nil)
            return nil
        }
        guard range.contains(value) else {
            reader.report(node, path, "'\(path)' must be \(describe(range)), found \(value)")
            return nil
        }
        return value
    }

    static func double(_ node: Node, _ reader: ConfigReader, _ path: String, in range: ClosedRange<Double>) -> Double? {
        guard let scalar = scalar(node, reader, path, expected: "a number") else { return nil }
        guard !isQuoted(scalar), let value = Double(scalar.string), value.isFinite else {
            reader.report(
                node, path, "'\(path)' must be a number, found \(ConfigReader.describe(node))",
                hint: isQuoted(scalar) && Double(scalar.string) != nil ? "remove the quotes" : nil)
            return nil
        }
        guard range.contains(value) else {
            reader.report(node, path, "'\(path)' must be \(describe(range)), found \(scalar.string)")
            return nil
        }
        return value
    }

    static func bool(_ node: Node, _ reader: ConfigReader, _ path: String) -> Bool? {
        guard let scalar = scalar(node, reader, path, expected: "true or false") else { return nil }
        if !isQuoted(scalar) {
            switch scalar.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        reader.report(node, path, "'\(path)' must be true or false, found \(ConfigReader.describe(node))")
        return nil
    }

    static func choice<E: RawRepresentable<String> & CaseIterable>(
        _ node: Node, _ reader: ConfigReader, _ path: String, as type: E.Type
    ) -> E? {
        let options = E.allCases.map(\.rawValue)
        guard let scalar = scalar(node, reader, path, expected: "one of " + options.joined(separator: ", ")) else {
            return nil
        }
        if let value = E(rawValue: scalar.string) { return value }
        let hint = Suggestions.nearest(to: scalar.string, in: options).map { "did you mean '\($0)'?" }
        reader.report(
            node, path,
            "'\(path)' must be one of \(options.joined(separator: ", ")), found \(ConfigReader.describe(node))",
            hint: hint)
        return nil
    }

    static func string(_ node: Node, _ reader: ConfigReader, _ path: String) -> String? {
        scalar(node, reader, path, expected: "a string")?.string
    }

    static func strings(_ node: Node, _ reader: ConfigReader, _ path: String) -> [String]? {
        switch node {
        case .scalar(let scalar):
            return [scalar.string]
        case .sequence(let sequence):
            var result: [String] = []
            for (index, item) in sequence.enumerated() {
                if let value = string(item, reader, "\(path)[\(index)]") { result.append(value) }
            }
            return result
        default:
            reader.report(node, path, "'\(path)' must be a list of strings, found \(ConfigReader.describe(node))")
            return nil
        }
    }

    static func pairs(_ node: Node, _ reader: ConfigReader, _ path: String) -> [(
        name: String, keyNode: Node, value: Node
    )]? {
        guard case .mapping(let mapping) = node else {
            reader.report(node, path, "'\(path)' must be a mapping, found \(ConfigReader.describe(node))")
            return nil
        }
        var result: [(name: String, keyNode: Node, value: Node)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                reader.report(keyNode, path, "keys in '\(path)' must be plain names")
                continue
            }
            result.append((scalar.string, keyNode, valueNode))
        }
        return result
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        if range.lowerBound == Int.min { return "at most \(range.upperBound)" }
        return "between \(range.lowerBound) and \(range.upperBound)"
    }

    private static func describe(_ range: ClosedRange<Double>) -> String {
        if range.upperBound == .infinity { return "at least \(format(range.lowerBound))" }
        if range.lowerBound == -.infinity { return "at most \(format(range.upperBound))" }
        return "between \(format(range.lowerBound)) and \(format(range.upperBound))"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// An ordered `name: value` mapping that prints in its original order.
public struct OrderedPairs<Value: Encodable & Sendable>: Encodable, Sendable, Sequence {
    public var pairs: [(name: String, value: Value)]

    public init(_ pairs: [(name: String, value: Value)] = []) { self.pairs = pairs }

    public var names: [String] { pairs.map(\.name) }
    public var isEmpty: Bool { pairs.isEmpty }
    public subscript(name: String) -> Value? { pairs.first { $0.name == name }?.value }
    public func makeIterator() -> IndexingIterator<[(name: String, value: Value)]> { pairs.makeIterator() }

    struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        for (name, value) in pairs {
            try container.encode(value, forKey: DynamicKey(stringValue: name))
        }
    }
}
