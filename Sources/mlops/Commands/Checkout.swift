import ArgumentParser
import Foundation
import MLOpsCore
import Orchestration

/// Where an orchestrator's task works: a fresh clone of the project at one revision
/// (`mlops component run` and `mlops release` in an exported pipeline's containers).
struct CheckoutOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Clone this git repository (a URL or path) and work there instead of in the current one.",
            valueName: "url"))
    var repository: String?

    @Option(
        help: ArgumentHelp(
            "With --repository: the commit, branch or tag to check out (default: its HEAD).", valueName: "revision"))
    var revision: String?

    @Option(
        help: ArgumentHelp(
            "With --repository: clone into this new or empty folder and keep it (default: a temporary one, removed after).",
            valueName: "dir"))
    var workdir: String?

    func validate() throws {
        if repository == nil, revision != nil || workdir != nil {
            throw ValidationError("--revision and --workdir go with --repository")
        }
    }
}

extension CommandContext {
    /// With `--repository`: the clone made for this command and a context whose repository it
    /// is (as `--repo` would name it); otherwise this context and no clone.
    func checkingOut(_ options: CheckoutOptions) throws -> (CommandContext, TaskCheckout?) {
        guard let source = options.repository else { return (self, nil) }
        let checkout = try TaskCheckout(
            cloning: source, revision: options.revision, into: options.workdir.map { URL(fileURLWithPath: $0) })
        var global = self.global
        global.repo = checkout.folder.path
        if console.mode != .json {
            console.line("checkout    \(source) @ \(checkout.commit.short) in \(checkout.folder.path)")
        }
        return (CommandContext(console: console, global: global, logger: logger), checkout)
    }
}
