import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline
import Release
import Tracking

extension MLOps {
    struct Verify: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract:
                "Check a bundle: every file against the manifest, the provenance, the signature, the archive itself.",
            discussion: """
                BUNDLE is a .tar.zst file or NAME@VERSION / NAME@CHANNEL in the registry (then its \
                identity must also be the one recorded when it was released). Nothing is unpacked. \
                When the project signs (release.signing_key or release.public_keys) or --key is \
                given, a signature by a trusted key is required, unless release.require_signature \
                is false. Exit 0 when everything matches, 1 naming the first mismatch.
                """)
        static let jsonSchema = "mlops.verify/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A bundle file, or NAME@VERSION or NAME@CHANNEL in the registry.")
        var bundle: String

        @Option(help: ArgumentHelp("A public key (PEM) to accept; repeatable.", valueName: "file"))
        var key: [String] = []

        struct Output: Encodable {
            let bundle: String
            let name: String
            let version: String
            let identity: String
            let files: Int
            let signed: Bool
            let signedBy: String?
            /// What was checked: hashes, provenance, signature (docs/release.md).
            let checked: [String: String]
        }

        func run(context: CommandContext) async throws {
            let verified: BundleReader.Verified
            let path: String
            if FileManager.default.fileExists(atPath: bundle) {
                let root = try context.projectRoot()
                // The project's policy and keys, with --key trusted too; outside a project a
                // signature is required only when --key is given.
                let inProject = FileManager.default.fileExists(
                    atPath: root.appendingPathComponent(MLOpsConfig.fileName).path)
                let signatures =
                    inProject
                    ? try context.releases(extraKeys: key).signatures
                    : try SignaturePolicy.configured(nil, extraKeys: key, root: root, environment: context.environment)
                path = bundle
                verified = try BundleReader.open(URL(fileURLWithPath: bundle), signatures: signatures)
            } else {
                let session = try context.releases(extraKeys: key)
                let event = try session.resolve(bundle)
                path = try session.registry.bundleFile(event.name, event.version).path
                verified = try session.verify(event)
            }
            let manifest = verified.manifest
            if context.console.mode == .json {
                try context.console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            bundle: path, name: manifest.name, version: manifest.version, identity: verified.identity,
                            files: manifest.files.count, signed: verified.signed, signedBy: verified.signedBy,
                            checked: verified.signature.checked)))
            } else {
                let signature = "signature " + verified.signature.description
                context.console.line(
                    context.console.style("verified", .green, bold: true)
                        + " \(manifest.name)@\(manifest.version)  \(verified.identity)")
                context.console.line(
                    "  \(manifest.files.count) files match manifest.json; provenance subjects match; \(signature)")
            }
        }
    }

    struct Promote: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "promote",
            abstract: "Point a channel at a released version, after verifying it and its gates.",
            discussion: """
                Verifies the bundle (hashes, provenance, and the signature when public keys are \
                configured: then it is required), that both gates blessed it, and the channel order \
                of release.channels: a version enters a channel only after it was in the one before \
                (staging before production). Records a promote event in the ledger with the evidence \
                relied on (docs/release.md).
                """)
        static let jsonSchema = "mlops.promote/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "NAME@VERSION (or NAME@CHANNEL, to promote what another channel holds).")
        var reference: String

        @Option(help: "The channel to move.")
        var to: String

        @Option(help: "Why, for the ledger.")
        var reason: String?

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            let event = try Publisher(session: session).promote(reference, to: to, reason: reason)
            try Self.report(event, context: context, schema: Self.jsonSchema)
            try Self.mirror(event, session: session, context: context)
        }

        /// The channel's move, as an alias in the MLflow model registry when tracking is on.
        static func mirror(_ event: LedgerEvent, session: ReleaseSession, context: CommandContext) throws {
            try TrackingHook.afterRegistryChange(
                RegistryChange(
                    event: event.event == .rollback ? .rollback : .promote, name: event.name, version: event.version,
                    identity: event.identity, channel: event.channel, run: nil),
                session: session, environment: context.environment, console: context.console)
        }

        static func report(_ event: LedgerEvent, context: CommandContext, schema: String) throws {
            if context.console.mode == .json {
                try context.console.json(JSONOutput(schema: schema, result: event))
            } else {
                let from = event.previous.map { " (was \($0))" } ?? " (was empty)"
                context.console.line(
                    context.console.style(event.event == .promote ? "promoted" : "rolled back", .green, bold: true)
                        + " \(event.channel ?? "?") → \(event.name)@\(event.version)\(from)  \(event.identity)")
            }
        }
    }

    struct Rollback: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Point a channel back at the version it held before its last promotion.",
            discussion: """
                Each promotion pushes a version on the channel's history and each rollback pops \
                one, so rolling back twice goes two versions back. The bundle is verified first. \
                Recorded in the ledger.
                """)
        static let jsonSchema = "mlops.rollback/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The channel, or NAME@CHANNEL for another bundle name than this project's.")
        var channel: String

        @Option(help: "Why, for the ledger.")
        var reason: String?

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            let event = try Publisher(session: session).rollback(channel, reason: reason)
            try Promote.report(event, context: context, schema: Self.jsonSchema)
            try Promote.mirror(event, session: session, context: context)
        }
    }

    struct Push: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Unpack a verified bundle into DIR/NAME/VERSION/, the layout model servers watch (TFX Pusher).",
            discussion: """
                The bundle is verified, unpacked into a hidden folder beside the destination and \
                renamed into place, so a watcher sees the whole version or nothing. An existing \
                version folder is never overwritten.
                """)
        static let jsonSchema = "mlops.push/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "NAME@CHANNEL or NAME@VERSION.")
        var reference: String

        @Option(help: ArgumentHelp("The serving directory.", valueName: "dir"))
        var to: String

        struct Output: Encodable {
            let name: String
            let version: String
            let identity: String
            let path: String
        }

        func run(context: CommandContext) async throws {
            let (release, destination) = try Publisher(session: try context.releases()).push(
                reference, to: URL(fileURLWithPath: to))
            let name = release.name
            if context.console.mode == .json {
                try context.console.json(
                    JSONOutput(
                        schema: Self.jsonSchema,
                        result: Output(
                            name: name, version: release.version, identity: release.identity, path: destination.path)))
            } else {
                context.console.line(
                    context.console.style("pushed", .green, bold: true)
                        + " \(name)@\(release.version) to \(destination.path)")
            }
        }
    }
}
