import ArgumentParser
import Foundation
import GitKit
import MLOpsCore
import Pipeline

extension MLOps {
    struct Changes: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "changes",
            abstract: "Show what a change touched: its base, the changed paths by class, the affected components.",
            discussion: """
                The base is the merge-base of HEAD with --base, else the CI's target branch (GITHUB_BASE_REF; \
                CI_MERGE_REQUEST_DIFF_BASE_SHA, else CI_MERGE_REQUEST_TARGET_BRANCH_NAME), else MLOPS_BASE, \
                else the default branch. Changed paths are committed (base..HEAD, with renames), staged, \
                unstaged and untracked, classified by `paths` in mlops.yaml. Without a usable base every path \
                counts as changed, with a warning saying why. Also prints the fingerprint of each declared path set.
                """)
        static let jsonSchema = "mlops.changes/v1"

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The ref or commit the change is measured from.", valueName: "ref"))
        var base: String?

        func run(context: CommandContext) async throws {
            let console = context.console
            let report = try ChangeReport.detect(
                in: try context.repository(), base: base, environment: context.environment
            ) { timings in
                for (phase, seconds) in timings {
                    console.detail(String(format: "%8.1f ms  %@", seconds * 1000, phase))
                }
            }
            if let fallback = report.base.fallback {
                console.warning(
                    fallback + "; treating every path as changed" + (report.base.hint.map { "\n  hint: " + $0 } ?? ""))
            }
            guard console.mode == .json else { return report.print(on: console) }
            try console.json(JSONOutput(schema: Self.jsonSchema, result: report))
        }
    }
}
