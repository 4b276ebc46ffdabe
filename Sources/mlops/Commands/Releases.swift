import ArgumentParser
import Foundation
import MLOpsCore
import Release

extension MLOps {
    struct Releases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "releases",
            abstract: "What the registry holds: versions, channels, the ledger's history, differences.",
            subcommands: [List.self, Show.self, History.self, Diff.self])
    }
}

extension MLOps.Releases {
    struct List: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Every bundle name with its versions and where each channel points.")
        static let jsonSchema = "mlops.releases-list/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A bundle name (default: every name in the registry).")
        var name: String?

        func run(context: CommandContext) async throws {
            let console = context.console
            let session = try context.releases()
            let entries = try RegistryViews.list(session, name: name, warn: { console.warning($0) })
            guard console.mode == .json else {
                return RegistryViews.print(entries, location: session.registry.location, on: console)
            }
            try console.json(JSONOutput(schema: Self.jsonSchema, result: entries))
        }
    }

    struct Show: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "One released version: its manifest (files, commit, data, metrics, gate checks) and events.")
        static let jsonSchema = "mlops.releases-show/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "NAME@VERSION or NAME@CHANNEL.")
        var reference: String

        func run(context: CommandContext) async throws {
            let shown = try RegistryViews.show(try context.releases(), reference)
            guard context.console.mode == .json else { return RegistryViews.print(shown, on: context.console) }
            try context.console.json(JSONOutput(schema: Self.jsonSchema, result: shown))
        }
    }

    struct History: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "The ledger: releases, promotions and rollbacks, or what each channel held at a time.",
            discussion: """
                With --at TIME (ISO 8601, e.g. 2026-11-17T14:00Z; UTC when no zone is given) it answers \
                "what was in each channel then": the version, the event that put it there, who, why, and \
                the gate evidence it relied on. --channel keeps one channel.
                """)
        static let jsonSchema = "mlops.releases-history/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A bundle name (default: this project's).")
        var name: String?

        @Option(help: "Only this channel's events.")
        var channel: String?

        @Option(help: ArgumentHelp("What the channels held at this time.", valueName: "time"))
        var at: String?

        func validate() throws {
            if let at, LedgerEvent.parse(at) == nil {
                throw ValidationError("--at: '\(at)' is not an ISO 8601 time, e.g. 2026-11-17T14:00:00Z")
            }
        }

        func run(context: CommandContext) async throws {
            let console = context.console
            let session = try context.releases()
            let history = try RegistryViews.history(
                session, name: name, channel: channel, at: at, warn: { console.warning($0) })
            guard console.mode == .json else {
                return RegistryViews.print(history, channels: channel.map { [$0] } ?? session.channels, on: console)
            }
            try console.json(JSONOutput(schema: Self.jsonSchema, result: history))
        }
    }

    struct Diff: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Two released versions side by side: metrics, data fingerprints, commit, files.")
        static let jsonSchema = "mlops.releases-diff/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "NAME@VERSION or NAME@CHANNEL.")
        var a: String

        @Argument(help: "NAME@VERSION or NAME@CHANNEL.")
        var b: String

        func run(context: CommandContext) async throws {
            let diff = try ReleaseDiff(try context.releases(), a, b)
            guard context.console.mode == .json else { return diff.print(on: context.console) }
            try context.console.json(JSONOutput(schema: Self.jsonSchema, result: diff.rows))
        }
    }
}
