import Foundation
import MLOpsCore
import S3Kit

/// The registry on S3-compatible object storage (docs/release.md, "A registry in S3"):
///
/// ```
/// PREFIX/NAME/versions/VERSION/NAME-VERSION.tar.zst   the bundle, created once (If-None-Match: *)
/// PREFIX/NAME/versions/VERSION/manifest.json          its manifest, written after the bundle
/// PREFIX/NAME/ledger/000000000042.json                 the 42nd event, created once
/// ```
///
/// No lock server: every write that decides something is a conditional create. A version is
/// claimed by creating its bundle object (a large one completes its multipart upload
/// conditionally), so two jobs never publish the same version; an event is appended by
/// creating the ledger object after the last one read, so two jobs never both append after
/// the same state. A writer that loses either race reads the state again and decides again
/// (``transaction(_:timeout:_:)``). The ledger is the truth, as in a folder: a version is
/// published when its release event exists, channels follow from the events, and a reader
/// never sees a half-written version (S3 shows an object only when its upload completed).
public struct S3Registry: Registry {
    public let client: S3Client
    public let root: S3Location
    /// Where downloaded bundles are kept (`.mlops/downloads/` in a project).
    public let downloads: URL
    /// Where the location came from, for errors (`MLOPS_REGISTRY`, `release.registry`).
    public let setting: String
    private let memory = Memory()

    /// What this process knows that cannot change: events read (each object is created once),
    /// manifests read, and the versions it claimed itself.
    final class Memory: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [String: (LedgerEvent?, Int)] = [:]
        private var manifests: [String: BundleManifest] = [:]
        private var claims: Set<String> = []

        func event(_ key: String) -> (LedgerEvent?, Int)? { lock.withLock { events[key] } }
        func remember(_ key: String, _ event: LedgerEvent?, size: Int) { lock.withLock { events[key] = (event, size) } }
        func manifest(_ key: String) -> BundleManifest? { lock.withLock { manifests[key] } }
        func remember(_ key: String, _ manifest: BundleManifest) { lock.withLock { manifests[key] = manifest } }
        func claimed(_ key: String) -> Bool { lock.withLock { claims.contains(key) } }
        func claim(_ key: String) { lock.withLock { _ = claims.insert(key) } }
    }

    public init(client: S3Client, root: S3Location, downloads: URL, setting: String) {
        self.client = client
        self.root = root
        self.downloads = downloads
        self.setting = setting
    }

    public var location: String { root.description }

    // MARK: - Keys

    func key(_ path: String) -> String { root.key(path) }
    func ledgerPrefix(_ name: String) -> String { key("\(name)/ledger/") }
    func versionsPrefix(_ name: String) -> String { key("\(name)/versions/") }
    func bundleKey(_ name: String, _ version: String) -> String {
        key("\(name)/versions/\(version)/" + RegistryLayout.bundleFileName(name, version))
    }
    func manifestKey(_ name: String, _ version: String) -> String {
        key("\(name)/versions/\(version)/\(BundleManifest.fileName)")
    }
    /// Event numbers are zero-padded so the keys sort as the numbers do.
    func eventKey(_ name: String, _ number: Int) -> String {
        ledgerPrefix(name) + String(repeating: "0", count: max(0, 12 - String(number).count)) + "\(number).json"
    }

    public func bundleAddress(_ name: String, _ version: String) -> String {
        "s3://\(root.bucket)/\(bundleKey(name, version))"
    }

    /// Runs an S3 request, its failure as the registry's.
    func storage<T>(_ work: () throws(S3Error) -> T) throws(ReleaseError) -> T {
        do { return try work() } catch { throw ReleaseError.storage(error, setting: "\(setting) = \(root)") }
    }

    // MARK: - Reading

    public func names() throws(ReleaseError) -> [String] {
        let base = root.prefix.isEmpty ? "" : root.prefix + "/"
        let folders = try storage { () throws(S3Error) in
            try client.list(bucket: root.bucket, prefix: base, delimiter: "/").prefixes
        }
        var names: [String] = []
        for folder in folders {
            let name = String(folder.dropFirst(base.count).dropLast())
            // A name is in the registry once it has an event (a claim alone is not a release).
            let events = try storage { () throws(S3Error) in
                try client.list(bucket: root.bucket, prefix: ledgerPrefix(name), pageSize: 1, firstPageOnly: true)
                    .objects
            }
            if !events.isEmpty { names.append(name) }
        }
        return names.sorted()
    }

    public func state(_ name: String) throws(ReleaseError) -> RegistryState {
        let prefix = ledgerPrefix(name)
        let listed = try storage { () throws(S3Error) in try client.list(bucket: root.bucket, prefix: prefix).objects }
        var numbered: [(number: Int, key: String)] = []
        for object in listed {
            let file = object.key.dropFirst(prefix.count)
            guard file.hasSuffix(".json"), let number = Int(file.dropLast(5)) else { continue }
            numbered.append((number, object.key))
        }
        numbered.sort { $0.number < $1.number }
        var events: [LedgerEvent] = []
        var warnings: [String] = []
        let decoder = JSONDecoder()
        for (number, key) in numbered {
            let known: (LedgerEvent?, Int)
            if let cached = memory.event(key) {
                known = cached
            } else {
                let data = try storage { () throws(S3Error) in try client.get(bucket: root.bucket, key: key) }
                guard let data else { continue }
                let event = try? decoder.decode(LedgerEvent.self, from: data)
                memory.remember(key, event, size: data.count)
                known = (event, data.count)
            }
            if let event = known.0, event.name == name {
                events.append(event)
            } else {
                warnings.append(
                    "s3://\(root.bucket)/\(key): an unreadable ledger event (\(known.1) bytes, number \(number)) was skipped"
                )
            }
        }
        let released = Set(events.filter { $0.event == .release }.map(\.version))
        let versions = try storage { () throws(S3Error) in
            try client.list(bucket: root.bucket, prefix: versionsPrefix(name)).objects
        }
        var claimed: Set<String> = []
        for object in versions where object.key.hasSuffix(".tar.zst") && !memory.claimed(object.key) {
            let version = object.key.dropFirst(versionsPrefix(name).count).split(separator: "/").first.map(String.init)
            if let version, !released.contains(version) { claimed.insert(version) }
        }
        return RegistryState(
            name: name, events: events, warnings: warnings, revision: numbered.last?.number ?? 0, claimed: claimed)
    }

    public func manifest(_ name: String, _ version: String) throws(ReleaseError) -> BundleManifest {
        let key = manifestKey(name, version)
        if let known = memory.manifest(key) { return known }
        let data = try storage { () throws(S3Error) in try client.get(bucket: root.bucket, key: key) }
        guard let data else {
            throw ReleaseError.io(path: "s3://\(root.bucket)/\(key)", detail: "is missing from the registry")
        }
        do {
            let manifest = try JSONDecoder().decode(BundleManifest.self, from: data)
            memory.remember(key, manifest)
            return manifest
        } catch {
            throw ReleaseError.io(path: "s3://\(root.bucket)/\(key)", detail: "is not a bundle manifest (\(error))")
        }
    }

    /// The bundle, downloaded into ``downloads`` and kept while it has the SHA-256 the bucket
    /// recorded at upload (one HEAD request checks; a changed copy is downloaded again). Every
    /// use verifies the file against the ledger's identity, as for a folder registry.
    public func bundleFile(_ name: String, _ version: String) throws(ReleaseError) -> URL {
        let folder = downloads.appendingPathComponent(root.bucket, isDirectory: true)
            .appendingPathComponent(key("\(name)/versions/\(version)"), isDirectory: true)
        let file = folder.appendingPathComponent(RegistryLayout.bundleFileName(name, version))
        if FileManager.default.fileExists(atPath: file.path) {
            let recorded = try storage { () throws(S3Error) in
                try client.head(bucket: root.bucket, key: bundleKey(name, version))?.sha256
            }
            let local = try? Hex.string(S3Client.sha256(of: file))
            if let recorded, recorded == local { return file }
            try? FileManager.default.removeItem(at: file)
        }
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw ReleaseError.io(path: folder.path, detail: "cannot be created: \(error.localizedDescription)")
        }
        let partial = folder.appendingPathComponent(
            ".\(file.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: partial) }
        let key = bundleKey(name, version)
        let found = try storage { () throws(S3Error) in try client.download(bucket: root.bucket, key: key, to: partial)
        }
        guard found != nil else {
            throw ReleaseError.io(path: "s3://\(root.bucket)/\(key)", detail: "the bundle is missing from the registry")
        }
        guard rename(partial.path, file.path) == 0 else {
            throw ReleaseError.io(path: file.path, detail: "cannot be written: \(String(cString: strerror(errno)))")
        }
        return file
    }

    // MARK: - Writing

    /// Runs `body` until its writes win or `timeout` seconds pass: each lost conditional
    /// write (`.conflict`) waits a random moment and starts over from a fresh state.
    public func transaction<T>(_ name: String, timeout: Double, _ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(timeout)
        var tries = 0
        while true {
            tries += 1
            do { return try body() } catch ReleaseError.conflict(let what) {
                guard Date() < deadline else {
                    throw ReleaseError.conflict("\(what) (\(tries) tries in \(Int(timeout)) s)")
                }
                Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.15) * Double(min(tries, 8)))
            }
        }
    }

    /// A local folder to build the version's files in.
    public func makeStaging(_ name: String) throws(ReleaseError) -> URL {
        let staging = downloads.appendingPathComponent(
            ".staging-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))",
            isDirectory: true)
        do { try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true) } catch {
            throw ReleaseError.io(path: staging.path, detail: "cannot be created: \(error.localizedDescription)")
        }
        return staging
    }

    /// Claims the version by creating its bundle (once per process: a retried transaction
    /// keeps its claim), writes the manifest beside it, then appends the release event after
    /// `state`. Either race lost is `.conflict`.
    public func publish(staging: URL, event: LedgerEvent, over state: RegistryState) throws(ReleaseError) {
        let (name, version) = (event.name, event.version)
        if state.release(version) != nil { throw ReleaseError.versionExists(name: name, version: version) }
        let bundle = bundleKey(name, version)
        if !memory.claimed(bundle) {
            let file = staging.appendingPathComponent(RegistryLayout.bundleFileName(name, version))
            let outcome = try storage { () throws(S3Error) in
                try client.upload(file: file, bucket: root.bucket, key: bundle, ifAbsent: true)
            }
            guard outcome == .created else {
                throw ReleaseError.conflict("\(name)@\(version) was claimed by another job")
            }
            memory.claim(bundle)
            let manifest = staging.appendingPathComponent(BundleManifest.fileName)
            _ = try storage { () throws(S3Error) in
                try client.upload(file: manifest, bucket: root.bucket, key: manifestKey(name, version))
            }
        }
        try append(event, over: state)
    }

    public func move(_ event: LedgerEvent, over state: RegistryState) throws(ReleaseError) {
        guard event.channel != nil else { throw ReleaseError.io(path: location, detail: "an event without a channel") }
        try append(event, over: state)
    }

    /// Creates the event object after the last one `state` read.
    func append(_ event: LedgerEvent, over state: RegistryState) throws(ReleaseError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(event) else {
            throw ReleaseError.io(path: location, detail: "the event cannot be encoded")
        }
        let key = eventKey(event.name, state.revision + 1)
        let outcome = try storage { () throws(S3Error) in
            try client.put(bucket: root.bucket, key: key, data: data, ifAbsent: true)
        }
        guard outcome == .created else {
            throw ReleaseError.conflict("event \(state.revision + 1) of \(event.name) was written by another job")
        }
        memory.remember(key, event, size: data.count)
    }
}
