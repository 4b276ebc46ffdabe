import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline

extension MLOps {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Work with mlops.yaml.", subcommands: [Check.self])
    }
}

extension MLOps.Config {
    struct Check: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate mlops.yaml and print the effective configuration with every default filled in.",
            discussion: "Exits 0 when valid, 78 with every problem (file:line:column, key, suggestion) when not.")
        static let jsonSchema = "mlops.config-check/v1"

        @OptionGroup var global: GlobalOptions

        @Option(
            help: ArgumentHelp(
                "The configuration file (default: mlops.yaml at the repository root).", valueName: "path"))
        var config: String?

        struct Output: Encodable {
            let file: String
            let valid: Bool
            let components: [String]
            /// Valid but probably not meant (e.g. no held-out test split with a Tuner).
            let warnings: [String]
            let config: MLOpsConfig
        }

        func run(context: CommandContext) async throws {
            let root = try context.projectRoot()
            let file =
                config.map {
                    URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                        .standardizedFileURL
                }
                ?? root.appendingPathComponent(MLOpsConfig.fileName)
            let loaded = try MLOpsConfig.load(from: file, root: root)
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            file: file.path, valid: true, components: loaded.components, warnings: loaded.warnings,
                            config: loaded)))
                return
            }
            for warning in loaded.warnings { console.warning("\(file.lastPathComponent): \(warning)") }
            console.line("# effective configuration of \(file.path), defaults filled in")
            console.line(try loaded.yamlText().trimmingCharacters(in: .newlines))
            console.line()
            console.line(
                console.style("✓", .green, bold: true)
                    + " \(file.lastPathComponent) is valid: pipeline '\(loaded.pipeline.name)', components \(loaded.components.joined(separator: " → "))"
            )
        }
    }
}

extension ConfigError: ConfigErrorDiagnostics {
    var all: [any MLOpsError] { diagnostics }
}
