import Foundation
import MLOpsCore

/// The registry in a directory (docs/release.md), the embedded backend of ``Registry``:
///
/// ```
/// REGISTRY/NAME/VERSION/NAME-VERSION.tar.zst   the bundle
/// REGISTRY/NAME/VERSION/manifest.json          its manifest, for listing without unpacking
/// REGISTRY/NAME/ledger.jsonl                   release, promote and rollback events, appended
/// REGISTRY/NAME/channels/CHANNEL.json          where each channel points (derived from the ledger)
/// REGISTRY/NAME/.lock                          flock(2) lock of every write under NAME
/// ```
///
/// The ledger is the truth: a version is published when its release event is written, and a
/// channel points where its last promote or rollback event says. Every write is atomic
/// (temporary name, fsync, rename, fsync of the folder) and done under the lock, so
/// concurrent jobs cannot tear a bundle, lose an event or publish a version twice.
public struct DirectoryRegistry: Registry {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public func folder(_ name: String) -> URL { directory.appendingPathComponent(name, isDirectory: true) }
    public func ledger(_ name: String) -> Ledger { Ledger(url: folder(name).appendingPathComponent("ledger.jsonl")) }

    public func versionFolder(_ name: String, _ version: String) -> URL {
        folder(name).appendingPathComponent(version, isDirectory: true)
    }

    public var location: String { directory.path }

    public func bundle(_ name: String, _ version: String) -> URL {
        versionFolder(name, version).appendingPathComponent(RegistryLayout.bundleFileName(name, version))
    }

    public func bundleAddress(_ name: String, _ version: String) -> String { bundle(name, version).path }

    /// The bundle file itself, which must exist.
    public func bundleFile(_ name: String, _ version: String) throws(ReleaseError) -> URL {
        let url = bundle(name, version)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ReleaseError.io(path: url.path, detail: "the bundle is missing from the registry")
        }
        return url
    }

    public func manifest(_ name: String, _ version: String) throws(ReleaseError) -> BundleManifest {
        let url = versionFolder(name, version).appendingPathComponent(BundleManifest.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ReleaseError.io(path: url.path, detail: "cannot be read")
        }
        do { return try JSONDecoder().decode(BundleManifest.self, from: data) } catch {
            throw ReleaseError.io(path: url.path, detail: "is not a bundle manifest (\(error))")
        }
    }

    /// Bundle names in the registry (folders with a ledger).
    public func names() throws(ReleaseError) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return entries.filter {
            !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: ledger($0).url.path)
        }.sorted()
    }

    // MARK: - Reading the ledger

    public func state(_ name: String) throws(ReleaseError) -> RegistryState {
        let (events, warnings) = try ledger(name).read()
        return RegistryState(
            name: name, events: events.filter { $0.name == name }, warnings: warnings,
            revision: events.count + warnings.count)
    }

    // MARK: - Writing

    /// Runs `body` holding the lock of `name`, waiting up to `timeout` seconds for it; stale
    /// leftovers of writers that died (staging folders, version folders without a release
    /// event) are removed first.
    public func transaction<T>(_ name: String, timeout: Double, _ body: () throws -> T) throws -> T {
        let folder = folder(name)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ReleaseError.io(path: folder.path, detail: "cannot be created: \(error.localizedDescription)")
        }
        let lock = try FileLock(path: folder.appendingPathComponent(".lock").path, timeout: timeout)
        defer { lock.unlock() }
        try removeLeftovers(name)
        return try body()
    }

    /// A staging folder for a new version's files, beside the versions (hidden, named after
    /// this process so a later writer can tell it was abandoned).
    public func makeStaging(_ name: String) throws(ReleaseError) -> URL {
        let staging = folder(name).appendingPathComponent(
            ".staging-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))",
            isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw ReleaseError.io(path: staging.path, detail: "cannot be created: \(error.localizedDescription)")
        }
        return staging
    }

    /// Publishes a staged version (its bundle and manifest copy) and records the release
    /// event. Call it holding the lock. The folder's rename is the commit point of the files;
    /// the event's line, the one of the release.
    public func publish(staging: URL, event: LedgerEvent, over _: RegistryState) throws(ReleaseError) {
        let state = try state(event.name)
        if state.release(event.version) != nil {
            throw ReleaseError.versionExists(name: event.name, version: event.version)
        }
        let target = versionFolder(event.name, event.version)
        Self.syncFiles(in: staging)
        guard rename(staging.path, target.path) == 0 else {
            throw ReleaseError.io(path: target.path, detail: "cannot be created: \(String(cString: strerror(errno)))")
        }
        Self.syncFolder(folder(event.name))
        try ledger(event.name).append(event)
    }

    /// Records a promote or rollback event and rewrites the channel pointer. Call it holding the lock.
    public func move(_ event: LedgerEvent, over _: RegistryState) throws(ReleaseError) {
        guard let channel = event.channel else { throw ReleaseError.io(path: "", detail: "an event without a channel") }
        try ledger(event.name).append(event)
        let channels = folder(event.name).appendingPathComponent("channels", isDirectory: true)
        let pointer: [String: String] = [
            "name": event.name, "channel": channel, "version": event.version, "identity": event.identity,
            "since": event.time,
        ]
        do {
            try FileManager.default.createDirectory(at: channels, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(pointer), to: channels.appendingPathComponent("\(channel).json"))
        } catch {
            throw ReleaseError.io(path: channels.path, detail: "the channel pointer cannot be written: \(error)")
        }
    }

    /// Staging folders of processes that are gone, and version folders no release event
    /// names (a writer killed between its rename and its event).
    func removeLeftovers(_ name: String) throws {
        let folder = folder(name)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let released = Set(try state(name).releases.map(\.version))
        for entry in entries {
            if entry.hasPrefix(".staging-") {
                let pid = entry.split(separator: "-").dropFirst().first.flatMap { Int32($0) }
                if let pid, pid != ProcessInfo.processInfo.processIdentifier, kill(pid, 0) != 0, errno == ESRCH {
                    try? FileManager.default.removeItem(at: folder.appendingPathComponent(entry))
                }
            } else if (try? SemanticVersion(parsing: entry)) != nil, !released.contains(entry) {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(entry))
            }
        }
    }

    static func syncFolder(_ url: URL) {
        let descriptor = open(url.path, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    static func syncFiles(in folder: URL) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
            let descriptor = open(folder.appendingPathComponent(name).path, O_RDONLY)
            if descriptor >= 0 {
                fsync(descriptor)
                close(descriptor)
            }
        }
        syncFolder(folder)
    }
}

/// An exclusive `flock(2)` on a lock file, waited for up to a timeout; released on unlock
/// or when the process dies (the kernel drops it), so a killed writer never leaves it held.
final class FileLock {
    private var descriptor: Int32

    init(path: String, timeout: Double) throws(ReleaseError) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ReleaseError.io(path: path, detail: String(cString: strerror(errno))) }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let detail = String(cString: strerror(errno))
                close(descriptor)
                throw ReleaseError.io(path: path, detail: "cannot be locked: \(detail)")
            }
            guard Date() < deadline else {
                close(descriptor)
                throw ReleaseError.locked(path: path, seconds: timeout)
            }
            usleep(20_000)
        }
    }

    func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
