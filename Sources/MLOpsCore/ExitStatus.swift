/// The exit statuses of every `mlops` command: one table, from `sysexits.h` where one fits.
///
/// The table is printed by `mlops --help` (``ExitStatus/helpTable``) and applied in one
/// place, ``ExitStatus/init(for:)``. "A verdict failed" (1) is never confused with
/// "could not evaluate" (65, 66, 70, 74, 75, 78).
public enum ExitStatus: Int32, CaseIterable, Sendable, Codable {
    /// The command succeeded, or the gate passed.
    case success = 0
    /// A verdict failed: a test, a gate or a validation said the model or data is not good enough.
    case verdictFailed = 1
    /// Bad flags or arguments (`EX_USAGE`).
    case usage = 64
    /// Bad input data (`EX_DATAERR`).
    case dataError = 65
    /// An input file or artifact is missing (`EX_NOINPUT`).
    case noInput = 66
    /// An internal error: a bug in mlops (`EX_SOFTWARE`).
    case internalError = 70
    /// An I/O error (`EX_IOERR`).
    case ioError = 74
    /// A temporary failure, such as a locked store or registry: retry (`EX_TEMPFAIL`).
    case temporaryFailure = 75
    /// A configuration error in `mlops.yaml` (`EX_CONFIG`).
    case configError = 78
    /// Interrupted by the user (128 + SIGINT).
    case interrupted = 130

    /// What the status means, as printed in the help table.
    public var meaning: String {
        switch self {
        case .success: "success, or the gate passed"
        case .verdictFailed: "a verdict failed: a test, gate or validation said \"not good enough\""
        case .usage: "usage error: bad flags or arguments"
        case .dataError: "bad input data"
        case .noInput: "an input file or artifact is missing"
        case .internalError: "internal error: a bug in mlops, please report it"
        case .ioError: "I/O error"
        case .temporaryFailure: "temporary failure, retry (store or registry locked)"
        case .configError: "configuration error (mlops.yaml)"
        case .interrupted: "interrupted"
        }
    }

    /// The exit-status table as it appears in `mlops --help`.
    public static var helpTable: String {
        var lines = ["EXIT STATUS (the same for every command):"]
        for status in allCases {
            let code = String(status.rawValue)
            lines.append("  " + code + String(repeating: " ", count: 5 - code.count) + status.meaning)
        }
        return lines.joined(separator: "\n")
    }

    /// The one mapping from an error to an exit status.
    ///
    /// Errors of mlops carry their status (``MLOpsError``); cancellation is an interruption;
    /// anything else reached the top unclassified, which is a bug.
    public init(for error: any Error) {
        if let error = error as? any MLOpsError {
            self = error.exitStatus
        } else if error is CancellationError {
            self = .interrupted
        } else {
            self = .internalError
        }
    }
}
