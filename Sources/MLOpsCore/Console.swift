import Foundation
@preconcurrency import Rainbow

/// Where a command's output goes and how it looks.
///
/// - Human text on a terminal: colors (unless `NO_COLOR` is set or `TERM=dumb`).
/// - Plain lines when `CI` is set or stdout is not a terminal.
/// - `--json`: stdout carries exactly one JSON document (``JSONOutput``); human lines are
///   not printed.
/// Diagnostics (`error: …`, `warning: …`) always go to stderr.
public struct Console: Sendable {
    public enum Mode: String, Sendable, Codable {
        case terminal, plain, json
    }

    public enum Verbosity: Int, Sendable, Comparable {
        case quiet, normal, verbose
        public static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
    }

    public let mode: Mode
    public let verbosity: Verbosity
    /// Whether ANSI colors are written (only ever on a terminal).
    public let colors: Bool
    /// Whether stdout is a terminal on which progress may be redrawn in place.
    public let interactive: Bool

    public init(mode: Mode, verbosity: Verbosity = .normal, colors: Bool) {
        self.mode = mode
        self.verbosity = verbosity
        self.colors = colors && mode == .terminal
        self.interactive = mode == .terminal
    }

    /// Decides the mode from the flags and the environment, the way every command does.
    public static func detect(
        json: Bool, verbosity: Verbosity,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        stdoutIsTerminal: Bool = isatty(STDOUT_FILENO) == 1
    ) -> Console {
        if json { return Console(mode: .json, verbosity: verbosity, colors: false) }
        let ci = environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
        guard stdoutIsTerminal, !ci else { return Console(mode: .plain, verbosity: verbosity, colors: false) }
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let dumb = environment["TERM"] == "dumb"
        return Console(mode: .terminal, verbosity: verbosity, colors: !noColor && !dumb)
    }

    /// Applies this console's color decision to the process-wide color switch of Rainbow.
    /// Called once, explicitly, at start-up by the executable.
    public func installColorSetting() {
        Rainbow.enabled = colors
    }

    // MARK: - stdout

    /// A line of human output (suppressed by `--quiet` and in JSON mode).
    public func line(_ text: String = "") {
        guard mode != .json, verbosity >= .normal else { return }
        Self.write(text + "\n", to: .standardOutput)
    }

    /// A line shown only with `--verbose`, to stderr so it never mixes into piped output.
    public func detail(_ text: String) {
        guard verbosity >= .verbose else { return }
        Self.write(text + "\n", to: .standardError)
    }

    /// The one JSON document of a `--json` run.
    public func json(_ document: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // NaN and infinities (a column with no values has no mean) as TF Serving writes them.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var data = try encoder.encode(document)
        data.append(0x0A)
        Self.write(data, to: .standardOutput)
    }

    // MARK: - stderr

    public func error(_ text: String) {
        Self.write(style("error:", .red, bold: true) + " " + text + "\n", to: .standardError)
    }

    public func warning(_ text: String) {
        Self.write(style("warning:", .yellow, bold: true) + " " + text + "\n", to: .standardError)
    }

    public func note(_ text: String) {
        guard verbosity >= .normal else { return }
        Self.write(style("note:", .cyan, bold: true) + " " + text + "\n", to: .standardError)
    }

    // MARK: - Styling

    public enum Color: Sendable { case red, green, yellow, cyan, dim }

    /// `text` in a color when this console writes colors; unchanged otherwise.
    public func style(_ text: String, _ color: Color, bold: Bool = false) -> String {
        guard colors else { return text }
        var styled: String
        switch color {
        case .red: styled = text.red
        case .green: styled = text.green
        case .yellow: styled = text.yellow
        case .cyan: styled = text.cyan
        case .dim: styled = text.dim
        }
        if bold { styled = styled.bold }
        return styled
    }

    // MARK: - Writing

    private static func write(_ text: String, to handle: FileHandle) {
        write(Data(text.utf8), to: handle)
    }

    private static func write(_ data: Data, to handle: FileHandle) {
        // A closed pipe (`mlops … | head`) must not kill the process with an exception.
        try? handle.write(contentsOf: data)
    }
}
