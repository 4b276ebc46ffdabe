import Crypto
import Foundation
import MLOpsCore

/// Everything that goes into an execution's cache key, kept so the next run can say what
/// changed: the component and its version, its parameters, the fingerprints of its input
/// artifacts, and the fingerprints of the repository paths it reads.
public struct KeyManifest: Sendable, Codable, Equatable {
    public let component: String
    public let version: String
    /// Each top-level parameter as compact JSON with sorted keys.
    public let parameters: [String: String]
    /// Input name → the input artifact's fingerprint.
    public let inputs: [String: String]
    /// Repository path → its fingerprint (`git:<blob id>` or `sha256:<digest>`).
    public let paths: [String: String]

    public init(
        component: String, version: String, parameters: [String: String], inputs: [String: String],
        paths: [String: String]
    ) {
        self.component = component
        self.version = version
        self.parameters = parameters
        self.inputs = inputs
        self.paths = paths
    }

    /// The manifest as canonical JSON (sorted keys, no spaces).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> KeyManifest {
        try JSONDecoder().decode(KeyManifest.self, from: Data(text.utf8))
    }

    /// The cache key: SHA-256 of the canonical JSON, in hex.
    public var cacheKey: String {
        let text = (try? json()) ?? ""
        return Hex.string(SHA256.hash(data: Data(text.utf8)))
    }

    /// Each top-level field of `parameters` as compact, key-sorted JSON.
    public static func flatten(_ parameters: some Encodable) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(parameters)
        guard let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any]
        else { return ["value": String(decoding: data, as: UTF8.self)] }
        var result: [String: String] = [:]
        for (key, value) in object {
            let part = try JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
            result[key] = String(decoding: part, as: UTF8.self)
        }
        return result
    }

    /// What differs from `previous`, cheapest and most telling first, one phrase each:
    /// `input examples changed: 3f2a1b0c → 9c8d7e6f`, `data/b.csv added`.
    public func differences(from previous: KeyManifest) -> [String] {
        var found: [String] = []
        if version != previous.version { found.append("\(component) version \(previous.version) → \(version)") }
        for key in Set(parameters.keys).union(previous.parameters.keys).sorted()
        where parameters[key] != previous.parameters[key] {
            found.append("parameter \(key) changed: " + Self.change(previous.parameters[key], parameters[key]))
        }
        for name in Set(inputs.keys).union(previous.inputs.keys).sorted() where inputs[name] != previous.inputs[name] {
            found.append(
                "input \(name) changed: \(Self.short(previous.inputs[name])) → \(Self.short(inputs[name]))")
        }
        for path in Set(paths.keys).union(previous.paths.keys).sorted() where paths[path] != previous.paths[path] {
            switch (previous.paths[path], paths[path]) {
            case (nil, _): found.append("\(path) added")
            case (_, nil): found.append("\(path) removed")
            case (let old?, let new?): found.append("\(path) changed: \(Self.short(old)) → \(Self.short(new))")
            }
        }
        return found
    }

    /// `old → new`; for two JSON objects, only the entries that differ (`a: 1 → 2; b: (none) → x`).
    static func change(_ old: String?, _ new: String?) -> String {
        func object(_ text: String?) -> [String: Any]? {
            guard let text else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        }
        func compact(_ value: Any?) -> String {
            guard let value else { return "(none)" }
            guard
                let data = try? JSONSerialization.data(
                    withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
            else { return "\(value)" }
            return String(decoding: data, as: UTF8.self)
        }
        guard let before = object(old), let after = object(new) else {
            return "\(old ?? "(none)") → \(new ?? "(none)")"
        }
        return Set(before.keys).union(after.keys).sorted().compactMap { key in
            let a = compact(before[key])
            let b = compact(after[key])
            return a == b ? nil : "\(key) \(a) → \(b)"
        }.joined(separator: ", ")
    }

    /// A fingerprint cut to its scheme and 12 hex digits.
    static func short(_ fingerprint: String?) -> String {
        guard let fingerprint else { return "(none)" }
        if let colon = fingerprint.firstIndex(of: ":") {
            return String(fingerprint[...colon]) + String(fingerprint[fingerprint.index(after: colon)...].prefix(12))
        }
        return String(fingerprint.prefix(12))
    }
}
