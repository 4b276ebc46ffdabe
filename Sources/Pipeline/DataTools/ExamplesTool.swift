import Foundation
import MLOpsCore
import Tabular

extension DataTools {
    /// What `mlops data examples` was asked for; nil fields take mlops.yaml's `data` section.
    public struct ExamplesRequest {
        /// CSV files read as one span instead of `data.sources`.
        public var files: [String] = []
        public var span: SpanSelection?
        public var splits: [(name: String, weight: Int)]?
        public var partitionColumn: String?
        public var output: URL?
        public var delimiter: UInt8?
        public var onBadRows: BadRowPolicy?

        public init() {}
    }

    /// ExampleGen on the project at `root` (or on `request.files`): spans resolved, rows split,
    /// the output folder (`.mlops/examples` by default) replaced as a whole at the end.
    public static func examples(_ request: ExamplesRequest, root: URL, console: Console) throws -> ExampleGen.Result {
        var options = ExampleGen.Options()
        let spans: [SpanFiles]
        if request.files.isEmpty {
            let config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
            let data = config.data
            guard !data.sources.isEmpty else {
                throw ConfigError.missingSection(
                    "data.sources", purpose: "nothing to read (or name CSV files on the command line)")
            }
            options.csv.delimiter = data.delimiter.utf8.first ?? UInt8(ascii: ",")
            options.csv.onBadRows = data.onBadRows
            options.splits = data.splits.pairs.map { ($0.name, $0.value) }
            options.partitionColumn = data.partitionColumn
            spans = try SpanResolver.resolve(patterns: data.sources, selection: request.span ?? data.span, root: root)
        } else {
            if request.span != nil {
                throw UsageError("--span applies to the {SPAN} patterns of mlops.yaml, not to FILE")
            }
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            let files = request.files.map {
                $0.hasPrefix("/") ? $0 : cwd.appendingPathComponent($0).standardizedFileURL.path
            }
            spans = [SpanFiles(span: 0, version: nil, files: files)]
        }
        if let delimiter = request.delimiter { options.csv.delimiter = delimiter }
        if let onBadRows = request.onBadRows { options.csv.onBadRows = onBadRows }
        if let splits = request.splits { options.splits = splits }
        if let partitionColumn = request.partitionColumn { options.partitionColumn = partitionColumn }
        let output = request.output ?? root.appendingPathComponent(".mlops/examples")
        try refuseForeignFolder(output)
        let total = spans.flatMap(\.files).reduce(0) { sum, file in
            let path = file.hasPrefix("/") ? file : root.appendingPathComponent(file).path
            return sum
                + (((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0)
        }
        let progress = ProgressBar(console: console, label: "ExampleGen", total: total)
        options.csv.progress = { progress.advance(by: $0) }
        defer { progress.finish() }
        return try ExampleGen.run(spans: spans, root: root, output: output, options: options)
    }

    /// `train=2,eval=1`: names of letters, digits, `_` or `-`, weights 1…1000, a train and an
    /// eval split; nil when it is not that.
    public static func parseSplits(_ text: String) -> [(name: String, weight: Int)]? {
        var result: [(name: String, weight: Int)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, let weight = Int(pieces[1]), (1...1000).contains(weight),
                !pieces[0].isEmpty, !result.contains(where: { $0.name == pieces[0] }),
                pieces[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { return nil }
            result.append((String(pieces[0]), weight))
        }
        guard result.contains(where: { $0.name == "train" }), result.contains(where: { $0.name == "eval" }) else {
            return nil
        }
        return result
    }

    /// An existing output folder is replaced only when it is ExampleGen's (or empty).
    static func refuseForeignFolder(_ url: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        let contents = isDirectory.boolValue ? ((try? manager.contentsOfDirectory(atPath: url.path)) ?? []) : ["?"]
        guard contents.isEmpty || contents.contains(ExampleGen.metadataFile) else {
            throw FileError(
                .notWritable, path: url.path,
                detail: "exists and is not an ExampleGen output; mlops will not replace it",
                hint: "choose another folder with -o, or remove it")
        }
    }

    /// The result as `mlops data examples` prints it: spans, rows and speed, each split.
    public static func print(_ result: ExampleGen.Result, seconds: Double, shown: String, on console: Console) {
        for skipped in result.skipped {
            let first = skipped.first.prefix(3).map { "line \($0.line) (\($0.reason))" }.joined(separator: ", ")
            console.warning(
                "\(skipped.file): skipped \(skipped.count) bad row\(skipped.count == 1 ? "" : "s"): \(first)")
        }
        guard console.mode != .json else { return }
        let spanText = result.spans.map { span in
            "span \(span.span)" + (span.version.map { " v\($0)" } ?? "")
                + " (\(span.files.count) file\(span.files.count == 1 ? "" : "s"))"
        }.joined(separator: ", ")
        let rate = seconds > 0 ? Double(result.inputBytes) / seconds / 1e6 : 0
        console.line(
            console.style("ExampleGen", .cyan, bold: true)
                + "  \(spanText): \(result.rows) rows, \(String(format: "%.1f", Double(result.inputBytes) / 1e6)) MB in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", rate)) MB/s)"
        )
        let width = result.splits.map(\.name.count).max() ?? 5
        for split in result.splits {
            let share = result.rows == 0 ? 0 : 100 * Double(split.rows) / Double(result.rows)
            console.line(
                "  " + split.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  \(split.rows) rows (\(String(format: "%.1f", share))%)  " + shown + "/" + split.file)
        }
        let weights = result.splits.map { "\($0.name) \($0.weight)" }.joined(separator: " : ")
        console.line(
            "split by " + (result.splitBy == "row" ? "whole-row hash" : "hash of column '\(result.splitBy)'")
                + " (\(result.hash)), \(weights)")
    }
}
