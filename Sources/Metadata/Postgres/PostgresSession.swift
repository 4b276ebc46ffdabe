import Foundation
import Logging
import MLOpsCore
import NIOCore
import NIOPosix
import PostgresNIO

/// One connection to a PostgreSQL server (postgres-nio), used from synchronous code: each
/// call waits for its answer on the caller's thread (never an event-loop thread; the store is
/// not used from one). It owns the connection; a lock keeps one caller's transaction whole,
/// and a connection the server dropped is opened again at the next call.
///
/// Every failure leaves as a ``MetadataStoreError`` built from the server's SQLSTATE and
/// message only: postgres-nio's own descriptions of a query carry its bound values.
final class PostgresSession: SQLBackend, @unchecked Sendable {
    let address: PostgresAddress
    private let busyTimeout: TimeInterval
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var closed = false

    private static let logger = Logger(label: "mlops.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects now, so that a wrong address, password or database is reported at once.
    /// - Parameter busyTimeout: how long a statement waits for another job's lock before the
    ///   call fails as busy (exit 75); PostgreSQL's `lock_timeout`.
    init(address: PostgresAddress, busyTimeout: TimeInterval) throws {
        self.address = address
        self.busyTimeout = busyTimeout
        connection = try connect()
    }

    /// A store dropped without ``close()`` still closes its connection (postgres-nio requires it).
    deinit {
        if let connection { Self.close(connection) }
    }

    var location: String { address.description }
    var lockingRead: String { " FOR UPDATE" }

    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL READ COMMITTED", body)
    }

    /// Reads see one snapshot; a read-only transaction never fails to serialize.
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Runs `body` after `begin` and commits; rolls back when it throws. A serialization
    /// failure or deadlock (another job's transaction won) is retried from the start a few
    /// times, since nothing of the failed try remains.
    func transaction<T>(_ begin: String, _ body: (any SQLTransaction) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        var attempt = 0
        while true {
            attempt += 1
            let reused = connection != nil
            let connection = try open()
            let statements = Statements(connection: connection, session: self)
            do {
                do { try statements.run(begin, []) } catch let error as MetadataStoreError {
                    // A connection the server ended while idle: nothing was done, so start
                    // again on a new one.
                    if case .unreachable = error.kind, reused, attempt == 1 {
                        drop(connection)
                        continue
                    }
                    throw error
                }
                do {
                    let result = try body(statements)
                    // COMMIT of a failed transaction answers ROLLBACK, without an error.
                    let tag = try statements.command("COMMIT")
                    guard tag == "COMMIT" else {
                        throw MetadataStoreError(.failed("the server rolled the transaction back"), path: location)
                    }
                    return result
                } catch {
                    _ = try? statements.run("ROLLBACK", [])
                    throw error
                }
            } catch let error as MetadataStoreError {
                switch error.kind {
                case .busy where error.retryable && attempt < 3:
                    Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.1) * Double(attempt))
                    continue
                case .unreachable:
                    // Whatever state it is in, the next call starts on a new connection.
                    drop(connection)
                default: break
                }
                throw error
            }
        }
    }

    /// Closes a connection that failed, so that the next call opens a new one.
    private func drop(_ failed: PostgresConnection) {
        Self.close(failed)
        if connection === failed { connection = nil }
    }

    /// Closes a connection and waits for it, unless on an event loop (which must not wait).
    private static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        if MultiThreadedEventLoopGroup.currentEventLoop == nil { try? closing.wait() }
    }

    /// Statements outside any transaction (the statement is its own), for maintenance.
    func execute(_ sql: String) throws {
        lock.lock()
        defer { lock.unlock() }
        try Statements(connection: try open(), session: self).run(sql, [])
    }

    func close() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        if let connection {
            self.connection = nil
            Self.close(connection)
        }
    }

    // MARK: - The connection

    /// The live connection, reconnecting when the server closed it (nothing is in flight then).
    private func open() throws -> PostgresConnection {
        guard !closed else { throw MetadataStoreError(.failed("the store was already closed"), path: location) }
        if let connection, !connection.isClosed { return connection }
        let fresh = try connect()
        connection = fresh
        return fresh
    }

    private func connect() throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        if let folder = address.socketFolder {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: "\(folder)/.s.PGSQL.\(address.port)", username: address.user,
                password: address.password, database: address.database)
        } else {
            configuration = PostgresConnection.Configuration(
                host: address.host, port: address.port, username: address.user, password: address.password,
                database: address.database, tls: try tls())
        }
        if let seconds = address.connectTimeout, seconds > 0 {
            configuration.options.connectTimeout = .seconds(Int64(seconds))
        }
        configuration.options.additionalStartupParameters = [
            ("application_name", address.applicationName),
            // What MLOPS_BUSY_TIMEOUT means for SQLite: how long to wait for another writer.
            ("lock_timeout", String(busyTimeout.isNaN ? 5000 : Int(min(max(busyTimeout * 1000, 1), 2_000_000_000)))),
            // A job that hangs inside a transaction does not hold its locks for ever.
            ("idle_in_transaction_session_timeout", "60000"),
        ]
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1,
                logger: Self.logger
            ).wait()
        } catch {
            throw failure(error)
        }
    }

    /// TLS as libpq's `sslmode` asks: `prefer` (the default) uses it when the server offers it.
    private func tls() throws -> PostgresConnection.Configuration.TLS {
        var settings = TLSConfiguration.makeClientConfiguration()
        switch address.sslMode {
        case .disable: return .disable
        case .allow, .prefer, .require:
            settings.certificateVerification = address.sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA: settings.certificateVerification = .noHostnameVerification
        case .verifyFull: settings.certificateVerification = .fullVerification
        }
        if let root = address.sslRootCertificate { settings.trustRoots = .file(root) }
        do {
            let context = try NIOSSLContext(configuration: settings)
            switch address.sslMode {
            case .allow, .prefer: return .prefer(context)
            default: return .require(context)
            }
        } catch {
            throw MetadataStoreError(
                .refused("its TLS settings cannot be used: \(error)"), path: location,
                hint: "check sslrootcert (or PGSSLROOTCERT) names a readable PEM file")
        }
    }

    // MARK: - Errors

    /// What a postgres-nio error means for the user, by SQLSTATE: the store busy (75), out of
    /// reach (74), refusing this user or database (78), or an error mlops did not expect (70).
    func failure(_ error: any Error) -> MetadataStoreError {
        if let error = error as? MetadataStoreError { return error }
        guard let error = error as? PSQLError else {
            if error is PostgresDecodingError {
                return MetadataStoreError(.failed("a value of an unexpected type came back"), path: location)
            }
            return MetadataStoreError(.unreachable(String(describing: error)), path: location)
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?????"
            var text = (error.serverInfo?[.message] ?? "no message") + " (SQLSTATE \(state))"
            if let detail = error.serverInfo?[.detail] { text += ": \(detail)" }
            switch state {
            case "40001", "40P01", "55P03", "53300", "57P03", "57014":
                return MetadataStoreError(.busy(text), path: location, retryable: state.hasPrefix("40"))
            case "28P01", "28000":
                return MetadataStoreError(
                    .refused(text), path: location,
                    hint: "check the user and password in MLOPS_STORE or `store` (or PGPASSWORD)")
            case "3D000":
                return MetadataStoreError(
                    .refused(text), path: location,
                    hint: "create the database (`createdb \(address.database)`) or name one that exists")
            case "42501":
                return MetadataStoreError(
                    .refused(text), path: location,
                    hint: "make the store's user the database's owner, or GRANT CREATE ON SCHEMA public TO it")
            case "08004":
                return MetadataStoreError(.refused(text), path: location)
            case let state where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53100":
                return MetadataStoreError(.unreachable(text), path: location)
            default:
                return MetadataStoreError(.failed(text), path: location)
            }
        case .connectionError:
            let reason = error.underlying.map { String(describing: $0) } ?? "no answer"
            return MetadataStoreError(
                .unreachable(
                    "no connection to \(address.socketFolder ?? "\(address.host):\(address.port)"): \(reason)"),
                path: location)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return MetadataStoreError(.unreachable("the server closed the connection"), path: location)
        case .authMechanismRequiresPassword:
            return MetadataStoreError(
                .refused("the server asks for a password and none was given"), path: location,
                hint: "give it in PGPASSWORD (keep it out of mlops.yaml)")
        case .unsupportedAuthMechanism, .saslError:
            return MetadataStoreError(.refused("authentication failed (\(error.code))"), path: location)
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return MetadataStoreError(
                .refused("TLS was required but the server does not offer it (\(error.code))"), path: location,
                hint: "use sslmode=prefer or disable for a server without TLS, or enable TLS on it")
        default:
            return MetadataStoreError(.failed("\(error.code)"), path: location)
        }
    }

    // MARK: - Statements

    /// Statements on the session's connection, inside the transaction the session began.
    struct Statements: SQLTransaction {
        let connection: PostgresConnection
        let session: PostgresSession

        func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            try run(sql, arguments).rows.map { row in
                SQLRow(columns: row.map(\.columnName), values: try row.map(Self.value))
            }
        }

        /// The command tag of a statement without rows (`COMMIT`, or `ROLLBACK` for a failed one).
        func command(_ sql: String) throws -> String { try run(sql, []).metadata.command }

        @discardableResult
        func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
            var bindings = PostgresBindings(capacity: arguments.count)
            for argument in arguments {
                switch argument {
                case .null: bindings.appendNull()
                case .integer(let number): bindings.append(number)
                case .real(let number): bindings.append(number)
                case .text(let text): bindings.append(text)
                }
            }
            let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings)
            do {
                return try connection.query(query, logger: PostgresSession.logger).wait()
            } catch {
                throw session.failure(error)
            }
        }

        /// `?` placeholders as PostgreSQL's `$1`, `$2`, … (none sits inside a quoted literal
        /// in mlops' statements, but quotes are skipped all the same).
        static func numbered(_ sql: String) -> String {
            var result = ""
            result.reserveCapacity(sql.utf8.count + 8)
            var count = 0
            var quoted = false
            for character in sql {
                if character == "'" { quoted.toggle() }
                if character == "?", !quoted {
                    count += 1
                    result += "$\(count)"
                } else {
                    result.append(character)
                }
            }
            return result
        }

        static func value(_ cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
            case .float4, .float8: return .real(try cell.decode(Double.self))
            case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}

extension MetadataStoreError {
    init(_ kind: Kind, path: String, hint: String? = nil, retryable: Bool) {
        self.init(kind, path: path, hint: hint)
        self.retryable = retryable
    }
}
