import ArchiveKit
import ArgumentParser
import Foundation
import GitKit
import MLOpsCore
import SQLiteKit
import XGBoostKit

@main
struct MLOps: AsyncParsableCommand {
    static func main() async {
        // libgit2's initialisation parses the system's CA bundle (about 7 ms here); every
        // command but --help needs it, so it runs on a second core while the arguments are
        // parsed. Whoever needs libgit2 first waits for it (LibGit2.ensureInitialized).
        Thread.detachNewThread { LibGit2.ensureInitialized() }
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "mlops",
        abstract:
            "The TFX component pipeline for ordinary CI/CD: test, train, gate, release and serve models from a git repository.",
        discussion: """
            Configuration lives in mlops.yaml at the repository root (see `mlops init` and `mlops config check`). \
            Human output on a terminal, plain lines on CI (when CI is set or stdout is not a terminal), \
            one JSON document with --json. Diagnostics go to stderr. Global options (--repo, --json, \
            --verbose, --quiet) are accepted by every command.

            \(ExitStatus.helpTable)
            """,
        // The libraries' versions only when asked for: reading XGBoost's loads the library.
        version: CommandLine.arguments.dropFirst().contains("--version")
            ? """
            mlops \(MLOpsVersion.current) (libgit2 \(LibGit2.version), \(LibArchive.version), \
            SQLite \(SQLiteDatabase.libraryVersion), XGBoost \(LibXGBoost.version))
            """ : "mlops \(MLOpsVersion.current)",
        subcommands: [
            Init.self, Config.self, Changes.self, Test.self, Run.self, DataCommand.self, PipelineCommand.self,
            ComponentCommand.self,
            Train.self,
            Explain.self,
            Runs.self, Lineage.self, Infer.self, Serve.self, Monitor.self, Gate.self, Release.self, Verify.self,
            Promote.self,
            Rollback.self, Releases.self, Push.self, Keygen.self,
        ]
    )

    @OptionGroup var global: GlobalOptions
}
