import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline

extension MLOps {
    struct Init: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a project from a template: mlops.yaml, sample data, schema, .gitignore.",
            discussion: """
                Templates: taxi (default; Chicago taxi trips, binary label big_tipper) and penguins
                (three species). The sample data and curated schemas come from TensorFlow Extended's
                examples (Apache-2.0). Creates a git repository when DIR is not inside one. Never
                overwrites files unless --force.
                """)
        static let jsonSchema = "mlops.init/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The directory to create the project in (default: the current directory).")
        var directory: String?

        @Option(help: "The project template.")
        var template = "taxi"

        @Option(
            name: .customLong("ci"),
            help: ArgumentHelp("Also copy the CI files of a provider (repeatable).", valueName: "provider"))
        var ciProviders: [String] = []

        @Flag(help: "Write into a non-empty directory, replacing files the template also has.")
        var force = false

        func run(context: CommandContext) async throws {
            // DIR, else --repo, else the current directory.
            let target = URL(fileURLWithPath: directory ?? global.repo ?? FileManager.default.currentDirectoryPath)
                .standardizedFileURL
            let library = try TemplateLibrary.locate()
            let result = try ProjectInitializer(library: library).initialize(
                directory: target, template: template, ciProviders: ciProviders, force: force)
            let console = context.console
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, result: result))
                return
            }
            console.line("Created a '\(result.template)' project in \(result.directory):")
            for file in result.files { console.line("  " + file) }
            if result.createdRepository { console.line("Initialized a git repository (branch main).") }
            console.line()
            console.line("Next: cd \(directory ?? ".") && mlops config check")
        }
    }
}
