import Foundation
import MLOpsCore
import Tabular
import Yams

// The `data` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public enum DataFormat: String, Sendable, Codable, CaseIterable { case csv }

/// Which spans of a `{SPAN}` pattern to read.
public enum SpanSelection: Sendable, Hashable, Encodable, CustomStringConvertible {
    case latest
    case all
    case single(Int)
    case range(Int, Int)

    public var description: String {
        switch self {
        case .latest: "latest"
        case .all: "all"
        case .single(let span): String(span)
        case .range(let low, let high): "\(low)..\(high)"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .single(let span): try container.encode(span)
        default: try container.encode(description)
        }
    }

    /// `latest`, `all`, a span number or a range `low..high`.
    public init?(_ text: String) {
        if text == "latest" {
            self = .latest
        } else if text == "all" {
            self = .all
        } else if let span = Int(text), span >= 0 {
            self = .single(span)
        } else {
            let bounds = text.components(separatedBy: "..")
            guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0, low <= high else {
                return nil
            }
            self = .range(low, high)
        }
    }

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> SpanSelection? {
        guard case .scalar(let scalar) = node else {
            reader.report(node, path, "'\(path)' must be latest, all, a span number or a range like 3..5")
            return nil
        }
        let text = scalar.string
        if let selection = SpanSelection(text) { return selection }
        reader.report(
            node, path, "'\(path)' must be latest, all, a span number or a range like 3..5, found '\(text)'")
        return nil
    }
}

public struct DataSection: ConfigSection {
    /// Glob patterns of the input files, relative to the repository root; `{SPAN}` and
    /// `{VERSION}` stand for numbers.
    public var sources: [String]
    public var format: DataFormat
    public var delimiter: String
    public var onBadRows: BadRowPolicy
    public var span: SpanSelection
    /// Named splits with their hash-bucket weights, in order (default train 2 : eval 1).
    public var splits: OrderedPairs<Int>
    /// Split by the hash of this column instead of the whole row (keeps a group on one side).
    public var partitionColumn: String?
    /// Serving data (a glob) to check for training/serving skew.
    public var serving: String?

    public enum Key: String, ConfigKey {
        case sources, format, delimiter, onBadRows = "on_bad_rows", span, splits
        case partitionColumn = "partition_column", serving
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        if f.isPresent {
            f.requirePresent(.sources, what: "the glob patterns of the input CSV files, e.g. [\"data/*.csv\"]")
        }
        sources = f.strings(.sources, default: [])
        if f.has(.sources), sources.isEmpty {
            f.reader.report(f.value(.sources), f.keyPath(.sources), "'data.sources' must name at least one pattern")
        }
        for (index, source) in sources.enumerated() {
            if let problem = PathPattern.problem(source) ?? SpanPattern.problem(source) {
                f.reader.report(f.value(.sources), "data.sources[\(index)]", "data source '\(source)' \(problem)")
            }
        }
        format = f.choice(.format, default: .csv)
        delimiter = f.string(.delimiter, default: ",")
        if delimiter.utf8.count != 1 || delimiter == "\"" || delimiter == "\n" {
            f.reader.report(
                f.value(.delimiter), f.keyPath(.delimiter),
                "'data.delimiter' must be a single ASCII character other than a quote or newline, found '\(delimiter)'")
        }
        onBadRows = f.choice(.onBadRows, default: .fail)
        span = f.value(.span).flatMap { SpanSelection.parse($0, f.reader, f.keyPath(.span)) } ?? .latest
        var splits: [(name: String, value: Int)] = []
        if let pairs = f.pairs(.splits) {
            for pair in pairs {
                let path = f.keyPath(.splits) + "." + pair.name
                // Split names become file names: letters, digits, '_' and '-' only.
                if pair.name.isEmpty
                    || !pair.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                {
                    f.reader.report(
                        pair.keyNode, path, "split name '\(pair.name)' may hold only letters, digits, '_' and '-'")
                    continue
                }
                if let weight = ConfigValue.int(pair.value, f.reader, path, in: 1...1000) {
                    splits.append((pair.name, weight))
                }
            }
            for required in ["train", "eval"]
            where !splits.contains(where: { $0.name == required }) && !pairs.contains(where: { $0.name == required }) {
                f.reader.report(
                    f.value(.splits), f.keyPath(.splits), "'data.splits' must include a '\(required)' split",
                    hint: "for example `splits: {train: 2, eval: 1}`")
            }
        } else {
            splits = [("train", 2), ("eval", 1)]
        }
        self.splits = OrderedPairs(splits)
        partitionColumn = f.string(.partitionColumn)
        serving = f.string(.serving)
        if let serving, let problem = PathPattern.problem(serving) ?? SpanPattern.problem(serving) {
            f.reader.report(f.value(.serving), f.keyPath(.serving), "serving data '\(serving)' \(problem)")
        }
    }
}

/// Checks shared by every path pattern in the configuration.
enum PathPattern {
    /// Why a repository-relative pattern is not acceptable, or nil.
    static func problem(_ pattern: String) -> String? {
        if pattern.isEmpty { return "is empty" }
        if pattern.hasPrefix("/") { return "must be relative to the repository root, not absolute" }
        if pattern.split(separator: "/").contains("..") { return "must stay inside the repository (no '..')" }
        return nil
    }
}
