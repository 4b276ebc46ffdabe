import Foundation
import MLOpsCore

/// What `mlops releases list|show|history|diff` ask of the registry, and how they print it.
public enum RegistryViews {
    // MARK: - list

    public struct ListEntry: Encodable {
        public let name: String
        public let versions: [LedgerEvent]
        public let channels: [String: String]
    }

    /// Each name (or the one asked for) with its versions and where its channels point;
    /// `warn` hears damaged ledger lines.
    public static func list(_ session: ReleaseSession, name: String?, warn: (String) -> Void) throws -> [ListEntry] {
        var entries: [ListEntry] = []
        for each in try name.map { [$0] } ?? session.registry.names() {
            let state = try session.registry.state(each)
            for warning in state.warnings { warn(warning) }
            if state.releases.isEmpty, name != nil {
                throw ReleaseError.notFound(each, available: try session.registry.names())
            }
            entries.append(
                ListEntry(
                    name: each, versions: state.releases,
                    channels: state.channels().mapValues { $0.last?.version ?? "" }))
        }
        return entries
    }

    public static func print(_ entries: [ListEntry], location: String, on console: Console) {
        if entries.isEmpty { console.line("no releases in \(location)") }
        for entry in entries {
            console.line(console.style(entry.name, .cyan, bold: true) + "  (\(location))")
            for release in entry.versions.reversed() {
                let channels = entry.channels.filter { $0.value == release.version }.keys.sorted()
                let marks = channels.isEmpty ? "" : "  ← " + channels.joined(separator: ", ")
                console.line(
                    "  \(release.version.padding(toLength: 12, withPad: " ", startingAt: 0)) \(release.time)  "
                        + "\(String(release.identity.prefix(19)))…  \(release.actor)\(marks)")
            }
        }
    }

    // MARK: - show

    public struct Shown: Encodable {
        public let release: LedgerEvent
        public let manifest: BundleManifest
        public let events: [LedgerEvent]
    }

    public static func show(_ session: ReleaseSession, _ reference: String) throws -> Shown {
        let release = try session.resolve(reference)
        return Shown(
            release: release, manifest: try session.registry.manifest(release.name, release.version),
            events: try session.registry.state(release.name).events.filter { $0.version == release.version })
    }

    public static func print(_ shown: Shown, on console: Console) {
        let (release, manifest) = (shown.release, shown.manifest)
        console.line(console.style("\(release.name)@\(release.version)", .cyan, bold: true) + "  \(release.identity)")
        console.line("  created   \(manifest.created) by \(manifest.tool)")
        console.line(
            "  commit    \(manifest.git.commit ?? "none")\(manifest.git.dirty ? " (dirty)" : "")"
                + (manifest.git.branch.map { " on \($0)" } ?? "") + (manifest.git.remote.map { ", \($0)" } ?? ""))
        console.line("  data      spans \(manifest.data.spans.map(String.init).joined(separator: ", "))")
        for source in manifest.data.sources { console.line("            \(source.path)  \(source.fingerprint)") }
        console.line(
            "  gates     model \(manifest.gates.modelBlessed ? "blessed" : "NOT blessed"), infra "
                + (manifest.gates.infraBlessed ? "blessed" : "NOT blessed") + ", \(manifest.gates.checks.count) checks"
                + (manifest.gates.baseline.map { ", baseline \($0)" } ?? ""))
        for (metric, value) in manifest.gates.metrics.sorted(by: { $0.key < $1.key }) where metric != "example_count" {
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
        for event in shown.events { console.line("            " + describe(event)) }
    }

    // MARK: - history

    public struct History: Encodable {
        public let name: String
        public let at: String?
        public let events: [LedgerEvent]
        /// What each channel held at `at`, when asked.
        public let channels: [String: LedgerEvent]?
    }

    /// Outside a project, the registry's one bundle name; with several, which to choose from.
    static func onlyName(in registry: any Registry) throws -> String {
        let names = try registry.names()
        guard names.count == 1 else {
            throw UsageError(
                names.isEmpty
                    ? "the registry \(registry.location) holds no bundle yet"
                    : "no project here names the bundle, and the registry holds \(names.count): \(names.joined(separator: ", "))",
                hint: "name it: mlops releases history NAME")
        }
        return names[0]
    }

    /// The ledger of `name` up to `at` (all when nil), of one channel when given.
    public static func history(
        _ session: ReleaseSession, name: String?, channel: String?, at: String?, warn: (String) -> Void
    ) throws -> History {
        let name = try name ?? session.projectName ?? onlyName(in: session.registry)
        let state = try session.registry.state(name)
        for warning in state.warnings { warn(warning) }
        guard !state.events.isEmpty else { throw ReleaseError.notFound(name, available: try session.registry.names()) }
        let time = at.flatMap(LedgerEvent.parse)
        var events = state.events.filter { event in
            guard let time, let date = event.date else { return true }
            return date <= time
        }
        if let channel { events = events.filter { $0.channel == channel } }
        let channels = time.map { time in
            state.channels(at: time).compactMapValues(\.last).filter { channel == nil || $0.key == channel }
        }
        return History(name: name, at: at, events: events, channels: channels)
    }

    public static func print(_ history: History, channels order: [String], on console: Console) {
        guard let channels = history.channels else {
            for event in history.events { console.line(describe(event)) }
            return
        }
        console.line(console.style("\(history.name) at \(history.at ?? "")", .cyan, bold: true))
        for name in order {
            let label = name.padding(toLength: 12, withPad: " ", startingAt: 0)
            if let event = channels[name] {
                console.line("  \(label) \(event.version)  since " + describe(event))
            } else {
                console.line("  \(label) (empty)")
            }
        }
    }

    /// One ledger event on one line: when, what, who, why, and the evidence it relied on.
    public static func describe(_ event: LedgerEvent) -> String {
        let what: String =
            switch event.event {
            case .release: "release  \(event.version)"
            case .promote:
                "promote  \(event.channel ?? "?") → \(event.version)" + (event.previous.map { " (was \($0))" } ?? "")
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
}
