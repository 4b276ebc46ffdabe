import Foundation
import Tabular

/// What serving does with a value outside the schema's domain.
public enum OutOfDomain: String, Sendable, CaseIterable {
    /// The row is refused: a 400 from `mlops serve`, a bad row for `mlops infer`.
    case reject
    /// The value is read as missing, as the transform's `fill_missing` would see it.
    case missing
    /// No check: the value goes to the transform as is (a vocabulary's OOV bucket).
    case keep
}

/// The schema's domains for the columns a model reads: a string domain's values, an int or
/// float domain's bounds, and whether NaN or infinity are allowed. One check for served
/// requests and bulk inference.
public struct DomainCheck: Sendable {
    enum Rule: Sendable {
        case strings(Set<String>)
        case ints(min: Int64?, max: Int64?)
        case floats(min: Double?, max: Double?, allowNaN: Bool, allowInf: Bool)
    }

    /// A value the schema's domain does not allow: the row (0-based, in the table checked), the
    /// column and why.
    public struct Refusal: Sendable, Equatable {
        public let row: Int
        public let column: String
        public let detail: String
    }

    let rules: [(column: String, rule: Rule)]

    /// The rules of `schema` for `inputs`; none without a schema.
    public init(schema: Schema?, inputs: [FittedTransform.Input]) {
        var rules: [(String, Rule)] = []
        for input in inputs {
            guard let feature = schema?.feature(input.name) else { continue }
            if let values = feature.stringDomain {
                rules.append((input.name, .strings(Set(values))))
            } else if let domain = feature.intDomain, domain.min != nil || domain.max != nil {
                rules.append((input.name, .ints(min: domain.min, max: domain.max)))
            } else if let domain = feature.floatDomain {
                rules.append(
                    (
                        input.name,
                        .floats(
                            min: domain.min, max: domain.max, allowNaN: !domain.disallowNaN,
                            allowInf: !domain.disallowInf)
                    ))
            }
        }
        self.rules = rules
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// Checks `table` under `policy`: with `reject`, the first refused value of each refused
    /// row, in row order, and the table as it was; with `missing`, no refusals and a table whose
    /// refused values are missing; with `keep`, the table as it was.
    public func apply(_ table: DataTable, policy: OutOfDomain) -> (table: DataTable, refusals: [Refusal]) {
        guard policy != .keep, !rules.isEmpty, table.rowCount > 0 else { return (table, []) }
        var refusals: [Int: Refusal] = [:]
        var columns = table.columns
        for (column, rule) in rules {
            guard let index = columns.firstIndex(where: { $0.name == column }) else { continue }
            let refused = Self.refused(columns[index], rule)
            guard !refused.isEmpty else { continue }
            if policy == .missing {
                columns[index] = columns[index].clearing(refused.map(\.row))
            } else {
                for (row, detail) in refused where refusals[row] == nil {
                    refusals[row] = Refusal(row: row, column: column, detail: detail)
                }
            }
        }
        if policy == .missing {
            return (
                DataTable(
                    file: table.file, columns: columns, rowCount: table.rowCount, skipped: table.skipped,
                    rowHashes: table.rowHashes, records: table.records), []
            )
        }
        return (table, refusals.values.sorted { $0.row < $1.row })
    }

    /// The rows of `column` whose present value `rule` refuses, with why.
    static func refused(_ column: Column, _ rule: Rule) -> [(row: Int, detail: String)] {
        var refused: [(Int, String)] = []
        switch (rule, column.values) {
        case (.strings(let allowed), .bytes(let dictionary, let codes)):
            let inDomain = dictionary.map { allowed.contains($0) }
            for row in codes.indices where codes[row] >= 0 && !inDomain[Int(codes[row])] {
                refused.append(
                    (row, "'\(dictionary[Int(codes[row])])' is not among the schema's \(allowed.count) values"))
            }
        case (.ints(let low, let high), .int(let values)):
            for row in values.indices where column.present[row] {
                let value = values[row]
                if let low, value < low { refused.append((row, "\(value) is below the schema's minimum \(low)")) }
                if let high, value > high { refused.append((row, "\(value) is above the schema's maximum \(high)")) }
            }
        case (.ints(let low, let high), .float(let values)):
            refused = numbers(values, column.present, low.map(Double.init), high.map(Double.init), true, true)
        case (.floats(let low, let high, let allowNaN, let allowInf), .float(let values)):
            refused = numbers(values, column.present, low, high, allowNaN, allowInf)
        case (.floats(let low, let high, _, _), .int(let values)):
            refused = numbers(values.map(Double.init), column.present, low, high, true, true)
        default:
            break  // a string domain on a numeric column: the schema check reports that, not serving
        }
        return refused
    }

    private static func numbers(
        _ values: [Double], _ present: [Bool], _ low: Double?, _ high: Double?, _ allowNaN: Bool, _ allowInf: Bool
    ) -> [(Int, String)] {
        var refused: [(Int, String)] = []
        for row in values.indices where present[row] {
            let value = values[row]
            if value.isNaN {
                if !allowNaN { refused.append((row, "NaN is not allowed by the schema")) }
            } else if value.isInfinite {
                if !allowInf { refused.append((row, "\(value) is not allowed by the schema")) }
            } else if let low, value < low {
                refused.append((row, "\(value) is below the schema's minimum \(low)"))
            } else if let high, value > high {
                refused.append((row, "\(value) is above the schema's maximum \(high)"))
            }
        }
        return refused
    }
}

extension Column {
    /// This column with the values of `rows` missing.
    func clearing(_ rows: [Int]) -> Column {
        var present = present
        var values = values
        for row in rows { present[row] = false }
        switch values {
        case .int(var numbers):
            for row in rows { numbers[row] = 0 }
            values = .int(numbers)
        case .float(var numbers):
            for row in rows { numbers[row] = .nan }
            values = .float(numbers)
        case .bytes(let dictionary, var codes):
            for row in rows { codes[row] = -1 }
            values = .bytes(dictionary: dictionary, codes: codes)
        }
        return Column(name: name, type: type, values: values, present: present)
    }

    /// This column without the rows in `dropped`.
    func removing(_ dropped: Set<Int>) -> Column {
        let kept = present.indices.filter { !dropped.contains($0) }
        let values: Values =
            switch self.values {
            case .int(let numbers): .int(kept.map { numbers[$0] })
            case .float(let numbers): .float(kept.map { numbers[$0] })
            case .bytes(let dictionary, let codes): .bytes(dictionary: dictionary, codes: kept.map { codes[$0] })
            }
        return Column(name: name, type: type, values: values, present: kept.map { present[$0] })
    }
}

extension DataTable {
    /// This table without the rows in `dropped` (0-based).
    public func removingRows(_ dropped: Set<Int>) -> DataTable {
        guard !dropped.isEmpty else { return self }
        let kept = (0..<rowCount).filter { !dropped.contains($0) }
        return DataTable(
            file: file, columns: columns.map { $0.removing(dropped) }, rowCount: kept.count, skipped: skipped,
            rowHashes: rowHashes.isEmpty ? [] : kept.map { rowHashes[$0] },
            records: records.isEmpty ? [] : kept.map { records[$0] })
    }
}
