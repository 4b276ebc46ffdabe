import Foundation
import Pipeline

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts, no network) with
/// the verdict, the metric table, ROC, precision–recall and calibration curves (candidate and
/// baseline), the training curve, per-slice bars and per-feature histograms of train against
/// eval. The plots are drawn here as SVG.
public enum HTMLReport {
    public static func render(_ gate: GateReport, history: TrainingHistory?, features: [FeatureComparison]) -> String {
        var body: [String] = []
        let failed = gate.checks.filter { $0.outcome == .failed }
        body.append(
            gate.blessed
                ? #"<h1><span class="badge pass">PASS</span> mlops gate: blessed</h1>"#
                : #"<h1><span class="badge fail">FAIL</span> mlops gate: not blessed — \#(failed.count) check\#(failed.count == 1 ? "" : "s") failed</h1>"#
        )
        var facts = ["pipeline <b>\(text(gate.pipeline))</b>", "run \(gate.run)"]
        if let commit = gate.commit { facts.append("commit <code>\(text(String(commit.prefix(12))))</code>") }
        if let evaluation = gate.evaluation {
            facts.append(
                evaluation.baseline.map { "baseline: \(text($0.reason))" }
                    ?? "<b>no baseline</b>: change thresholds were not checked")
        }
        body.append("<p class=\"facts\">" + facts.joined(separator: " · ") + "</p>")
        if !failed.isEmpty {
            body.append("<h2>Failed checks</h2><ul class=\"failed\">")
            for check in failed {
                body.append(
                    "<li><b>\(text(check.name))</b> <code>\(text(check.className))</code>: \(text(check.detail))</li>")
            }
            body.append("</ul>")
        }
        if let evaluation = gate.evaluation {
            body.append(metricTable(evaluation))
            var plots: [String] = []
            if let curves = evaluation.curves {
                let base = evaluation.baselineCurves
                plots.append(
                    Plot.lines(
                        title: "ROC curve", x: "false positive rate", y: "true positive rate",
                        series: [("candidate", curves.roc)] + (base.map { [("baseline", $0.roc)] } ?? [])
                            + [("chance", [[0, 0], [1, 1]])]))
                plots.append(
                    Plot.lines(
                        title: "Precision–recall", x: "recall", y: "precision",
                        series: [("candidate", curves.precisionRecall)]
                            + (base.map { [("baseline", $0.precisionRecall)] } ?? [])))
                plots.append(
                    Plot.lines(
                        title: "Calibration (10 bins)", x: "mean predicted probability", y: "fraction positive",
                        series: [("candidate", curves.calibration.map { [$0.meanProbability, $0.fractionPositive] })]
                            + (base.map {
                                [("baseline", $0.calibration.map { [$0.meanProbability, $0.fractionPositive] })]
                            }
                                ?? []) + [("perfect", [[0, 0], [1, 1]])],
                        markers: true))
            }
            if let history, history.rounds.contains(where: { $0.eval != nil }) {
                var series: [(String, [[Double]])] = []
                let train = history.rounds.compactMap { round in round.train.map { [Double(round.round), $0] } }
                let eval = history.rounds.compactMap { round in round.eval.map { [Double(round.round), $0] } }
                if !train.isEmpty { series.append(("train", train)) }
                series.append(("eval", eval))
                plots.append(
                    Plot.lines(
                        title: "Training: \(history.metric) per round (kept: \(history.bestRound))", x: "round",
                        y: history.metric, series: series, fitY: true))
            }
            if !plots.isEmpty { body.append("<h2>Curves</h2><div class=\"grid\">" + plots.joined() + "</div>") }
            let metric = MetricName.headline(for: evaluation.task).rawValue
            let slices = evaluation.candidate.filter { $0.slice != "overall" }
            if !slices.isEmpty {
                body.append("<h2>Slices: \(metric)</h2>")
                body.append(
                    Plot.bars(
                        metric: metric,
                        rows: slices.map { slice in
                            (
                                slice.slice + " (\(slice.size)\(slice.gated ? "" : ", not gated"))",
                                slice.metrics[metric] ?? .nan,
                                evaluation.baselineMetrics?.first { $0.slice == slice.slice }?.metrics[metric]
                            )
                        }))
            }
        }
        if let infra = gate.infra {
            body.append("<h2>Infra validation (\(text(infra.mode)))</h2>" + checksTable(infra.checks))
        }
        if !features.isEmpty {
            body.append(
                "<h2>Features: train against eval</h2><p class=\"facts\">Each split's share of its values on shared "
                    + "buckets. JS: Jensen–Shannon divergence of numeric features; L∞: the largest difference in "
                    + "a value's share. 0 is the same distribution, 1 no overlap.</p>"
                    + "<div class=\"grid small\">" + features.map { Plot.comparison($0) }.joined() + "</div>")
        }
        if let comparison = gate.dataComparison {
            body.append("<h2>Data: anomalies, drift and skew</h2><p class=\"facts\">\(text(comparison))</p>")
            if !gate.data.isEmpty { body.append(checksTable(gate.data)) }
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>mlops gate: \(text(gate.pipeline))</title>
            \(style)</head><body>
            \(body.joined(separator: "\n"))
            </body></html>

            """
    }

    /// The pages' CSS (the gate report and `mlops runs plot`).
    package static let style = """
        <style>
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1f2328}
        h1{font-size:1.6em;margin:.2em 0}.badge{color:#fff;border-radius:6px;padding:.05em .45em;font-size:.8em;vertical-align:.1em}.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
        .facts{color:#57606a}code{background:#f6f8fa;padding:0 .3em;border-radius:4px}
        table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}th{background:#f6f8fa}
        td.num{text-align:right;font-variant-numeric:tabular-nums}.failed li{color:#cf222e}
        .ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}.skip{color:#57606a}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1em}.small{grid-template-columns:repeat(auto-fill,minmax(250px,1fr))}
        svg{background:#fff;border:1px solid #d0d7de;border-radius:6px}svg text{font:11px system-ui,sans-serif;fill:#1f2328}svg text.note{fill:#57606a}
        </style>
        """

    static func metricTable(_ evaluation: EvaluationReport) -> String {
        guard let overall = evaluation.candidate.first else { return "" }
        let baseline = evaluation.baselineMetrics?.first
        var rows: [String] = []
        for name in overall.metrics.values.keys.sorted() where name != "example_count" {
            let value = overall.metrics[name] ?? .nan
            let reference = baseline?.metrics[name]
            let checks = evaluation.checks.filter {
                $0.className == "mlops.gate.evaluation.overall" && $0.name.hasPrefix(name + " ")
            }
            let result = checks.map { "<span class=\"\(css($0.outcome))\">\(text($0.name))</span>" }
                .joined(separator: "<br>")
            rows.append(
                "<tr><td>\(text(name))</td><td class=\"num\">\(number(value))</td><td class=\"num\">\(reference.map(number) ?? "—")</td>"
                    + "<td class=\"num\">\(reference.map { (value - $0 >= 0 ? "+" : "") + number(value - $0) } ?? "—")</td><td>\(result)</td></tr>"
            )
        }
        return "<h2>Metrics (\(text(evaluation.task.rawValue)), \(evaluation.rows) eval rows)</h2>"
            + "<table><tr><th>metric</th><th>candidate</th><th>baseline</th><th>delta</th><th>thresholds</th></tr>"
            + rows.joined() + "</table>"
    }

    package static func checksTable(_ checks: [CheckResult]) -> String {
        "<table><tr><th>check</th><th>result</th><th>detail</th></tr>"
            + checks.map {
                "<tr><td>\(text($0.name))</td><td class=\"\(css($0.outcome))\">\($0.outcome.rawValue)</td><td>\(text($0.detail))</td></tr>"
            }.joined() + "</table>"
    }

    static func css(_ outcome: CheckResult.Outcome) -> String {
        switch outcome {
        case .passed: "ok"
        case .failed: "bad"
        case .warned: "warn"
        case .skipped: "skip"
        }
    }

    static func number(_ value: Double) -> String { value.isNaN ? "n/a" : String(format: "%.4f", value) }

    /// HTML text: the characters that would be markup, escaped.
    package static func text(_ raw: String) -> String {
        raw.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Small SVG charts: lines on [0, 1] axes (or fitted), horizontal bars, overlaid histograms.
package enum Plot {
    static let colors = ["#0969da", "#bf8700", "#8c959f", "#1a7f37"]
    static let grid = "#eaeef2"
    static let frame = "#8c959f"

    package static func lines(
        title: String, x: String, y: String, series: [(String, [[Double]])], markers: Bool = false, fitY: Bool = false,
        width: Double = 340, height: Double = 260
    ) -> String {
        let right = 12.0, top = 24.0, bottom = 40.0
        let left = fitY ? 60.0 : 46.0
        let xs = series.flatMap { $0.1.map { $0[0] } }
        let ys = series.flatMap { $0.1.map { $0[1] } }.filter(\.isFinite)
        let xRange = fitY ? ((xs.min() ?? 0), max((xs.max() ?? 1), (xs.min() ?? 0) + 1)) : (0.0, 1.0)
        var yRange = (0.0, 1.0)
        if fitY, let low = ys.min(), let high = ys.max() {
            let pad = max((high - low) * 0.08, 1e-6)
            yRange = (low - pad, high + pad)
        }
        func px(_ v: Double) -> Double { left + (v - xRange.0) / (xRange.1 - xRange.0) * (width - left - right) }
        func py(_ v: Double) -> Double {
            height - bottom - (v - yRange.0) / (yRange.1 - yRange.0) * (height - top - bottom)
        }
        var svg =
            #"<svg viewBox="0 0 \#(Int(width)) \#(Int(height))" width="\#(Int(width))" height="\#(Int(height))" role="img" aria-label="\#(HTMLReport.text(title))">"#
        svg += #"<text x="\#(left)" y="15" font-weight="600">\#(HTMLReport.text(title))</text>"#
        for tick in 0...4 {
            let fx = xRange.0 + (xRange.1 - xRange.0) * Double(tick) / 4
            let fy = yRange.0 + (yRange.1 - yRange.0) * Double(tick) / 4
            svg += #"<line x1="\#(px(fx))" y1="\#(top)" x2="\#(px(fx))" y2="\#(height - bottom)" stroke="\#(grid)"/>"#
            svg += #"<line x1="\#(left)" y1="\#(py(fy))" x2="\#(width - right)" y2="\#(py(fy))" stroke="\#(grid)"/>"#
            svg +=
                #"<text x="\#(px(fx))" y="\#(height - bottom + 14)" text-anchor="middle">\#(label(fx, step: (xRange.1 - xRange.0) / 4))</text>"#
            svg +=
                #"<text x="\#(left - 4)" y="\#(py(fy) + 4)" text-anchor="end">\#(label(fy, step: (yRange.1 - yRange.0) / 4))</text>"#
        }
        svg +=
            #"<rect x="\#(left)" y="\#(top)" width="\#(width - left - right)" height="\#(height - top - bottom)" fill="none" stroke="\#(frame)"/>"#
        svg +=
            #"<text x="\#((left + width - right) / 2)" y="\#(height - 6)" text-anchor="middle">\#(HTMLReport.text(x))</text>"#
        svg +=
            #"<text transform="translate(11 \#((top + height - bottom) / 2)) rotate(-90)" text-anchor="middle">\#(HTMLReport.text(y))</text>"#
        for (index, (name, points)) in series.enumerated() {
            let color = colors[index % colors.count]
            let dashed = name == "chance" || name == "perfect"
            let path = points.filter { $0[1].isFinite }.map { String(format: "%.1f,%.1f", px($0[0]), py($0[1])) }
                .joined(separator: " ")
            svg +=
                #"<polyline points="\#(path)" fill="none" stroke="\#(color)" stroke-width="\#(dashed ? 1 : 2)"\#(dashed ? #" stroke-dasharray="4 3""# : "")/>"#
            if markers, !dashed {
                for point in points where point[1].isFinite {
                    svg += #"<circle cx="\#(px(point[0]))" cy="\#(py(point[1]))" r="3" fill="\#(color)"/>"#
                }
            }
            let ly = top + 14 + Double(index) * 14
            svg +=
                #"<line x1="\#(width - right - 86)" y1="\#(ly - 4)" x2="\#(width - right - 70)" y2="\#(ly - 4)" stroke="\#(color)" stroke-width="2"/>"#
            svg += #"<text x="\#(width - right - 66)" y="\#(ly)">\#(HTMLReport.text(name))</text>"#
        }
        return svg + "</svg>"
    }

    static func bars(metric: String, rows: [(String, Double, Double?)]) -> String {
        let width = 760.0, row = 22.0, left = 300.0, right = 70.0
        let height = Double(rows.count) * row + 30
        let values = rows.flatMap { [$0.1] + ($0.2.map { [$0] } ?? []) }.filter(\.isFinite)
        let high = max(values.max() ?? 1, 1e-9)
        func px(_ v: Double) -> Double { left + v / high * (width - left - right) }
        var svg =
            #"<svg viewBox="0 0 \#(Int(width)) \#(Int(height))" width="\#(Int(width))" height="\#(Int(height))" role="img" aria-label="\#(metric) per slice">"#
        for (index, (name, value, baseline)) in rows.enumerated() {
            let y = 10 + Double(index) * row
            svg += #"<text x="\#(left - 6)" y="\#(y + 14)" text-anchor="end">\#(HTMLReport.text(name))</text>"#
            if value.isFinite {
                svg +=
                    #"<rect x="\#(left)" y="\#(y + 3)" width="\#(max(0, px(value) - left))" height="\#(row - 8)" fill="\#(colors[0])"/>"#
            }
            if let baseline, baseline.isFinite {
                svg +=
                    #"<line x1="\#(px(baseline))" y1="\#(y)" x2="\#(px(baseline))" y2="\#(y + row - 2)" stroke="\#(colors[1])" stroke-width="3"/>"#
            }
            svg +=
                #"<text x="\#(px(value.isFinite ? value : 0) + 4)" y="\#(y + 14)">\#(HTMLReport.number(value))</text>"#
        }
        svg += #"<text x="\#(left)" y="\#(height - 4)">bars: candidate; orange marks: baseline</text>"#
        return svg + "</svg>"
    }

    /// One feature in two splits: overlaid histograms on shared buckets (numeric), or paired
    /// bars per value (categorical), titled with the distance between them.
    package static func comparison(_ feature: FeatureComparison, names: (String, String) = ("train", "eval")) -> String
    {
        let width = 250.0, left = 8.0, right = 8.0, top = 22.0, bottom = 22.0
        let note = feature.measure + " " + String(format: "%.3f", feature.distance)
        let peak = max((feature.train + feature.eval).max() ?? 1, 1e-12)
        let legend =
            #"<text x="\#(width - right)" y="14" text-anchor="end"><tspan fill="\#(colors[0])">■ \#(HTMLReport.text(names.0))</tspan> <tspan fill="\#(colors[1])">■ \#(HTMLReport.text(names.1))</tspan></text>"#
        func frame(_ height: Double) -> String {
            #"<svg viewBox="0 0 \#(Int(width)) \#(Int(height))" width="\#(Int(width))" height="\#(Int(height))" role="img" aria-label="\#(HTMLReport.text(feature.feature))">"#
                + #"<text x="\#(left)" y="14" font-weight="600">\#(HTMLReport.text(feature.feature))</text>"# + legend
                + #"<text x="\#(width / 2)" y="\#(height - 6)" text-anchor="middle" class="note">\#(HTMLReport.text(note))</text>"#
        }
        switch feature.buckets {
        case .numeric:
            let height = 150.0
            let count = Double(feature.train.count)
            func px(_ index: Double) -> Double { left + index / count * (width - left - right) }
            func py(_ share: Double) -> Double { height - bottom - share / peak * (height - top - bottom) }
            var svg = frame(height)
            for (shares, color) in [(feature.train, colors[0]), (feature.eval, colors[1])] {
                for (index, share) in shares.enumerated() where share > 0 {
                    svg +=
                        #"<rect x="\#(px(Double(index)))" y="\#(py(share))" width="\#(max(0.5, px(1) - px(0) - 0.5))" height="\#(height - bottom - py(share))" fill="\#(color)" fill-opacity="0.55"/>"#
                }
            }
            if let range = feature.range {
                svg += #"<text x="\#(left)" y="\#(height - 6)">\#(label(range.lowerBound))</text>"#
                svg +=
                    #"<text x="\#(width - right)" y="\#(height - 6)" text-anchor="end">\#(label(range.upperBound))</text>"#
            }
            return svg + "</svg>"
        case .categorical(let values):
            let row = 16.0, labelWidth = 96.0
            let height = top + 4 + row * Double(values.count) + bottom
            var svg = frame(height)
            for (index, value) in values.enumerated() {
                let y = top + 4 + row * Double(index)
                let name = value.count > 14 ? String(value.prefix(13)) + "…" : value
                svg += #"<text x="\#(left)" y="\#(y + 11)">\#(HTMLReport.text(name))</text>"#
                for (offset, shares, color) in [(0.0, feature.train, colors[0]), (6.0, feature.eval, colors[1])] {
                    let length = shares[index] / peak * (width - left - right - labelWidth)
                    svg +=
                        #"<rect x="\#(left + labelWidth)" y="\#(y + 2 + offset)" width="\#(max(0.5, length))" height="5" fill="\#(color)"/>"#
                }
            }
            return svg + "</svg>"
        }
    }

    /// A tick label with as many decimals as the step between ticks needs.
    static func label(_ value: Double, step: Double? = nil) -> String {
        if abs(value) >= 100_000 { return String(format: "%.2g", value) }
        if let step, step > 0 {
            // The fewest decimals that write the step exactly (0.25 → 2), else enough to tell
            // neighbouring ticks apart.
            let exact = (0...5).first { digits in
                let scaled = step * pow(10, Double(digits))
                return abs(scaled.rounded() - scaled) < 1e-6
            }
            let decimals = exact ?? min(5, max(0, Int((-log10(step)).rounded(.up)) + 1))
            return String(format: "%.\(decimals)f", value)
        }
        if abs(value) < 0.01 && value != 0 { return String(format: "%.2g", value) }
        return String(format: value == value.rounded() ? "%.0f" : "%.2f", value)
    }
}
