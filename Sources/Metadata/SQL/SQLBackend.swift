import Foundation
import MLOpsCore

/// A database the metadata store writes to, as ``SQLMetadataStore`` sees it: transactions in
/// which statements run with `?` placeholders. The SQLite file and a PostgreSQL server each
/// have one; the statements are written once, in the SQL both understand (`RETURNING`,
/// `ON CONFLICT`), and what differs is here.
protocol SQLBackend: AnyObject, Sendable {
    /// Where the database is, for messages: a path, or a URL without the password.
    var location: String { get }
    /// Appended to a SELECT that reads a row the transaction then rewrites (`FOR UPDATE` on a
    /// server; nothing for SQLite, whose write transactions hold the whole file).
    var lockingRead: String { get }
    /// Runs `body` in a write transaction: committed when it returns, rolled back when it throws.
    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    /// Runs `body` with one consistent view for reading.
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    func close() throws
}

/// Statements inside one transaction.
protocol SQLTransaction {
    /// The rows a statement returns (none for most writes).
    @discardableResult
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLTransaction {
    func execute(_ sql: String, _ arguments: SQLValue...) throws { try rows(sql, arguments) }
    func rows(_ sql: String, _ arguments: SQLValue...) throws -> [SQLRow] { try rows(sql, arguments) }
    func row(_ sql: String, _ arguments: SQLValue...) throws -> SQLRow? { try rows(sql, arguments).first }

    /// The id an `INSERT … RETURNING id` made.
    func insert(_ sql: String, _ arguments: SQLValue...) throws -> Int64 {
        guard let row = try rows(sql + " RETURNING id", arguments).first else {
            throw InternalError("`\(sql)` returned no id")
        }
        return try row.int("id")
    }
}

/// A value bound to a `?` or read from a column.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
    init(_ value: Int) { self = .integer(Int64(value)) }
    init(_ value: Double?) { self = value.map(SQLValue.real) ?? .null }
}

/// One result row, its columns by name.
struct SQLRow: Sendable {
    let columns: [String]
    let values: [SQLValue]

    func has(_ column: String) -> Bool { columns.contains(column) }

    func value(_ column: String) throws -> SQLValue {
        guard let index = columns.firstIndex(of: column) else {
            throw InternalError("the store's row has no column '\(column)' (it has \(columns.joined(separator: ", ")))")
        }
        return values[index]
    }

    func optionalText(_ column: String) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let text): return text
        case .integer(let number): return String(number)
        case .real(let number): return String(number)
        }
    }

    func text(_ column: String) throws -> String {
        guard let text = try optionalText(column) else { throw nullColumn(column) }
        return text
    }

    func optionalInt(_ column: String) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .integer(let number): return number
        case .real(let number) where Int64(exactly: number) != nil: return Int64(exactly: number)
        case let other: throw InternalError("the store's column '\(column)' holds \(other), not an integer")
        }
    }

    func int(_ column: String) throws -> Int64 {
        guard let number = try optionalInt(column) else { throw nullColumn(column) }
        return number
    }

    func optionalReal(_ column: String) throws -> Double? {
        switch try value(column) {
        case .null: return nil
        case .real(let number): return number
        case .integer(let number): return Double(number)
        case let other: throw InternalError("the store's column '\(column)' holds \(other), not a number")
        }
    }

    func real(_ column: String) throws -> Double {
        guard let number = try optionalReal(column) else { throw nullColumn(column) }
        return number
    }

    private func nullColumn(_ column: String) -> InternalError {
        InternalError("the store's column '\(column)' is NULL where a value must be")
    }
}
