import ArgumentParser
import Foundation
import Gates
import MLOpsCore
import Pipeline
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

        struct Entry: Encodable {
            let name: String
            let versions: [LedgerEvent]
            let channels: [String: String]
        }

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            let names = try name.map { [$0] } ?? session.registry.names()
            var entries: [Entry] = []
            for name in names {
                let state = try session.registry.state(name)
                for warning in state.warnings { context.console.warning(warning) }
                if state.releases.isEmpty, self.name != nil {
                    throw ReleaseError.notFound(name, available: try session.registry.names())
                }
                entries.append(
                    Entry(
                        name: name, versions: state.releases,
                        channels: state.channels().mapValues { $0.last?.version ?? "" }))
            }
            let console = context.console
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, result: entries))
                return
            }
            if entries.isEmpty { console.line("no releases in \(session.location.directory.path)") }
            for entry in entries {
                console.line(console.style(entry.name, .cyan, bold: true) + "  (\(session.location.directory.path))")
                for release in entry.versions.reversed() {
                    let channels = entry.channels.filter { $0.value == release.version }.keys.sorted()
                    let marks = channels.isEmpty ? "" : "  ← " + channels.joined(separator: ", ")
                    console.line(
                        "  \(release.version.padding(toLength: 12, withPad: " ", startingAt: 0)) \(release.time)  "
                            + "\(String(release.identity.prefix(19)))…  \(release.actor)\(marks)")
                }
            }
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

        struct Output: Encodable {
            let release: LedgerEvent
            let manifest: BundleManifest
            let events: [LedgerEvent]
        }

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            let (name, selector) = try session.reference(reference)
            let release = try session.registry.resolve(name, selector, channels: session.channels)
            let manifest = try Self.manifest(session, release)
            let events = try session.registry.state(name).events.filter { $0.version == release.version }
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, result: Output(release: release, manifest: manifest, events: events)))
                return
            }
            console.line(console.style("\(name)@\(release.version)", .cyan, bold: true) + "  \(release.identity)")
            console.line("  created   \(manifest.created) by \(manifest.tool)")
            console.line(
                "  commit    \(manifest.git.commit ?? "none")\(manifest.git.dirty ? " (dirty)" : "")"
                    + (manifest.git.branch.map { " on \($0)" } ?? "") + (manifest.git.remote.map { ", \($0)" } ?? ""))
            console.line("  data      spans \(manifest.data.spans.map(String.init).joined(separator: ", "))")
            for source in manifest.data.sources { console.line("            \(source.path)  \(source.fingerprint)") }
            console.line(
                "  gates     model \(manifest.gates.modelBlessed ? "blessed" : "NOT blessed"), infra "
                    + (manifest.gates.infraBlessed ? "blessed" : "NOT blessed")
                    + ", \(manifest.gates.checks.count) checks"
                    + (manifest.gates.baseline.map { ", baseline \($0)" } ?? ""))
            for (metric, value) in manifest.gates.metrics.sorted(by: { $0.key < $1.key })
            where metric != "example_count" {
                console.line(
                    "            \(metric.padding(toLength: 18, withPad: " ", startingAt: 0)) \(String(format: "%.4f", value))"
                )
            }
            console.line("  files")
            for file in manifest.files {
                console.line(
                    "            \(file.path.padding(toLength: 28, withPad: " ", startingAt: 0)) \(file.size) B  \(file.sha256.prefix(16))…"
                )
            }
            console.line("  events")
            for event in events { console.line("            " + History.describe(event)) }
        }

        /// The manifest kept beside the bundle (the bundle itself is what `mlops verify` checks).
        static func manifest(_ session: ReleaseSession, _ release: LedgerEvent) throws -> BundleManifest {
            try session.registry.manifest(release.name, release.version)
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

        struct Output: Encodable {
            let name: String
            let at: String?
            let events: [LedgerEvent]
            let channels: [String: LedgerEvent]?
        }

        static func describe(_ event: LedgerEvent) -> String {
            let what: String =
                switch event.event {
                case .release: "release  \(event.version)"
                case .promote:
                    "promote  \(event.channel ?? "?") → \(event.version)"
                        + (event.previous.map { " (was \($0))" } ?? "")
                case .rollback: "rollback \(event.channel ?? "?") → \(event.version) (was \(event.previous ?? "?"))"
                }
            let evidence =
                event.evidence.map {
                    " [model \($0.modelBlessed ? "blessed" : "NOT blessed"), infra \($0.infraBlessed ? "blessed" : "NOT blessed"), "
                        + "\($0.checksPassed) checks passed, \($0.checksFailed) failed"
                        + ($0.signedBy.map { ", signed by \($0.prefix(16))" } ?? "") + "]"
                } ?? ""
            return "\(event.time)  \(what)  by \(event.actor)" + (event.reason.map { ": \($0)" } ?? "") + evidence
        }

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            guard let name = name ?? session.projectName else { throw ReleaseError.invalidReference("") }
            let state = try session.registry.state(name)
            for warning in state.warnings { context.console.warning(warning) }
            guard !state.events.isEmpty else { throw ReleaseError.notFound(name, available: try session.registry.names()) }
            let time = at.flatMap(LedgerEvent.parse)
            var events = state.events.filter { event in
                guard let time, let date = event.date else { return true }
                return date <= time
            }
            if let channel { events = events.filter { $0.channel == channel } }
            var channels: [String: LedgerEvent]?
            if time != nil {
                channels = state.channels(at: time).compactMapValues(\.last).filter {
                    channel == nil || $0.key == channel
                }
            }
            let console = context.console
            if console.mode == .json {
                try console.json(
                    JSONOutput(
                        schema: Self.jsonSchema, result: Output(name: name, at: at, events: events, channels: channels))
                )
                return
            }
            if let channels {
                console.line(console.style("\(name) at \(at ?? "")", .cyan, bold: true))
                let names = channel.map { [$0] } ?? session.channels
                for name in names {
                    if let event = channels[name] {
                        console.line(
                            "  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(event.version)  since "
                                + Self.describe(event))
                    } else {
                        console.line("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) (empty)")
                    }
                }
                return
            }
            for event in events { console.line(Self.describe(event)) }
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

        struct Row: Encodable {
            let field: String
            let a: String
            let b: String
            let delta: String?
        }

        func run(context: CommandContext) async throws {
            let session = try context.releases()
            let left = try session.reference(a)
            let right = try session.reference(b)
            let releaseA = try session.registry.resolve(left.name, left.selector, channels: session.channels)
            let releaseB = try session.registry.resolve(right.name, right.selector, channels: session.channels)
            let x = try Show.manifest(session, releaseA)
            let y = try Show.manifest(session, releaseB)
            var rows: [Row] = [
                Row(field: "version", a: x.version, b: y.version, delta: nil),
                Row(field: "created", a: x.created, b: y.created, delta: nil),
                Row(field: "commit", a: x.git.commit ?? "none", b: y.git.commit ?? "none", delta: nil),
                Row(field: "dirty", a: String(x.git.dirty), b: String(y.git.dirty), delta: nil),
                Row(
                    field: "config", a: String(x.configSHA256.prefix(16)), b: String(y.configSHA256.prefix(16)),
                    delta: nil),
                Row(
                    field: "spans", a: x.data.spans.map(String.init).joined(separator: ","),
                    b: y.data.spans.map(String.init).joined(separator: ","), delta: nil),
                Row(field: "examples", a: x.data.examples ?? "—", b: y.data.examples ?? "—", delta: nil),
            ]
            let sourcesA = Dictionary(x.data.sources.map { ($0.path, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
            let sourcesB = Dictionary(y.data.sources.map { ($0.path, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
            for path in Set(sourcesA.keys).union(sourcesB.keys).sorted() {
                rows.append(Row(field: "data " + path, a: sourcesA[path] ?? "—", b: sourcesB[path] ?? "—", delta: nil))
            }
            for metric in Set(x.gates.metrics.keys).union(y.gates.metrics.keys).sorted() where metric != "example_count"
            {
                let (p, q) = (x.gates.metrics[metric], y.gates.metrics[metric])
                rows.append(
                    Row(
                        field: metric, a: p.map { String(format: "%.4f", $0) } ?? "—",
                        b: q.map { String(format: "%.4f", $0) } ?? "—",
                        delta: p.flatMap { p in q.map { String(format: "%+.4f", $0 - p) } }))
            }
            let filesA = Dictionary(x.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
            let filesB = Dictionary(y.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
            for path in Set(filesA.keys).union(filesB.keys).sorted() where filesA[path] != filesB[path] {
                rows.append(
                    Row(
                        field: "file " + path, a: filesA[path].map { String($0.prefix(16)) } ?? "—",
                        b: filesB[path].map { String($0.prefix(16)) } ?? "—", delta: nil))
            }
            let console = context.console
            if console.mode == .json {
                try console.json(JSONOutput(schema: Self.jsonSchema, result: rows))
                return
            }
            let width = max(12, rows.map(\.field.count).max() ?? 0)
            let column = max(14, rows.map(\.a.count).max() ?? 0)
            console.line(
                "field".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + "\(releaseA.name)@\(releaseA.version)".padding(toLength: column, withPad: " ", startingAt: 0)
                    + "  \(releaseB.name)@\(releaseB.version)")
            for row in rows {
                let changed = row.a != row.b
                let line =
                    row.field.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + row.a.padding(toLength: column, withPad: " ", startingAt: 0) + "  " + row.b
                    + (row.delta.map { "  (\($0))" } ?? "")
                console.line(changed ? console.style(line, .yellow) : line)
            }
        }
    }
}
