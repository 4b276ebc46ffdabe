import Foundation
import MLOpsCore
import Pipeline
import Tabular

/// The eval rows of each slice: `overall` (every row), then, for each `evaluation.slices`
/// entry, a slice per value of its features (text, or a number as written) or per bucket of a
/// numeric feature (`[6, 12)`, with `< 0` and `>= 24` outside the edges). A row whose slicing
/// value is missing falls in the `(missing)` slice. Slices are named
/// `feature=value[, feature=value]` and listed in the spec's order, values sorted.
public enum Slicing {
    public struct Slice: Sendable, Equatable {
        public let name: String
        public let rows: [Int]

        public init(name: String, rows: [Int]) {
            self.name = name
            self.rows = rows
        }
    }

    public static let overall = "overall"

    /// The slices of `table`; a feature the table lacks is a ``SliceError``.
    public static func slices(of table: DataTable, specs: [SliceSpec]) throws(SliceError) -> [Slice] {
        var result = [Slice(name: overall, rows: Array(0..<table.rowCount))]
        for spec in specs {
            var keys = [String](repeating: "", count: table.rowCount)
            for (position, feature) in spec.features.enumerated() {
                guard let column = table.column(feature) else {
                    throw SliceError(feature: feature, available: table.columns.map(\.name))
                }
                for row in 0..<table.rowCount {
                    let value = label(column, row, buckets: spec.buckets)
                    keys[row] += (position > 0 ? ", " : "") + feature + "=" + value
                }
            }
            var groups: [String: [Int]] = [:]
            for (row, key) in keys.enumerated() { groups[key, default: []].append(row) }
            for key in groups.keys.sorted(by: Self.order) {
                result.append(Slice(name: key, rows: groups[key] ?? []))
            }
        }
        return result
    }

    /// A row's value as a slice label.
    static func label(_ column: Column, _ row: Int, buckets: [Double]?) -> String {
        guard column.present[row] else { return "(missing)" }
        let number: Double?
        switch column.values {
        case .int(let values): number = Double(values[row])
        case .float(let values): number = values[row]
        case .bytes(let dictionary, let codes): return dictionary[Int(codes[row])]
        }
        guard let number, let edges = buckets, !edges.isEmpty else {
            if case .int(let values) = column.values { return String(values[row]) }
            return number.map { "\($0)" } ?? "(missing)"
        }
        if number < edges[0] { return "< \(format(edges[0]))" }
        for index in 1..<edges.count where number < edges[index] {
            return "[\(format(edges[index - 1])), \(format(edges[index])))"
        }
        return ">= \(format(edges[edges.count - 1]))"
    }

    static func format(_ edge: Double) -> String {
        edge == edge.rounded() && abs(edge) < 1e15 ? String(Int(edge)) : "\(edge)"
    }

    /// Slice names in a reader's order: numbers and buckets by value, then text, missing last.
    static func order(_ a: String, _ b: String) -> Bool {
        func key(_ name: String) -> (Int, Double, String) {
            let value = name.split(separator: "=", maxSplits: 1).last.map(String.init) ?? name
            if value == "(missing)" { return (3, 0, name) }
            if value.hasPrefix("< ") { return (0, -.infinity, name) }
            if value.hasPrefix(">= ") { return (2, 0, name) }
            if value.hasPrefix("["), let low = Double(value.dropFirst().prefix { $0 != "," }) { return (1, low, name) }
            if let number = Double(value) { return (1, number, name) }
            return (2, .infinity, name)
        }
        let left = key(a), right = key(b)
        if left.0 != right.0 { return left.0 < right.0 }
        if left.1 != right.1 { return left.1 < right.1 }
        return left.2 < right.2
    }
}

/// A slice names a feature the eval rows do not have.
public struct SliceError: MLOpsError, Equatable {
    public let feature: String
    public let available: [String]

    public init(feature: String, available: [String]) {
        self.feature = feature
        self.available = available
    }

    public var message: String { "evaluation.slices names '\(feature)', which the eval rows do not have" }
    public var hint: String? {
        Suggestions.nearest(to: feature, in: available).map { "did you mean '\($0)'?" }
            ?? "the columns are: " + available.joined(separator: ", ")
    }
    public var exitStatus: ExitStatus { .configError }
}
