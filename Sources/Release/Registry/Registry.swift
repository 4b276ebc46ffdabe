import Foundation
import MLOpsCore

/// The release registry (docs/release.md): bundles by name and version, and per name an
/// append-only ledger of release, promote and rollback events from which the channels
/// follow. The commands and ``Publisher`` use only this protocol; ``DirectoryRegistry`` is
/// the embedded backend.
///
/// A backend reports failures as ``ReleaseError``s whose exit status fits them: a lock or a
/// conditional write lost to another writer `.locked` (75, retry); a server that cannot be
/// reached or cut off, or a file that cannot be written, `.io` (74); bad settings or
/// credentials `.invalidRegistry` (78). Publishing is atomic: a version is either published
/// with its release event or not at all.
public protocol Registry: Sendable {
    /// Where the registry is, for messages (a path, or a URL without credentials).
    var location: String { get }
    /// Bundle names in the registry.
    func names() throws(ReleaseError) -> [String]
    /// The ledger of `name` and what it defines.
    func state(_ name: String) throws(ReleaseError) -> RegistryState
    /// The manifest kept beside a version's bundle, for listing without reading the bundle.
    func manifest(_ name: String, _ version: String) throws(ReleaseError) -> BundleManifest
    /// A local file with the bundle's bytes (the file itself here, a download for a remote backend).
    func bundleFile(_ name: String, _ version: String) throws(ReleaseError) -> URL
    /// Where a version's bundle is kept, for messages and output (a path or an `s3://` URL).
    func bundleAddress(_ name: String, _ version: String) -> String
    /// Runs `body` as one write to `name`, which reads inside it the state it decides on and
    /// passes that state to ``publish(staging:event:over:)`` or ``move(_:over:)``: holding the
    /// name's lock (a folder), or from the start again each time a conditional write loses to
    /// another writer (`.conflict`, object storage), for up to `timeout` seconds in all. A
    /// release run again keeps the version it chose unless ``RegistryState/isTaken(_:)`` says
    /// another writer holds it (its own claim is never in ``RegistryState/claimed``), or the
    /// version it claimed is left without an event.
    func transaction<T>(_ name: String, timeout: Double, _ body: () throws -> T) throws -> T
    /// A new local folder to stage a version in: ``RegistryLayout/bundleFileName(_:_:)`` and
    /// `manifest.json`.
    func makeStaging(_ name: String) throws(ReleaseError) -> URL
    /// Publishes a staged version and records its release event after the events of `state`;
    /// in a transaction. A version another writer holds is `.versionExists` or `.conflict`.
    func publish(staging: URL, event: LedgerEvent, over state: RegistryState) throws(ReleaseError)
    /// Records a promote or rollback event after the events of `state`; in a transaction.
    func move(_ event: LedgerEvent, over state: RegistryState) throws(ReleaseError)
}

/// How a version's files are named, in every backend.
public enum RegistryLayout {
    public static func bundleFileName(_ name: String, _ version: String) -> String { "\(name)-\(version).tar.zst" }
}

extension Registry {
    /// `name@version` or `name@channel` to a released version's event.
    public func resolve(_ name: String, _ selector: String, channels: [String]) throws(ReleaseError) -> LedgerEvent {
        try state(name).resolve(selector, channels: channels)
    }
}

/// The state of one name: its events and the versions and channels they define.
public struct RegistryState: Sendable {
    public let name: String
    public let events: [LedgerEvent]
    public let warnings: [String]
    /// The ledger's length when it was read, counting unreadable entries: a backend with
    /// conditional writes appends the next event at `revision + 1`.
    public let revision: Int
    /// Versions whose bundle is in the registry without a release event, held by another
    /// writer (a release in progress, or one that died before its event): never taken again.
    public let claimed: Set<String>

    public init(name: String, events: [LedgerEvent], warnings: [String], revision: Int = 0, claimed: Set<String> = []) {
        self.name = name
        self.events = events
        self.warnings = warnings
        self.revision = revision
        self.claimed = claimed
    }

    /// Whether a new release may take `version`: neither released nor held by another writer.
    public func isTaken(_ version: String) -> Bool { release(version) != nil || claimed.contains(version) }

    /// The highest version released or held, which a bump starts from.
    public var latestTaken: SemanticVersion? {
        (versions + claimed.compactMap { try? SemanticVersion(parsing: $0) }).max()
    }

    /// Released versions, oldest first, with their release event.
    public var releases: [LedgerEvent] { events.filter { $0.event == .release } }

    public func release(_ version: String) -> LedgerEvent? { releases.first { $0.version == version } }

    public var versions: [SemanticVersion] {
        releases.compactMap { try? SemanticVersion(parsing: $0.version) }.sorted()
    }

    /// Each channel's history as a stack (promote pushes, rollback pops), replaying the
    /// events up to `time` (all when nil).
    public func channels(at time: Date? = nil) -> [String: [LedgerEvent]] {
        var stacks: [String: [LedgerEvent]] = [:]
        for event in events {
            if let time, let date = event.date, date > time { break }
            guard let channel = event.channel else { continue }
            switch event.event {
            case .promote: stacks[channel, default: []].append(event)
            case .rollback:
                if !(stacks[channel]?.isEmpty ?? true) { stacks[channel]?.removeLast() }
            case .release: break
            }
        }
        return stacks.filter { !$0.value.isEmpty }
    }

    /// The version a channel points at (at `time`), with the event that put it there.
    public func channel(_ channel: String, at time: Date? = nil) -> LedgerEvent? {
        channels(at: time)[channel]?.last
    }

    /// `version` or `channel` (of `channels`, or one the ledger names) to a released version's event.
    public func resolve(_ selector: String, channels: [String]) throws(ReleaseError) -> LedgerEvent {
        if (try? SemanticVersion(parsing: selector)) != nil {
            guard let event = release(selector) else {
                throw ReleaseError.notFound("\(name)@\(selector)", available: releases.map(\.version))
            }
            return event
        }
        guard let pointer = channel(selector) else {
            if channels.contains(selector) || self.channels().keys.contains(selector) {
                throw ReleaseError.notFound("\(name)@\(selector) (the channel holds no version yet)", available: [])
            }
            throw ReleaseError.notFound(
                "\(name)@\(selector)", available: releases.map(\.version) + channels.map { "@\($0)" })
        }
        guard let release = release(pointer.version) else {
            throw ReleaseError.notFound("\(name)@\(pointer.version)", available: [])
        }
        return release
    }

    /// Whether `version` was ever promoted to `channel`.
    public func wasPromoted(_ version: String, to channel: String) -> Bool {
        events.contains { $0.event == .promote && $0.channel == channel && $0.version == version }
    }
}
