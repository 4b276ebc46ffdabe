import Foundation
import MLOpsCore

/// A PostgreSQL connection URI as libpq reads it:
/// `postgresql://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?sslmode=…&…]` (or `postgres://`).
/// Parts not in the URI come from libpq's variables (`PGUSER`, `PGPASSWORD`, `PGHOST`,
/// `PGPORT`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`) and then its defaults. A host that
/// starts with `/` is the folder of the server's Unix socket.
///
/// ``description`` never holds the password: it is what messages, runs and errors show.
public struct PostgresAddress: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    public var sslRootCertificate: String?
    public var connectTimeout: Int?
    public var applicationName: String
    /// Whether the password came from the URI itself (so it sits in a file or a variable
    /// someone may print), for a warning.
    public var passwordInURI: Bool

    /// The parameters understood after `?`; any other is refused rather than ignored.
    static let parameters: Set<String> = [
        "sslmode", "sslrootcert", "connect_timeout", "application_name", "host", "port", "user", "password", "dbname",
    ]

    public init(parsing text: String, environment: [String: String]) throws(PostgresAddressError) {
        let scheme: String
        if text.hasPrefix("postgresql://") {
            scheme = "postgresql://"
        } else if text.hasPrefix("postgres://") {
            scheme = "postgres://"
        } else {
            throw PostgresAddressError("it does not start with postgresql:// (or postgres://)")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        // The credentials first, as libpq reads them: up to the first '@' before any '/'.
        var uriUser: String?
        var uriPassword: String?
        if let credentials = Self.credentials(in: rest) {
            if let colon = credentials.firstIndex(of: ":") {
                uriUser = try Self.decode(credentials[..<colon], "the user")
                uriPassword = try Self.decode(credentials[credentials.index(after: colon)...], "the password")
            } else {
                uriUser = try Self.decode(credentials, "the user")
            }
            rest = rest[rest.index(after: credentials.endIndex)...]
        }
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = try Self.decode(parts[0], "a parameter name")
                guard Self.parameters.contains(key) else {
                    throw PostgresAddressError(
                        "unknown parameter '\(key)' (known: \(Self.parameters.sorted().joined(separator: ", ")))")
                }
                query[key] = parts.count > 1 ? try Self.decode(parts[1], "parameter '\(key)'") : ""
            }
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var uriHost: String?
        var uriPort: String?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw PostgresAddressError("an unclosed [ in the host") }
            uriHost = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                uriPort = String(after.dropFirst())
            } else if !after.isEmpty {
                throw PostgresAddressError("unexpected text after the host's ]")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            uriHost = try Self.decode(rest[..<colon], "the host")
            uriPort = String(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            uriHost = try Self.decode(rest, "the host")
        }
        if uriHost?.isEmpty == true { uriHost = nil }
        if uriPort?.isEmpty == true { uriPort = nil }
        if let hosts = uriHost ?? query["host"], hosts.contains(",") {
            throw PostgresAddressError("several hosts are not supported; name one")
        }

        func pick(_ parts: String?..., variable: String) -> String? {
            for part in parts { if let part, !part.isEmpty { return part } }
            return environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        host = pick(query["host"], uriHost, variable: "PGHOST") ?? "localhost"
        let portText = pick(query["port"], uriPort, variable: "PGPORT") ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw PostgresAddressError("the port is not a number from 1 to 65535")
        }
        self.port = port
        user =
            pick(query["user"], uriUser, variable: "PGUSER") ?? environment["USER"]
            ?? ProcessInfo.processInfo.userName
        passwordInURI = (query["password"] ?? uriPassword) != nil
        password = query["password"] ?? uriPassword ?? environment["PGPASSWORD"].flatMap { $0.isEmpty ? nil : $0 }
        let databasePath = path.isEmpty ? nil : try Self.decode(path, "the database name")
        database = pick(query["dbname"], databasePath, variable: "PGDATABASE") ?? user
        let mode = pick(query["sslmode"], variable: "PGSSLMODE") ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw PostgresAddressError(
                "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.sslMode = sslMode
        sslRootCertificate = pick(query["sslrootcert"], variable: "PGSSLROOTCERT")
        if let timeout = query["connect_timeout"] {
            guard let seconds = Int(timeout), seconds >= 0 else {
                throw PostgresAddressError("connect_timeout is not a whole number of seconds")
            }
            connectTimeout = seconds
        } else {
            connectTimeout = nil
        }
        applicationName = query["application_name"].flatMap { $0.isEmpty ? nil : $0 } ?? "mlops"
    }

    /// A host naming a folder: the server's Unix socket is in it.
    public var socketFolder: String? { host.hasPrefix("/") ? host : nil }

    /// The URI without the password (and without parameters that say nothing about where).
    public var description: String {
        let hostPart = socketFolder != nil ? "" : (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var text = "postgresql://\(user)@\(hostPart)/\(database)"
        if let socketFolder { text += "?host=\(socketFolder)&port=\(port)" }
        return text
    }

    /// The `USER[:PASSWORD]` part after the scheme, when there is one (libpq: up to the
    /// first '@' before any '/').
    static func credentials(in rest: Substring) -> Substring? {
        guard let end = rest.firstIndex(where: { $0 == "@" || $0 == "/" }), rest[end] == "@" else { return nil }
        return rest[..<end]
    }

    /// `text` with any password in it (`USER:PASSWORD@`, `password=`) shown as `***`: how a
    /// `store` value is printed back.
    public static func redacting(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        var result = String(text[..<schemeEnd.upperBound])
        var rest = text[schemeEnd.upperBound...]
        if let credentials = credentials(in: rest), let colon = credentials.firstIndex(of: ":") {
            result += credentials[...colon] + "***@"
            rest = rest[rest.index(after: credentials.endIndex)...]
        }
        guard let mark = rest.firstIndex(of: "?") else { return result + rest }
        result += rest[...mark]
        let pairs = rest[rest.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false).map {
            pair -> String in
            pair.hasPrefix("password=") ? "password=***" : String(pair)
        }
        return result + pairs.joined(separator: "&")
    }

    private static func decode(_ part: Substring, _ what: String) throws(PostgresAddressError) -> String {
        guard let decoded = String(part).removingPercentEncoding else {
            throw PostgresAddressError("\(what) has a broken %-escape")
        }
        return decoded
    }
}

/// A `postgresql://` URI mlops cannot use; the message never repeats the URI (it may hold a
/// password).
public struct PostgresAddressError: Error, Sendable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}
