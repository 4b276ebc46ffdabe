import Foundation
import MLOpsCore
import Tabular

/// A derived-column expression of `transform.derive`, e.g. `tips > 0.2 * fare`.
///
/// ```
/// or       := and ("or" and)*
/// and      := not ("and" not)*
/// not      := "not" not | compare
/// compare  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
/// sum      := product (("+" | "-") product)*
/// product  := unary (("*" | "/" | "%") unary)*
/// unary    := "-" unary | primary
/// primary  := number | 'text' | "text" | true | false | column | function "(" args ")" | "(" or ")"
/// ```
/// Functions: `if(c, a, b)`, `log(x)` (natural), `abs(x)`, `min(a, b, …)`, `max(a, b, …)`,
/// `coalesce(a, b, …)` (the first present value), `is_missing(x)`. Column names are
/// identifiers (letters, digits, `_`, `.`); a name that is not an identifier is written in
/// backquotes: `` `trip miles` ``.
public indirect enum Expression: Sendable, Equatable {
    case number(Double)
    case text(String)
    case boolean(Bool)
    case column(String, at: Int)
    case unary(String, Expression, at: Int)
    case binary(String, Expression, Expression, at: Int)
    case call(String, [Expression], at: Int)

    /// The value types of expressions. Booleans are 1 and 0 where a number is expected.
    public enum ValueType: String, Sendable, Equatable {
        case number, text, boolean
    }

    public static let functions = ["if", "log", "abs", "min", "max", "coalesce", "is_missing"]

    // MARK: - Parsing

    /// Parses `source`; errors carry the 1-based column in `source`.
    public static func parse(_ source: String) throws(ExpressionError) -> Expression {
        var parser = Parser(tokens: try tokenize(source), source: source)
        let expression = try parser.or()
        if let extra = parser.peek {
            throw ExpressionError("unexpected '\(extra.text)' after the expression", column: extra.column)
        }
        return expression
    }

    struct Token: Equatable {
        enum Kind { case number, text, identifier, symbol, end }
        let kind: Kind
        let text: String
        let column: Int
    }

    static func tokenize(_ source: String) throws(ExpressionError) -> [Token] {
        var tokens: [Token] = []
        let characters = Array(source)
        var index = 0
        func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" }
        func isIdentifier(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." }
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character.isWhitespace {
                index += 1
            } else if character.isNumber
                || (character == "." && index + 1 < characters.count && characters[index + 1].isNumber)
            {
                var end = index
                while end < characters.count, characters[end].isNumber || characters[end] == "." { end += 1 }
                if end < characters.count, characters[end] == "e" || characters[end] == "E" {
                    var exponent = end + 1
                    if exponent < characters.count, characters[exponent] == "+" || characters[exponent] == "-" {
                        exponent += 1
                    }
                    if exponent < characters.count, characters[exponent].isNumber {
                        end = exponent
                        while end < characters.count, characters[end].isNumber { end += 1 }
                    }
                }
                let text = String(characters[index..<end])
                guard Double(text) != nil else { throw ExpressionError("'\(text)' is not a number", column: column) }
                tokens.append(Token(kind: .number, text: text, column: column))
                index = end
            } else if isIdentifierStart(character) {
                var end = index
                while end < characters.count, isIdentifier(characters[end]) { end += 1 }
                tokens.append(Token(kind: .identifier, text: String(characters[index..<end]), column: column))
                index = end
            } else if character == "`" {
                guard let close = characters[(index + 1)...].firstIndex(of: "`") else {
                    throw ExpressionError("a backquoted column name is not closed", column: column)
                }
                tokens.append(Token(kind: .identifier, text: String(characters[(index + 1)..<close]), column: column))
                index = close + 1
            } else if character == "'" || character == "\"" {
                guard let close = characters[(index + 1)...].firstIndex(of: character) else {
                    throw ExpressionError("a text literal is not closed", column: column)
                }
                tokens.append(Token(kind: .text, text: String(characters[(index + 1)..<close]), column: column))
                index = close + 1
            } else {
                let two = index + 1 < characters.count ? String(characters[index...(index + 1)]) : ""
                if ["<=", ">=", "==", "!="].contains(two) {
                    tokens.append(Token(kind: .symbol, text: two, column: column))
                    index += 2
                } else if "+-*/%<>(),".contains(character) {
                    tokens.append(Token(kind: .symbol, text: String(character), column: column))
                    index += 1
                } else if character == "=" {
                    throw ExpressionError("'=' is not an operator: write '==' to compare", column: column)
                } else {
                    throw ExpressionError("unexpected character '\(character)'", column: column)
                }
            }
        }
        tokens.append(Token(kind: .end, text: "end of the expression", column: characters.count + 1))
        return tokens
    }

    struct Parser {
        let tokens: [Token]
        let source: String
        var position = 0

        var peek: Token? { tokens[position].kind == .end ? nil : tokens[position] }
        var current: Token { tokens[position] }

        mutating func take(_ symbol: String) -> Token? {
            let token = tokens[position]
            guard (token.kind == .symbol || token.kind == .identifier), token.text == symbol else { return nil }
            position += 1
            return token
        }

        mutating func expect(_ symbol: String, _ what: String) throws(ExpressionError) {
            guard take(symbol) != nil else {
                throw ExpressionError("expected \(what), found '\(current.text)'", column: current.column)
            }
        }

        mutating func or() throws(ExpressionError) -> Expression {
            var left = try and()
            while let token = take("or") { left = .binary("or", left, try and(), at: token.column) }
            return left
        }

        mutating func and() throws(ExpressionError) -> Expression {
            var left = try not()
            while let token = take("and") { left = .binary("and", left, try not(), at: token.column) }
            return left
        }

        mutating func not() throws(ExpressionError) -> Expression {
            if let token = take("not") { return .unary("not", try not(), at: token.column) }
            return try compare()
        }

        mutating func compare() throws(ExpressionError) -> Expression {
            let left = try sum()
            for symbol in ["<=", ">=", "==", "!=", "<", ">"] {
                if let token = take(symbol) { return .binary(symbol, left, try sum(), at: token.column) }
            }
            return left
        }

        mutating func sum() throws(ExpressionError) -> Expression {
            var left = try product()
            while true {
                if let token = take("+") {
                    left = .binary("+", left, try product(), at: token.column)
                } else if let token = take("-") {
                    left = .binary("-", left, try product(), at: token.column)
                } else {
                    return left
                }
            }
        }

        mutating func product() throws(ExpressionError) -> Expression {
            var left = try unary()
            while true {
                if let token = take("*") {
                    left = .binary("*", left, try unary(), at: token.column)
                } else if let token = take("/") {
                    left = .binary("/", left, try unary(), at: token.column)
                } else if let token = take("%") {
                    left = .binary("%", left, try unary(), at: token.column)
                } else {
                    return left
                }
            }
        }

        mutating func unary() throws(ExpressionError) -> Expression {
            if let token = take("-") { return .unary("-", try unary(), at: token.column) }
            return try primary()
        }

        mutating func primary() throws(ExpressionError) -> Expression {
            let token = current
            switch token.kind {
            case .number:
                position += 1
                return .number(Double(token.text) ?? .nan)
            case .text:
                position += 1
                return .text(token.text)
            case .identifier:
                position += 1
                if token.text == "true" { return .boolean(true) }
                if token.text == "false" { return .boolean(false) }
                if ["and", "or", "not"].contains(token.text) {
                    throw ExpressionError("'\(token.text)' needs a value before it", column: token.column)
                }
                guard take("(") != nil else { return .column(token.text, at: token.column) }
                guard Expression.functions.contains(token.text) else {
                    let hint =
                        Suggestions.nearest(to: token.text, in: Expression.functions).map { " (did you mean '\($0)'?)" }
                        ?? ""
                    throw ExpressionError("unknown function '\(token.text)'\(hint)", column: token.column)
                }
                var arguments: [Expression] = []
                if take(")") == nil {
                    repeat { arguments.append(try or()) } while take(",") != nil
                    try expect(")", "',' or ')'")
                }
                return .call(token.text, arguments, at: token.column)
            case .symbol where token.text == "(":
                position += 1
                let inner = try or()
                try expect(")", "')'")
                return inner
            default:
                throw ExpressionError(
                    token.kind == .end ? "the expression ends too early" : "expected a value, found '\(token.text)'",
                    column: token.column)
            }
        }
    }

    // MARK: - Types

    /// Checks the expression against the columns it may read (name → type) and returns its
    /// type; a column that does not exist or an operation on the wrong types is an error at
    /// its column.
    public func type(columns: [String: FeatureType]) throws(ExpressionError) -> ValueType {
        func numeric(_ expression: Expression, _ what: String, at column: Int) throws(ExpressionError) {
            let type = try expression.type(columns: columns)
            guard type != .text else {
                throw ExpressionError(
                    "\(what) needs numbers, but \(expression.described) is text", column: expression.column ?? column)
            }
        }
        switch self {
        case .number: return .number
        case .text: return .text
        case .boolean: return .boolean
        case .column(let name, let at):
            guard let type = columns[name] else {
                let hint = Suggestions.nearest(to: name, in: columns.keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw ExpressionError("no column '\(name)'\(hint)", column: at)
            }
            return type == .bytes ? .text : .number
        case .unary(let op, let operand, let at):
            if op == "not" {
                try numeric(operand, "'not'", at: at)
                return .boolean
            }
            try numeric(operand, "'-'", at: at)
            return .number
        case .binary(let op, let left, let right, let at):
            switch op {
            case "and", "or":
                try numeric(left, "'\(op)'", at: at)
                try numeric(right, "'\(op)'", at: at)
                return .boolean
            case "==", "!=":
                let a = try left.type(columns: columns)
                let b = try right.type(columns: columns)
                guard (a == .text) == (b == .text) else {
                    throw ExpressionError("'\(op)' compares text with a number", column: at)
                }
                return .boolean
            case "<", "<=", ">", ">=":
                try numeric(left, "'\(op)'", at: at)
                try numeric(right, "'\(op)'", at: at)
                return .boolean
            default:
                try numeric(left, "'\(op)'", at: at)
                try numeric(right, "'\(op)'", at: at)
                return .number
            }
        case .call(let name, let arguments, let at):
            func arity(_ range: ClosedRange<Int>) throws(ExpressionError) {
                guard range.contains(arguments.count) else {
                    let expected =
                        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "at least \(range.lowerBound)"
                    throw ExpressionError(
                        "\(name)() takes \(expected) argument\(range.lowerBound == 1 ? "" : "s"), found \(arguments.count)",
                        column: at)
                }
            }
            switch name {
            case "if":
                try arity(3...3)
                try numeric(arguments[0], "the condition of if()", at: at)
                let a = try arguments[1].type(columns: columns)
                let b = try arguments[2].type(columns: columns)
                guard (a == .text) == (b == .text) else {
                    throw ExpressionError("if() gives text in one branch and a number in the other", column: at)
                }
                return a == b ? a : .number
            case "is_missing":
                try arity(1...1)
                _ = try arguments[0].type(columns: columns)
                return .boolean
            case "coalesce":
                try arity(1...Int.max)
                let types = try arguments.map { argument throws(ExpressionError) in try argument.type(columns: columns)
                }
                guard Set(types.map { $0 == .text }).count == 1 else {
                    throw ExpressionError("coalesce() mixes text and numbers", column: at)
                }
                return Set(types).count == 1 ? types[0] : .number
            case "min", "max":
                try arity(1...Int.max)
                for argument in arguments { try numeric(argument, "\(name)()", at: at) }
                return .number
            default:  // log, abs
                try arity(1...1)
                try numeric(arguments[0], "\(name)()", at: at)
                return .number
            }
        }
    }

    /// Where the expression starts in the source, when known.
    var column: Int? {
        switch self {
        case .column(_, let at), .unary(_, _, let at), .call(_, _, let at): at
        case .binary(_, let left, _, _): left.column
        default: nil
        }
    }

    var described: String {
        switch self {
        case .column(let name, _): name
        case .text(let text): "'\(text)'"
        case .call(let name, _, _): "\(name)()"
        default: "the value"
        }
    }

    /// The columns the expression reads.
    public var columns: Set<String> {
        switch self {
        case .column(let name, _): [name]
        case .unary(_, let operand, _): operand.columns
        case .binary(_, let left, let right, _): left.columns.union(right.columns)
        case .call(_, let arguments, _): arguments.reduce(into: Set<String>()) { $0.formUnion($1.columns) }
        default: []
        }
    }

    // MARK: - Evaluation

    /// A column of values while evaluating: numbers (NaN = missing; booleans are 1 and 0) or
    /// text (nil = missing).
    public enum Values: Sendable, Equatable {
        case numbers([Double])
        case texts([String?])
    }

    /// Evaluates over `rows` rows of `table`, one operation over whole columns at a time.
    /// A missing operand makes the result missing, except in `coalesce`, `is_missing` and a
    /// decided `and`/`or` (`false and missing` is false, `true or missing` is true).
    public func evaluate(on table: DataTable) -> Values {
        let rows = table.rowCount
        switch self {
        case .number(let value): return .numbers([Double](repeating: value, count: rows))
        case .boolean(let value): return .numbers([Double](repeating: value ? 1 : 0, count: rows))
        case .text(let value): return .texts([String?](repeating: value, count: rows))
        case .column(let name, _):
            guard let column = table.column(name) else { return .numbers([Double](repeating: .nan, count: rows)) }
            return Values(column)
        case .unary(let op, let operand, _):
            let values = operand.evaluate(on: table).numbers
            return .numbers(op == "not" ? values.map { $0.isNaN ? .nan : ($0 == 0 ? 1 : 0) } : values.map { -$0 })
        case .binary(let op, let left, let right, _):
            let a = left.evaluate(on: table)
            let b = right.evaluate(on: table)
            if case .texts(let x) = a, case .texts(let y) = b {
                return .numbers(
                    zip(x, y).map { l, r in
                        guard let l, let r else { return .nan }
                        return (op == "==" ? l == r : l != r) ? 1 : 0
                    })
            }
            let x = a.numbers
            let y = b.numbers
            return .numbers(zip(x, y).map { l, r in Self.apply(op, l, r) })
        case .call(let name, let arguments, _):
            let values = arguments.map { $0.evaluate(on: table) }
            switch name {
            case "is_missing":
                switch values[0] {
                case .numbers(let x): return .numbers(x.map { $0.isNaN ? 1 : 0 })
                case .texts(let x): return .numbers(x.map { $0 == nil ? 1 : 0 })
                }
            case "coalesce":
                if case .texts = values[0] {
                    let columns = values.map(\.texts)
                    return .texts((0..<rows).map { row in columns.lazy.compactMap { $0[row] }.first })
                }
                let columns = values.map(\.numbers)
                return .numbers((0..<rows).map { row in columns.lazy.map { $0[row] }.first { !$0.isNaN } ?? .nan })
            case "if":
                let condition = values[0].numbers
                if case .texts(let a) = values[1], case .texts(let b) = values[2] {
                    return .texts((0..<rows).map { condition[$0].isNaN ? nil : condition[$0] != 0 ? a[$0] : b[$0] })
                }
                let a = values[1].numbers
                let b = values[2].numbers
                return .numbers((0..<rows).map { condition[$0].isNaN ? .nan : condition[$0] != 0 ? a[$0] : b[$0] })
            case "min", "max":
                let columns = values.map(\.numbers)
                return .numbers(
                    (0..<rows).map { row in
                        var result = columns[0][row]
                        for column in columns.dropFirst() {
                            let value = column[row]
                            if result.isNaN || value.isNaN { result = .nan; break }
                            result = name == "min" ? Swift.min(result, value) : Swift.max(result, value)
                        }
                        return result
                    })
            case "log": return .numbers(values[0].numbers.map { $0 > 0 ? Foundation.log($0) : .nan })
            default: return .numbers(values[0].numbers.map { Swift.abs($0) })
            }
        }
    }

    static func apply(_ op: String, _ l: Double, _ r: Double) -> Double {
        switch op {
        case "and":
            if l == 0 || r == 0 { return 0 }  // false whatever the other side is
            return l.isNaN || r.isNaN ? .nan : 1
        case "or":
            if (!l.isNaN && l != 0) || (!r.isNaN && r != 0) { return 1 }
            return l.isNaN || r.isNaN ? .nan : 0
        default: break
        }
        guard !l.isNaN, !r.isNaN else { return .nan }
        switch op {
        case "+": return l + r
        case "-": return l - r
        case "*": return l * r
        case "/": return r == 0 ? .nan : l / r
        case "%": return r == 0 ? .nan : l.truncatingRemainder(dividingBy: r)
        case "<": return l < r ? 1 : 0
        case "<=": return l <= r ? 1 : 0
        case ">": return l > r ? 1 : 0
        case ">=": return l >= r ? 1 : 0
        case "==": return l == r ? 1 : 0
        default: return l != r ? 1 : 0
        }
    }
}

extension Expression.Values {
    /// A column's values: numbers with NaN where missing, or texts with nil.
    init(_ column: Column) {
        switch column.values {
        case .int(let values): self = .numbers(zip(values, column.present).map { $1 ? Double($0) : .nan })
        case .float(let values): self = .numbers(zip(values, column.present).map { $1 ? $0 : .nan })
        case .bytes(let dictionary, let codes): self = .texts(codes.map { $0 < 0 ? nil : dictionary[Int($0)] })
        }
    }

    /// Values as a column named `name`: FLOAT, or BYTES dictionary-encoded.
    func column(named name: String) -> Column {
        switch self {
        case .numbers(let numbers): Column(name: name, numbers: numbers)
        case .texts(let texts): Column(name: name, texts: texts)
        }
    }

    var numbers: [Double] {
        switch self {
        case .numbers(let values): values
        case .texts(let values): values.map { _ in .nan }
        }
    }

    var texts: [String?] {
        switch self {
        case .texts(let values): values
        case .numbers(let values): values.map { $0.isNaN ? nil : String($0) }
        }
    }
}

/// An expression that does not parse or does not fit the data, at a column of its source.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// 1-based column in the expression.
    public let column: Int

    public init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    public var description: String { "column \(column): \(message)" }
}
