import Foundation
import MLOpsCore

/// Statistics as people read them on a terminal (`mlops data stats`).
public enum StatisticsText {
    /// The statistics as `mlops data stats` prints them: a numeric table and a text table.
    public static func print(_ dataset: DatasetStatistics, on console: Console) {
        let numeric = dataset.features.filter { $0.numeric != nil }
        let text = dataset.features.filter { $0.string != nil }
        console.line(
            console.style(dataset.name, .cyan, bold: true)
                + "  \(dataset.numExamples) rows, \(dataset.features.count) features (\(numeric.count) numeric, \(text.count) text)"
        )
        let nameWidth = max(8, dataset.features.map(\.name.count).max() ?? 0)
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        func missing(_ feature: FeatureStatistics) -> String {
            let total = feature.numMissing + feature.numNonMissing
            let share = total == 0 ? 0 : 100 * Double(feature.numMissing) / Double(total)
            return "\(feature.numMissing) (\(String(format: "%.1f", share))%)"
        }
        let widths = [9, 15, 11, 11, 7, 11, 11, 11]
        if !numeric.isEmpty {
            console.line()
            console.line(
                pad("numeric", nameWidth, left: true) + "  type   "
                    + zip(["present", "missing", "mean", "std dev", "zeros", "min", "median", "max"], widths).map {
                        pad($0, $1)
                    }.joined(separator: " "))
            for feature in numeric {
                guard let stats = feature.numeric else { continue }
                let cells = [
                    String(feature.numNonMissing), missing(feature), number(stats.mean), number(stats.stdDev),
                    String(stats.numZeros), number(stats.min), number(stats.median), number(stats.max),
                ]
                var line =
                    pad(feature.name, nameWidth, left: true) + "  " + pad(feature.type.rawValue, 5, left: true)
                    + "  " + zip(cells, widths).map { pad($0, $1) }.joined(separator: " ")
                if stats.numNaN + stats.numInfinite > 0 {
                    line += "  (\(stats.numNaN) NaN, \(stats.numInfinite) infinite)"
                }
                console.line(line)
            }
        }
        if !text.isEmpty {
            console.line()
            console.line(
                pad("text", nameWidth, left: true) + "  "
                    + zip(["present", "missing", "unique", "avg len"], [9, 15, 8, 8]).map { pad($0, $1) }.joined(
                        separator: " ") + "  top values")
            for feature in text {
                guard let stats = feature.string else { continue }
                let top = stats.topValues.prefix(3).map { "\($0.value) (\($0.frequency))" }.joined(separator: ", ")
                let cells = [
                    String(feature.numNonMissing), missing(feature), String(stats.unique),
                    String(format: "%.1f", stats.avgLength),
                ]
                console.line(
                    pad(feature.name, nameWidth, left: true) + "  "
                        + zip(cells, [9, 15, 8, 8]).map { pad($0, $1) }.joined(separator: " ") + "  " + top)
            }
        }
    }

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        if value != 0 && (abs(value) >= 1e7 || abs(value) < 1e-3) { return String(format: "%.4g", value) }
        return String(format: "%.4f", value).replacingOccurrences(
            of: #"\.?0+$"#, with: "", options: .regularExpression)
    }
}
