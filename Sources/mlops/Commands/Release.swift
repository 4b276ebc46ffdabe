import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline
import Release
import Tracking

extension SemanticVersion.Bump: ExpressibleByArgument {}

extension MLOps {
    struct Release: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Gate the model and publish it as a versioned, reproducible, verifiable bundle in the registry.",
            discussion: """
                Runs the gate first (`mlops gate`, cached when nothing changed) and refuses with exit 1 \
                a model without both blessings, or a working tree with uncommitted changes unless \
                --allow-dirty (the manifest then says dirty). The bundle NAME-VERSION.tar.zst holds the \
                model, its fitted transform and schema, the evaluation and infra results, the data \
                checks and statistics, the gate reports, manifest.json (every file's SHA-256, the \
                commit, the data fingerprints, the executions, the gates' checks) and provenance.json \
                (SLSA provenance v1), signed into provenance.dsse.json with release.signing_key. The \
                same model gives the same bytes. The version is --version, else the latest one bumped \
                (--bump, patch by default; the first release is 0.1.0) (docs/release.md).
                """)
        static let jsonSchema = "mlops.release/v1"

        @OptionGroup var global: GlobalOptions

        @OptionGroup var checkout: CheckoutOptions

        @Option(help: "The version to publish (MAJOR.MINOR.PATCH[-PRERELEASE]); it must not exist yet.")
        var version: String?

        @Option(help: "Which part of the latest version to bump.")
        var bump: SemanticVersion.Bump = .patch

        @Flag(name: .customLong("allow-dirty"), help: "Release from a working tree with uncommitted changes.")
        var allowDirty = false

        @Flag(
            name: .customLong("no-remote-cache"),
            help: "Neither pull from nor push to the remote cache (cache.remote, MLOPS_CACHE).")
        var noRemoteCache = false

        @Option(help: "Why, for the ledger.")
        var reason: String?

        @Flag(
            name: .customLong("new-version"),
            help: "Publish a new version even when the registry already holds this very model.")
        var newVersion = false

        @Option(
            help: ArgumentHelp(
                "The gate's baseline: production, latest-blessed, none or a model folder.", valueName: "baseline"))
        var baseline: BaselineRequest?

        func validate() throws {
            try baseline?.checkFolder()
            if let version {
                do { _ = try SemanticVersion(parsing: version) } catch {
                    throw ValidationError("--version: \(error.message) (\(error.hint ?? ""))")
                }
            }
        }

        struct Output: Encodable {
            let name: String
            let version: String
            let identity: String
            let bundle: String
            let size: Int64
            let signed: Bool
            let alreadyReleased: Bool
            let manifest: BundleManifest

            enum CodingKeys: String, CodingKey {
                case name, version, identity, bundle, size, signed, alreadyReleased = "already_released", manifest
            }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let (context, clone) = try context.checkingOut(checkout)
            defer { clone?.removeUnlessKept() }
            let publisher = Publisher(session: try context.releases())
            let (name, signingKey) = try publisher.prepare(allowDirty: allowDirty)
            let run = try Gate.perform(
                context, baseline: baseline, strict: false, command: "release", remoteCache: !noRemoteCache,
                releases: publisher.session)
            defer { try? run.project.store.close() }
            if !run.gate.blessed, console.mode != .json { Gate.printVerdict(run, on: console) }
            let published = try publisher.release(
                run, name: name, version: try version.map { .exact(try SemanticVersion(parsing: $0)) } ?? .bump(bump),
                signingKey: signingKey, reason: reason, newVersion: newVersion)
            try TrackingHook.afterRegistryChange(
                RegistryChange(
                    event: .release, name: name, version: published.version, identity: published.identity,
                    channel: nil, run: run.artifacts.report.run),
                session: publisher.session, environment: context.environment, console: console)
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            name: name, version: published.version, identity: published.identity,
                            bundle: published.bundle, size: published.size, signed: published.signed,
                            alreadyReleased: published.alreadyReleased, manifest: published.manifest)))
                return
            }
            let headline = published.alreadyReleased ? "already released" : "released"
            console.line(
                console.style(headline, .green, bold: true) + " \(name)@\(published.version)  \(published.identity)")
            let size =
                published.size >= 1 << 20
                ? String(format: "%.1f MB", Double(published.size) / 1_048_576)
                : String(format: "%.1f KB", Double(published.size) / 1024)
            console.line(
                "  \(published.bundle) (\(size), \(published.manifest.files.count + 2) files, "
                    + (published.signed ? "signed" : "unsigned") + ")")
            if published.alreadyReleased {
                console.line("  the same model, data and gate evidence; --new-version publishes it again")
            }
        }
    }

    struct Keygen: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Make an Ed25519 key pair for signing releases (PEM: PKCS #8 and SubjectPublicKeyInfo).",
            discussion: """
                Writes PREFIX.key (the private key, mode 0600: keep it out of git, e.g. in a CI secret \
                read with `release.signing_key: env:MLOPS_SIGNING_KEY`) and PREFIX.pub (list it in \
                release.public_keys). Refuses to overwrite either file.
                """)
        static let jsonSchema = "mlops.keygen/v1"

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .shortAndLong, help: ArgumentHelp("Where to write PREFIX.key and PREFIX.pub.", valueName: "prefix"))
        var out: String = "mlops-release"

        struct Output: Encodable {
            let privateKey: String
            let publicKey: String
            let keyID: String
        }

        func run(context: CommandContext) async throws {
            let pair = try SigningKeys.writePair(prefix: out)
            if context.console.mode == .json {
                try context.console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            privateKey: pair.privateKey.path, publicKey: pair.publicKey.path, keyID: pair.keyID)))
            } else {
                context.console.line(
                    "wrote \(pair.privateKey.path) (private, 0600) and \(pair.publicKey.path); key id \(pair.keyID)")
            }
        }
    }
}
