import Foundation
import Yams

/// A YAML value built in the order it is written, so an export is the same bytes every time
/// (mappings keep their order; nothing is sorted by a dictionary's hash).
indirect enum YAMLValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral
{
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([YAMLValue])
    case map([(String, YAMLValue)])

    init(stringLiteral value: String) { self = .string(value) }
    init(arrayLiteral elements: YAMLValue...) { self = .list(elements) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }

    static func strings(_ values: [String]) -> YAMLValue { .list(values.map(YAMLValue.string)) }

    var node: Node {
        switch self {
        case .string(let text):
            // A string that would read back as another type (true, 2, null, …) is quoted.
            let resolved = Resolver.default.resolveTag(of: .scalar(Node.Scalar(text)))
            let style: Node.Scalar.Style = text.isEmpty || resolved != .str ? .doubleQuoted : .any
            return .scalar(Node.Scalar(text, Tag(.str), style))
        case .int(let value): return .scalar(Node.Scalar(String(value), Tag(.int)))
        case .bool(let value): return .scalar(Node.Scalar(value ? "true" : "false", Tag(.bool)))
        case .list(let items): return .sequence(Node.Sequence(items.map(\.node), Tag(.seq)))
        case .map(let pairs): return .mapping(Node.Mapping(pairs.map { (Node.scalar(Node.Scalar($0.0)), $0.1.node) }))
        }
    }

    /// The documents as YAML text, `---` between them, lines never wrapped.
    static func render(_ documents: [YAMLValue], header: [String] = []) throws -> String {
        var text = header.map { $0 + "\n" }.joined()
        for (index, document) in documents.enumerated() {
            if index > 0 { text += "---\n" }
            text += try Yams.serialize(node: document.node, width: -1, allowUnicode: true)
        }
        return text
    }
}
