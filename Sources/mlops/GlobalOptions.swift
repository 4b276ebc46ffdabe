import ArchiveKit
import ArgumentParser
import Foundation
import GitKit
import Logging
import MLOpsCore
import Metadata
import Pipeline
import Release

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The repository to work in (default: the one containing the current directory).", valueName: "path"))
    var repo: String?

    @Flag(name: .long, help: "Print one JSON document on stdout instead of human text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Explain each decision in detail (on stderr).")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print only errors and warnings.")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet cannot be used together") }
    }

    var verbosity: Console.Verbosity { quiet ? .quiet : verbose ? .verbose : .normal }

    /// These options as command-line arguments, for a command that runs others (`mlops run`).
    var arguments: [String] {
        (repo.map { ["--repo", $0] } ?? []) + (json ? ["--json"] : []) + (verbose ? ["--verbose"] : [])
            + (quiet ? ["--quiet"] : [])
    }
}

/// What a command needs to do its work and report it.
struct CommandContext {
    let console: Console
    let global: GlobalOptions
    let logger: Logger

    /// The directory the command works on: `--repo`, else the current directory.
    var startDirectory: URL {
        URL(fileURLWithPath: global.repo ?? FileManager.default.currentDirectoryPath).standardizedFileURL
    }

    /// The git repository the command works in (for commands that need one).
    func repository() throws -> Repository {
        if let path = global.repo, !FileManager.default.fileExists(atPath: path) {
            throw FileError(.missing, path: path, detail: "no such directory", hint: "check the --repo path")
        }
        return try Repository.discover(from: startDirectory.path)
    }

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The project to work on: repository, mlops.yaml and metadata store.
    func project() throws -> Project { try Project.open(try repository(), environment: environment) }

    /// The existing metadata store alone, for questions answered from it (runs, lineage).
    func store() throws -> any MetadataStore {
        try Project.existingStore(root: try Project.workTree(of: try repository()), environment: environment)
    }

    /// The release registry of this project (or `MLOPS_REGISTRY` outside one).
    func releases(extraKeys: [String] = []) throws -> ReleaseSession {
        try ReleaseSession.open(
            root: try projectRoot(), repository: try? repository(), environment: environment, extraKeys: extraKeys)
    }

    /// A model folder named on the command line: a path; `latest`, the newest model `mlops
    /// train` made; or NAME@CHANNEL / NAME@VERSION, a released bundle, verified and unpacked.
    func modelFolder(_ reference: String) throws -> URL { try model(reference).folder }

    /// The model folder a reference names and the name it was released as: NAME@CHANNEL or
    /// NAME@VERSION from the registry, or a bundle file (`.tar.zst`, verified with the
    /// project's public keys, a signature then required), each unpacked once; a folder or
    /// `latest` have no released name.
    func model(_ reference: String) throws -> (folder: URL, name: String?) {
        if reference.contains("@"), !FileManager.default.fileExists(atPath: reference) {
            let session = try releases()
            return (try session.releasedModel(reference), try session.reference(reference).name)
        }
        if reference.hasSuffix(".tar.zst"), FileManager.default.fileExists(atPath: reference) {
            // In a project its signature policy holds (a broken mlops.yaml or key file is an
            // error, never a reason to skip the check); outside one, nothing is required.
            let root = try projectRoot()
            let inProject = FileManager.default.fileExists(
                atPath: root.appendingPathComponent(MLOpsConfig.fileName).path)
            let session = inProject ? try releases() : try? releases()
            let unpacked = try ReleaseSession.unpackedModel(
                bundle: URL(fileURLWithPath: reference), root: session?.config == nil ? nil : session?.root,
                signatures: session?.signatures ?? .none)
            return (unpacked.folder, unpacked.name)
        }
        guard reference == "latest", !FileManager.default.fileExists(atPath: reference) else {
            return (URL(fileURLWithPath: reference), nil)
        }
        return (
            try Project.latestModel(root: try Project.workTree(of: try repository()), environment: environment), nil
        )
    }

    /// `serving.out_of_domain` of this project's mlops.yaml (what InfraValidator tested), else
    /// `reject`: the serving policy `mlops serve` and `mlops infer` use without the flag.
    func servingPolicy() throws -> OutOfDomain {
        let root = try projectRoot()
        let file = root.appendingPathComponent(MLOpsConfig.fileName)
        guard FileManager.default.fileExists(atPath: file.path) else { return .reject }
        return try MLOpsConfig.load(from: file, root: root).serving.outOfDomain
    }

    /// Where the reports go, for messages.
    var reportsPath: String {
        ((try? projectRoot()) ?? startDirectory).appendingPathComponent(".mlops/reports").path
    }

    /// The repository root if there is a repository, else the start directory (for commands
    /// that can work outside git, like `config check`).
    func projectRoot() throws -> URL {
        do {
            let repository = try repository()
            if let workdir = repository.workingDirectory { return URL(fileURLWithPath: workdir) }
            return startDirectory
        } catch let error as GitError where error.code == .notARepository || error.code == .unsafeOwnership {
            // Reading mlops.yaml needs no git; a repository we may not open is no reason to fail.
            if error.code == .unsafeOwnership { console.warning(error.description) }
            return startDirectory
        }
    }
}

/// A subcommand of mlops: parses, calls one library entry point, prints. The shared `run()`
/// builds the context and is the one place errors become exit statuses.
protocol MLOpsCommand: AsyncParsableCommand {
    var global: GlobalOptions { get }
    /// The `--json` schema name of this command's result, e.g. `mlops.config-check/v1`.
    static var jsonSchema: String { get }
    func run(context: CommandContext) async throws
}

extension MLOpsCommand {
    mutating func run() async throws {
        let console = Console.detect(json: global.json, verbosity: global.verbosity)
        console.installColorSetting()
        let level: Logger.Level = global.verbose ? .debug : .warning
        LoggingSystem.bootstrap { label in StandardErrorLogHandler(label: label, level: level) }
        let context = CommandContext(console: console, global: global, logger: Logger(label: "mlops"))
        do {
            try LibArchive.ensureReady()  // process-wide C set-up, once, before any work
            try await run(context: context)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error  // a usage error: ArgumentParser prints it with the usage and exits 64
        } catch {
            throw ExitCode(Self.report(error, on: console))
        }
    }

    /// Prints an error the way every command does and returns the exit status for it.
    static func report(_ error: any Error, on console: Console) -> Int32 {
        let status = ExitStatus(for: error)
        let diagnostics: [any MLOpsError] = (error as? ConfigErrorDiagnostics)?.all ?? []
        if diagnostics.count > 1 {
            for diagnostic in diagnostics { console.error(diagnostic.description) }
            console.error("\(diagnostics.count) problems found")
        } else if let error = error as? any MLOpsError {
            console.error(error.description)
        } else if error is CancellationError {
            console.error("interrupted: stopped before the end; the run is recorded as interrupted")
        } else {
            console.error(
                "internal error: \(error)\n  hint: this is a bug in mlops; please report it with the command you ran")
        }
        if console.mode == .json {
            try? console.json(JSONErrorOutput(error, details: diagnostics.map(\.description)))
        }
        return status.rawValue
    }
}

/// Errors that carry several diagnostics, each printed on its own `error:` line.
protocol ConfigErrorDiagnostics {
    var all: [any MLOpsError] { get }
}
