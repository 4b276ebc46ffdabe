import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import SwiftProtobuf

/// `--format` and `--output` of the commands that can write a TFMD message (`mlops data stats`,
/// `mlops data validate`): mlops' own text or JSON, or TFMD's message in binary or in protobuf's
/// JSON mapping, printed or written atomically to a file.
struct TFMDOutputOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
        case tfmdJSON = "tfmd-json"
        case tfmdBinary = "tfmd-binary"
    }

    @Option(
        help: ArgumentHelp(
            "text (default), json (as --json), tfmd-json or tfmd-binary (TFMD's message, as TFDV writes it).",
            valueName: "format"))
    var format: Format?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("With a tfmd format: write the message to this file (default: stdout).", valueName: "path"))
    var output: String?

    func validate(json: Bool) throws {
        if json, let format, format != .json {
            throw ValidationError("--json and --format \(format.rawValue) cannot be used together")
        }
        let tfmd = format == .tfmdJSON || format == .tfmdBinary
        if output != nil, !tfmd { throw ValidationError("--output needs --format tfmd-json or tfmd-binary") }
        if format == .tfmdBinary, output == nil, isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("--format tfmd-binary writes binary: give --output FILE or redirect stdout")
        }
    }

    /// Whether `--format json` asks for mlops' JSON (the caller prints it as with --json).
    var wantsJSON: Bool { format == .json }

    /// Writes `message` when a TFMD format was asked for; false otherwise.
    func write(_ message: some SwiftProtobuf.Message, console: Console) throws -> Bool {
        let data: Data
        switch format {
        case .tfmdBinary?: data = try TFMDEncoding.binary(message)
        case .tfmdJSON?: data = try TFMDEncoding.json(message) + Data("\n".utf8)
        default: return false
        }
        if let output {
            try AtomicFile.write(data, to: URL(fileURLWithPath: output))
            console.detail("wrote \(output) (\(data.count) bytes)")
        } else {
            FileHandle.standardOutput.write(data)
        }
        return true
    }
}
