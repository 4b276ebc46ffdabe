/// An error that mlops reports to a person and maps to an exit status.
///
/// `message` starts in lower case, names the object involved in quotes and says what
/// failed; `hint`, when there is one, says what to do about it.
public protocol MLOpsError: Error, CustomStringConvertible, Sendable {
    /// The exit status the command ends with when this error reaches the top.
    var exitStatus: ExitStatus { get }
    /// What went wrong, naming the object.
    var message: String { get }
    /// What the user can do about it, if anything useful can be said.
    var hint: String? { get }
    /// Where in a file the problem is, when it is in a file.
    var location: SourceLocation? { get }
}

extension MLOpsError {
    public var hint: String? { nil }
    public var location: SourceLocation? { nil }
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += message
        if let hint { text += "\n  hint: " + hint }
        return text
    }
}

/// A place in a text file: 1-based line and column, as editors show them.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        return text
    }
}

/// A broken invariant inside mlops: a bug, never the user's fault (exit 70).
public struct InternalError: MLOpsError {
    public let message: String
    public init(_ message: String) { self.message = "internal error: " + message }
    public var exitStatus: ExitStatus { .internalError }
    public var hint: String? { "this is a bug in mlops; please report it with the command you ran" }
}

/// A file-system failure with the path involved (exit 74, or 66 for a missing input).
public struct FileError: MLOpsError {
    public enum Kind: Sendable { case missing, notWritable, io }
    public let kind: Kind
    public let path: String
    public let detail: String
    public let hint: String?

    public init(_ kind: Kind, path: String, detail: String, hint: String? = nil) {
        self.kind = kind
        self.path = path
        self.detail = detail
        self.hint = hint
    }

    public var message: String { "'\(path)': \(detail)" }
    public var exitStatus: ExitStatus { kind == .missing ? .noInput : .ioError }
}

/// A flag or argument whose value the work itself finds wrong (exit 64), e.g. a `--label`
/// that is not a column of the file: the libraries' counterpart of a parser's usage error.
public struct UsageError: MLOpsError {
    public let message: String
    public let hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var exitStatus: ExitStatus { .usage }
}
