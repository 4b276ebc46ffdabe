import Foundation
import Yams

extension MLOpsConfig {
    /// The effective configuration as YAML, in schema order, with plain decimal numbers.
    ///
    /// Yams writes doubles in scientific notation (`5e-1`), which PyYAML and other YAML 1.1
    /// readers take for strings; floats are rewritten as `0.5`, `30.0` or `1.0e-06`.
    public func yamlText() throws -> String {
        let encoded = try YAMLEncoder().encode(self)
        guard let node = try Yams.compose(yaml: encoded) else { return encoded }
        return try Yams.serialize(node: Self.plainFloats(node))
    }

    static func plainFloats(_ node: Node) -> Node {
        switch node {
        case .scalar(let scalar):
            // Yams' own output: a plain scalar like `5e-1` (which YAML 1.1 would read as a string).
            let text = scalar.string
            guard scalar.style == .plain || scalar.style == .any, text.contains("e"),
                text.allSatisfy({ $0.isNumber || "+-.e".contains($0) }), let value = Double(text), value.isFinite
            else { return node }
            return Node(yamlFloat(value), Tag(.float))
        case .mapping(let mapping):
            return .mapping(Node.Mapping(mapping.map { ($0.key, plainFloats($0.value)) }, mapping.tag, mapping.style))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map(plainFloats), sequence.tag, sequence.style))
        case .alias:
            return node
        }
    }

    /// `0.5`, `30.0`, `1.0e-06`: always a dot, so YAML 1.1 readers see a float.
    static func yamlFloat(_ value: Double) -> String {
        let text = "\(value)"
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return text }
        let mantissa = text[..<e]
        return (mantissa.contains(".") ? String(mantissa) : mantissa + ".0") + String(text[e...])
    }
}
