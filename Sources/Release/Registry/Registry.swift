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
    /// Runs `body` holding the write lock of `name`, waiting up to `timeout` seconds for it.
    func withLock<T>(_ name: String, timeout: Double, _ body: () throws -> T) throws -> T
    /// A new local folder to stage a version in: ``RegistryLayout/bundleFileName(_:_:)`` and
    /// `manifest.json`.
    func makeStaging(_ name: String) throws(ReleaseError) -> URL
    /// Publishes a staged version and records its release event; under the lock. A version
    /// that exists already is `.versionExists`.
    func publish(staging: URL, event: LedgerEvent) throws(ReleaseError)
    /// Records a promote or rollback event and moves the channel; under the lock.
    func move(_ event: LedgerEvent) throws(ReleaseError)
}

/// How a version's files are named, in every backend.
public enum RegistryLayout {
    public static func bundleFileName(_ name: String, _ version: String) -> String { "\(name)-\(version).tar.zst" }
}

extension Registry {
    /// `name@version` or `name@channel` to a released version's event.
    public func resolve(_ name: String, _ selector: String, channels: [String]) throws(ReleaseError) -> LedgerEvent {
        let state = try state(name)
        if (try? SemanticVersion(parsing: selector)) != nil {
            guard let event = state.release(selector) else {
                throw ReleaseError.notFound("\(name)@\(selector)", available: state.releases.map(\.version))
            }
            return event
        }
        guard let pointer = state.channel(selector) else {
            if channels.contains(selector) || state.channels().keys.contains(selector) {
                throw ReleaseError.notFound("\(name)@\(selector) (the channel holds no version yet)", available: [])
            }
            throw ReleaseError.notFound(
                "\(name)@\(selector)", available: state.releases.map(\.version) + channels.map { "@\($0)" })
        }
        guard let release = state.release(pointer.version) else {
            throw ReleaseError.notFound("\(name)@\(pointer.version)", available: [])
        }
        return release
    }

}

/// The state of one name: its events and the versions and channels they define.
public struct RegistryState: Sendable {
    public let name: String
    public let events: [LedgerEvent]
    public let warnings: [String]

    public init(name: String, events: [LedgerEvent], warnings: [String]) {
        self.name = name
        self.events = events
        self.warnings = warnings
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

    /// Whether `version` was ever promoted to `channel`.
    public func wasPromoted(_ version: String, to channel: String) -> Bool {
        events.contains { $0.event == .promote && $0.channel == channel && $0.version == version }
    }
}
