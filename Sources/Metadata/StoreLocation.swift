import Foundation
import MLOpsCore

/// Which metadata store a project uses: the embedded SQLite file (`.mlops/store.sqlite`, the
/// default, or another path) or a PostgreSQL server shared by many jobs
/// (`postgresql://USER@HOST:PORT/DATABASE`).
///
/// Resolution order: `MLOPS_STORE` in the environment, then `store` in `mlops.yaml`, then
/// the default. Relative paths are taken from the repository root. The password of a server
/// is best given in `PGPASSWORD` (libpq's variables fill in what the URI leaves out).
public struct StoreLocation: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case file(String)
        case postgres(PostgresAddress)
    }

    public let kind: Kind
    /// Where the setting came from, for messages: "MLOPS_STORE", "store in mlops.yaml" or "the default".
    public let source: String
    /// This checkout's own store file, which no other checkout uses.
    let ownPath: String

    /// The default store of a project: the SQLite file in `.mlops`.
    public static func defaultPath(root: URL) -> String {
        root.appendingPathComponent(".mlops").appendingPathComponent(SQLiteMetadataStore.fileName).path
    }

    public init(configured: String?, environment: [String: String], root: URL) throws(MetadataStoreError) {
        ownPath = Self.defaultPath(root: root)
        if let override = environment["MLOPS_STORE"], !override.isEmpty {
            source = "MLOPS_STORE"
            kind = try Self.parse(override, environment: environment, root: root, source: source)
        } else if let configured, !configured.isEmpty {
            source = "store in mlops.yaml"
            kind = try Self.parse(configured, environment: environment, root: root, source: source)
        } else {
            source = "the default"
            kind = .file(Self.defaultPath(root: root))
        }
    }

    /// What a `store` value names; a broken one is a configuration error naming `source`
    /// and never repeating the value (it may hold a password).
    public static func parse(_ text: String, environment: [String: String], root: URL, source: String)
        throws(MetadataStoreError) -> Kind
    {
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            do { return .postgres(try PostgresAddress(parsing: text, environment: environment)) } catch {
                throw MetadataStoreError(
                    .invalid("not a usable PostgreSQL URI: \(error.reason)"), path: source,
                    hint: "write it as postgresql://USER@HOST:PORT/DATABASE?sslmode=…, with the password in PGPASSWORD")
            }
        }
        if text.contains("://") {
            throw MetadataStoreError(
                .invalid("only postgresql:// URIs and SQLite file paths are supported"), path: source,
                hint: "write postgresql://USER@HOST:PORT/DATABASE, or leave it out for .mlops/store.sqlite")
        }
        return .file(text.hasPrefix("/") ? text : root.appendingPathComponent(text).standardizedFileURL.path)
    }

    /// Opens the store. With `create` false, a store with nothing recorded yet (no file, or
    /// a database without mlops' tables) is an error saying to train first, and nothing is made.
    /// - Parameter busyTimeout: seconds to wait for another process's lock (`MLOPS_BUSY_TIMEOUT`).
    public func open(create: Bool, busyTimeout: TimeInterval) throws -> any MetadataStore {
        switch kind {
        case .file(let path):
            if !create, !FileManager.default.fileExists(atPath: path) {
                throw FileError(.missing, path: path, detail: "no metadata store yet", hint: "run `mlops train` first")
            }
            try FileManager.default.createDirectory(
                at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            return try SQLiteMetadataStore(path: path, busyTimeout: busyTimeout, shared: path != ownPath)
        case .postgres(let address):
            return try PostgresMetadataStore(address: address, busyTimeout: busyTimeout, create: create)
        }
    }

    /// The path or the URI without its password.
    public var description: String {
        switch kind {
        case .file(let path): path
        case .postgres(let address): address.description
        }
    }
}
