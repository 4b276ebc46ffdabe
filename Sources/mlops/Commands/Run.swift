import ArgumentParser
import Foundation
import GitKit
import MLOpsCore
import Pipeline

extension MLOps {
    struct Run: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "test, train, gate and (on a clean tree) release, in one command, for local use.",
            discussion: """
                Runs `mlops test`, then `mlops gate` (which trains what has changed first), then, when \
                the working tree has no uncommitted change, `mlops release`. It stops at the first \
                step that fails, with that step's exit status; each step writes its reports as it \
                would alone. With uncommitted changes the release is left out and the last line says \
                so: commit, then run it again (docs/test.md).
                """)
        static let jsonSchema = "mlops.run-all/v1"

        @OptionGroup var global: GlobalOptions

        @Option(help: "The base `mlops test` compares with (default: the CI's target branch, else none).")
        var base: String?

        func run(context: CommandContext) async throws {
            guard context.console.mode != .json else {
                throw ValidationError("mlops run prints each step's lines; run the steps with --json one by one")
            }
            let console = context.console
            let globals = global.arguments
            let test = try Test.parse(globals + (base.map { ["--base", $0] } ?? []))
            try await test.run(context: context)
            console.line("")
            let repository = try context.repository()
            let dirty = try RepositorySnapshot(repository: repository).dirty
            if dirty {
                let gate = try Gate.parse(globals)
                try await gate.run(context: context)
                console.line(
                    console.style("release left out", .yellow, bold: true)
                        + ": the working tree has uncommitted changes; commit them and run `mlops run` again")
            } else {
                let release = try Release.parse(globals)
                try await release.run(context: context)
            }
        }
    }
}
