import Foundation
import Logging
import Metadata
import PostgresNIO

/// The PostgreSQL server the tests use: Debian's PostgreSQL 15, which `bash .ci/run` starts on
/// 127.0.0.1 (Tests/Tools/pg-server.sh) and names in MLOPS_TEST_POSTGRES_URL (its superuser
/// and the maintenance database `postgres`). Without it a test that needs it fails, saying how
/// to start one; it never skips.
public struct PostgresTestServer: Sendable {
    /// The superuser's URI, password included.
    public let url: String
    public let address: PostgresAddress

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "no PostgreSQL test server: run `bash .ci/run`, or start one with `bash Tests/Tools/pg-server.sh PIDFILE` and export what it prints"
        }
    }

    public init() throws {
        guard let url = ProcessInfo.processInfo.environment["MLOPS_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw Missing()
        }
        self.url = url
        address = try PostgresAddress(parsing: url, environment: [:])
    }

    /// `url` with another database (and, when given, another user and password).
    public func url(database: String, user: String? = nil, password: String? = nil) -> String {
        func encoded(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
        let credentials = encoded(user ?? address.user) + ":" + encoded(password ?? address.password ?? "")
        return "postgresql://\(credentials)@\(address.host):\(address.port)/\(database)?sslmode=disable"
    }

    /// Runs one statement as the superuser in `database` (default: the maintenance one) and
    /// returns the first column of each row as text.
    @discardableResult
    public func execute(_ sql: String, database: String? = nil) throws -> [String] {
        let session = try connect(database: database)
        defer { session.close() }
        return try session.execute(sql)
    }

    /// A connection of the superuser's own, e.g. to hold a lock in an open transaction.
    public func connect(database: String? = nil) throws -> PostgresTestSession {
        let configuration = PostgresConnection.Configuration(
            host: address.host, port: address.port, username: address.user, password: address.password,
            database: database ?? address.database, tls: .disable)
        return PostgresTestSession(
            connection: try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0,
                logger: PostgresTestSession.logger
            ).wait())
    }
}

/// One connection to the test server, statements one at a time.
public final class PostgresTestSession: @unchecked Sendable {
    static let logger = Logger(label: "mlops.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    let connection: PostgresConnection

    init(connection: PostgresConnection) { self.connection = connection }

    /// Runs one statement; the first column of each row as text.
    @discardableResult
    public func execute(_ sql: String) throws -> [String] {
        let result: PostgresQueryResult
        do {
            result = try connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).wait()
        } catch let error as PSQLError {
            throw Failure(
                description: "`\(sql)` failed: \(error.serverInfo?[.message] ?? "\(error.code)") "
                    + "(SQLSTATE \(error.serverInfo?[.sqlState] ?? "-"))")
        }
        return try result.rows.map { row in
            guard let cell = row.first(where: { _ in true }), cell.bytes != nil else { return "" }
            switch cell.dataType {
            case .int2, .int4, .int8: return String(try cell.decode(Int64.self))
            case .bool: return String(try cell.decode(Bool.self))
            default: return try cell.decode(String.self)
            }
        }
    }

    public func close() { try? connection.close().wait() }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }
}

/// A database of one test's own on the test server, dropped (with its connections) when the
/// test lets go of it.
public final class PostgresTestDatabase: @unchecked Sendable {
    public let server: PostgresTestServer
    public let name: String

    public init() throws {
        server = try PostgresTestServer()
        name = "mlops_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try server.execute("CREATE DATABASE \(name)")
    }

    /// The superuser's URI for this database: what `MLOPS_STORE` gets.
    public var url: String { server.url(database: name) }

    public var address: PostgresAddress { (try? PostgresAddress(parsing: url, environment: [:])) ?? server.address }

    /// `MLOPS_STORE` naming this database, for an mlops process.
    public var environment: [String: String] { ["MLOPS_STORE": url] }

    @discardableResult
    public func execute(_ sql: String) throws -> [String] { try server.execute(sql, database: name) }

    deinit { _ = try? server.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
}

/// A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw PostgresTestSession.Failure(description: "no free port on 127.0.0.1") }
    return Int(UInt16(bigEndian: address.sin_port))
}
