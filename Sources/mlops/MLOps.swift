import ArchiveKit
import ArgumentParser
import GitKit
import MLOpsCore
import SQLiteKit
import XGBoostKit

@main
struct MLOps: AsyncParsableCommand {
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
        version: """
            mlops \(MLOpsVersion.current) (libgit2 \(LibGit2.version), \(LibArchive.version), \
            SQLite \(SQLiteDatabase.libraryVersion), XGBoost \(LibXGBoost.version))
            """,
        subcommands: [
            Init.self, Config.self, Changes.self, Test.self, Run.self, DataCommand.self, PipelineCommand.self,
            Train.self,
            Explain.self,
            Runs.self, Lineage.self, Infer.self, Serve.self, Gate.self, Release.self, Verify.self, Promote.self,
            Rollback.self, Releases.self, Push.self, Keygen.self,
        ]
    )

    @OptionGroup var global: GlobalOptions
}
