import Foundation
import MLOpsCore
import Metadata

/// A field of a run that `mlops runs` can filter on, sort by or show as a column, named as in
/// MLflow's search syntax: `metrics.auc`, `params.trainer.max_depth`, `tags.git.branch`, or an
/// attribute (`attributes.status`, `attributes.run_id`, `attributes.command`).
public struct RunField: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case metrics, params, tags, attributes }
    public let kind: Kind
    public let key: String

    public init(kind: Kind, key: String) {
        self.kind = kind
        self.key = key
    }

    public var description: String { "\(kind.rawValue).\(key)" }

    static let kinds: [String: Kind] = [
        "metrics": .metrics, "metric": .metrics, "params": .params, "param": .params, "parameters": .params,
        "tags": .tags, "tag": .tags, "attributes": .attributes, "attribute": .attributes, "attr": .attributes,
        "run": .attributes,
    ]
    static let attributes = ["run_id", "status", "command", "commit", "branch", "start_time"]

    /// `metrics.auc`, ``metrics.`eval-auc` ``, `params."trainer.max_depth"`; nil with why not.
    public static func parse(_ text: String) throws(RunQueryError) -> RunField {
        var lexer = RunQueryLexer(text)
        let field = try lexer.field()
        guard lexer.atEnd else { throw RunQueryError(text: text, at: lexer.offset, "expected the end after \(field)") }
        return field
    }

    /// The field's value in `run`: a number for metrics (its last value), text otherwise.
    func value(in run: RunTracking, latest: [String: Double]) -> RunQueryValue? {
        switch kind {
        case .metrics: return latest[key].map(RunQueryValue.number)
        case .params: return run.params[key].map(RunQueryValue.text)
        case .tags: return run.tags[key].map(RunQueryValue.text)
        case .attributes:
            switch key {
            case "run_id", "id": return .number(Double(run.run.id))
            case "status": return run.run.properties["status"].map(RunQueryValue.text)
            case "command": return run.run.properties["command"].map(RunQueryValue.text)
            case "commit": return run.run.properties["commit"].map(RunQueryValue.text)
            case "branch": return run.run.properties["branch"].map(RunQueryValue.text)
            case "start_time": return .number(run.run.started.timeIntervalSince1970 * 1000)
            default: return nil
            }
        }
    }
}

/// A value a filter compares.
enum RunQueryValue: Sendable, Equatable {
    case number(Double)
    case text(String)

    var display: String {
        switch self {
        case .number(let value): RunTable.format(value)
        case .text(let text): text
        }
    }
}

/// `mlops runs --filter`: conditions joined by `and`, in MLflow's search syntax
/// (`metrics.auc > 0.9 and params.trainer.max_depth = '6'`). The subset supported is in
/// docs/tracking.md: `=`, `!=`, `<`, `<=`, `>`, `>=` on metrics and attributes, those and
/// `LIKE`/`ILIKE` on parameters and tags (a number compares as a number when the value is one).
/// A run without the field does not match, as in MLflow.
public struct RunFilter: Sendable {
    public enum Operator: String, Sendable {
        case eq = "=", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", like = "LIKE", ilike = "ILIKE"
    }

    struct Condition: Sendable {
        let field: RunField
        let op: Operator
        let value: RunQueryValue
    }

    let conditions: [Condition]
    public let text: String

    public init(_ text: String) throws(RunQueryError) {
        self.text = text
        var lexer = RunQueryLexer(text)
        var conditions: [Condition] = []
        repeat {
            let field = try lexer.field()
            let start = lexer.offset
            let op = try lexer.comparison()
            let value = try lexer.literal()
            if field.kind == .metrics, case .text = value {
                throw RunQueryError(text: text, at: start, "\(field) is a number: compare it with a number")
            }
            if op == .like || op == .ilike, case .number = value {
                throw RunQueryError(text: text, at: start, "\(op.rawValue) takes a quoted pattern")
            }
            if field.kind == .metrics, op == .like || op == .ilike {
                throw RunQueryError(text: text, at: start, "\(op.rawValue) compares text, and \(field) is a number")
            }
            conditions.append(Condition(field: field, op: op, value: value))
        } while try lexer.and()
        guard lexer.atEnd else { throw RunQueryError(text: text, at: lexer.offset, "expected `and` or the end") }
        self.conditions = conditions
    }

    public func matches(_ run: RunTracking) -> Bool {
        let latest = run.latestMetrics
        return conditions.allSatisfy { condition in
            guard let actual = condition.field.value(in: run, latest: latest) else { return false }
            return Self.compare(actual, condition.op, condition.value)
        }
    }

    static func compare(_ actual: RunQueryValue, _ op: Operator, _ expected: RunQueryValue) -> Bool {
        switch (actual, expected) {
        case (.number(let a), .number(let b)): return order(a, b, op)
        case (.text(let a), .number(let b)):
            // `params.trainer.max_depth = 6`: a parameter written as a number compares as one.
            guard let number = Double(a) else { return op == .ne }
            return order(number, b, op)
        case (.number(let a), .text(let b)):
            guard let number = Double(b) else { return op == .ne }
            return order(a, number, op)
        case (.text(let a), .text(let b)):
            switch op {
            case .like: return like(a, b, caseless: false)
            case .ilike: return like(a, b, caseless: true)
            default: return order(a, b, op)
            }
        }
    }

    static func order<T: Comparable>(_ a: T, _ b: T, _ op: Operator) -> Bool {
        switch op {
        case .eq, .like, .ilike: a == b
        case .ne: a != b
        case .lt: a < b
        case .le: a <= b
        case .gt: a > b
        case .ge: a >= b
        }
    }

    /// SQL's LIKE: `%` any run of characters, `_` one character.
    static func like(_ text: String, _ pattern: String, caseless: Bool) -> Bool {
        let a = Array(caseless ? text.lowercased() : text)
        let p = Array(caseless ? pattern.lowercased() : pattern)
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (p.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if j == p.count {
                result = i == a.count
            } else if p[j] == "%" {
                result = match(i, j + 1) || (i < a.count && match(i + 1, j))
            } else {
                result = i < a.count && (p[j] == "_" || p[j] == a[i]) && match(i + 1, j + 1)
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}

/// `--sort FIELD [asc|desc]` (MLflow's `order_by`): ascending unless `desc`; runs without the
/// field (or with NaN) last, newest first.
public struct RunOrder: Sendable {
    public let field: RunField
    public let descending: Bool

    public init(_ text: String) throws(RunQueryError) {
        var lexer = RunQueryLexer(text)
        field = try lexer.field()
        let word = lexer.word()?.lowercased()
        switch word {
        case nil, "asc": descending = false
        case "desc": descending = true
        case let other?: throw RunQueryError(text: text, at: lexer.offset, "expected `asc` or `desc`, not '\(other)'")
        }
        guard lexer.atEnd else { throw RunQueryError(text: text, at: lexer.offset, "expected the end") }
    }

    public func sort(_ runs: [RunTracking]) -> [RunTracking] {
        // NaN has no place in an order: it sorts with the runs that lack the field.
        let keyed = runs.map { run -> (RunTracking, RunQueryValue?) in
            let value = field.value(in: run, latest: run.latestMetrics)
            if case .number(let number)? = value, number.isNaN { return (run, nil) }
            return (run, value)
        }
        return keyed.sorted { left, right in
            switch (left.1, right.1) {
            case (nil, nil): return left.0.run.id > right.0.run.id
            case (nil, _): return false
            case (_, nil): return true
            case (let a?, let b?):
                if a == b { return left.0.run.id > right.0.run.id }
                let less = RunFilter.compare(a, .lt, b)
                return descending ? !less : less
            }
        }.map(\.0)
    }
}

/// A filter, sort or column that cannot be read: where, and why (exit 64).
public struct RunQueryError: MLOpsError {
    public let text: String
    public let offset: Int
    public let reason: String

    init(text: String, at offset: Int, _ reason: String) {
        self.text = text
        self.offset = offset
        self.reason = reason
    }

    public var message: String {
        let rest = String(text.dropFirst(offset).prefix(20))
        return "cannot read '\(text)' at character \(offset + 1)"
            + (rest.isEmpty ? " (the end)" : " ('\(rest)')") + ": \(reason)"
    }

    public var hint: String? {
        "write conditions as MLflow does, joined by `and`: metrics.auc > 0.9 and params.trainer.max_depth = '6' (docs/tracking.md)"
    }
    public var exitStatus: ExitStatus { .usage }
}

/// The tokens of a filter, sort or column.
struct RunQueryLexer {
    let characters: [Character]
    let text: String
    var offset = 0

    init(_ text: String) {
        self.text = text
        characters = Array(text)
    }

    var atEnd: Bool {
        mutating get {
            skipSpace()
            return offset == characters.count
        }
    }

    mutating func skipSpace() {
        while offset < characters.count, characters[offset].isWhitespace { offset += 1 }
    }

    func fail(_ reason: String) -> RunQueryError { RunQueryError(text: text, at: offset, reason) }

    /// `kind.key`, the key bare (letters, digits, `_ - . : /`) or quoted with backticks or quotes.
    mutating func field() throws(RunQueryError) -> RunField {
        skipSpace()
        let start = offset
        guard let prefix = word(), let dot = prefix.firstIndex(of: ".") else {
            offset = start
            throw fail("expected a field such as metrics.auc, params.NAME, tags.NAME or attributes.status")
        }
        let kindName = String(prefix[..<dot]).lowercased()
        guard let kind = RunField.kinds[kindName] else {
            offset = start
            let hint = Suggestions.nearest(to: kindName, in: ["metrics", "params", "tags", "attributes"])
            throw fail(
                "'\(kindName)' is not metrics, params, tags or attributes"
                    + (hint.map { " (did you mean '\($0)'?)" } ?? ""))
        }
        var key = String(prefix[prefix.index(after: dot)...])
        if key.isEmpty, offset < characters.count, "`\"'".contains(characters[offset]) {
            key = try quoted()
        }
        guard !key.isEmpty else { throw fail("\(kindName). needs a name after it") }
        if kind == .attributes, !RunField.attributes.contains(key), key != "id" {
            offset = start
            throw fail("attributes are \(RunField.attributes.joined(separator: ", ")), not '\(key)'")
        }
        return RunField(kind: kind, key: key)
    }

    /// Letters, digits and `_ - . : /`.
    mutating func word() -> String? {
        skipSpace()
        let start = offset
        while offset < characters.count,
            characters[offset].isLetter || characters[offset].isNumber || "_-.:/@".contains(characters[offset])
        {
            offset += 1
        }
        return offset > start ? String(characters[start..<offset]) : nil
    }

    mutating func quoted() throws(RunQueryError) -> String {
        let quote = characters[offset]
        offset += 1
        var value = ""
        while offset < characters.count {
            let character = characters[offset]
            offset += 1
            if character == quote {
                // A doubled quote is one quote, as in SQL.
                if offset < characters.count, characters[offset] == quote {
                    value.append(quote)
                    offset += 1
                    continue
                }
                return value
            }
            value.append(character)
        }
        throw fail("the quote \(quote) is never closed")
    }

    mutating func comparison() throws(RunQueryError) -> RunFilter.Operator {
        skipSpace()
        for symbol in ["!=", "<>", "<=", ">=", "==", "=", "<", ">"]
        where Array(symbol) == Array(characters[offset..<min(characters.count, offset + symbol.count)]) {
            offset += symbol.count
            switch symbol {
            case "!=", "<>": return .ne
            case "<=": return .le
            case ">=": return .ge
            case "<": return .lt
            case ">": return .gt
            default: return .eq
            }
        }
        let start = offset
        if let word = word()?.uppercased() {
            if word == "LIKE" { return .like }
            if word == "ILIKE" { return .ilike }
        }
        offset = start
        throw fail("expected a comparison: =, !=, <, <=, >, >=, LIKE or ILIKE")
    }

    mutating func literal() throws(RunQueryError) -> RunQueryValue {
        skipSpace()
        guard offset < characters.count else { throw fail("expected a value") }
        if "\"'".contains(characters[offset]) { return .text(try quoted()) }
        let start = offset
        while offset < characters.count, characters[offset].isNumber || "+-.eE".contains(characters[offset]) {
            offset += 1
        }
        let token = String(characters[start..<offset])
        guard let number = Double(token), number.isFinite else {
            offset = start
            throw fail("expected a number or a quoted value")
        }
        return .number(number)
    }

    /// Whether an `and` follows (any case).
    mutating func and() throws(RunQueryError) -> Bool {
        skipSpace()
        let start = offset
        guard let word = word() else { return false }
        if word.lowercased() == "and" { return true }
        offset = start
        throw fail("expected `and` between conditions (`or` is not supported, as in MLflow)")
    }
}

/// `mlops runs` with columns: the runs that pass the filter, sorted, with the values asked for.
public enum RunTable {
    /// The runs in the store (the newest `limit`) that `filter` keeps, in `order`.
    public static func select(
        from store: any MetadataStore, limit: Int, filter: RunFilter?, order: RunOrder?
    ) throws -> [RunTracking] {
        // A filter looks further back than the rows shown, as MLflow's search does.
        let runs = try store.trackings(limit: filter == nil ? limit : max(limit, 1000))
        var kept = filter.map { filter in runs.filter(filter.matches) } ?? runs
        if let order { kept = order.sort(kept) }
        return Array(kept.prefix(limit))
    }

    /// A column's text for one run ("–" when it has none).
    public static func cell(_ field: RunField, _ run: RunTracking) -> String {
        field.value(in: run, latest: run.latestMetrics)?.display ?? "–"
    }

    /// A metric value as the tables print it: up to 4 decimals, NaN and infinities by name.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == value.rounded(), abs(value) < 1e12 { return String(Int64(value)) }
        if abs(value) >= 1e6 || abs(value) < 1e-4 { return String(format: "%.4g", value) }
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}
