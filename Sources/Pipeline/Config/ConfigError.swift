import MLOpsCore

/// One problem found in `mlops.yaml`, with where it is and what to do.
public struct ConfigDiagnostic: MLOpsError, Hashable, Codable {
    /// File, line and column (1-based) of the offending key or value.
    public let sourceLocation: SourceLocation
    /// The dotted key path, e.g. `trainer.rounds` or `evaluation.thresholds[0].metric`.
    public let keyPath: String
    public let message: String
    public let hint: String?

    public init(location: SourceLocation, keyPath: String, message: String, hint: String? = nil) {
        self.sourceLocation = location
        self.keyPath = keyPath
        self.message = message
        self.hint = hint
    }

    public var location: SourceLocation? { sourceLocation }
    public var exitStatus: ExitStatus { .configError }

    enum CodingKeys: String, CodingKey {
        case sourceLocation = "location", keyPath = "key", message, hint
    }
}

/// `mlops.yaml` could not be used: missing, unreadable, not YAML, or not a valid configuration (exit 78).
public enum ConfigError: MLOpsError {
    case missing(path: String)
    case unreadable(path: String, detail: String)
    /// Not well-formed YAML; the diagnostic points at the problem.
    case syntax(ConfigDiagnostic)
    /// Well-formed YAML that breaks the schema: every problem found, in file order.
    case invalid([ConfigDiagnostic])
    /// A valid configuration without what a command needs (e.g. `mlops gate` without an
    /// evaluation section): `sections` names what is missing, `purpose` what it is for.
    case missingSection(String, purpose: String)
    /// A key naming features (e.g. `gates.drift`) names one the data does not have.
    case unknownFeature(key: String, feature: String, columns: [String])
    /// A threshold whose measure does not fit the feature (L-infinity on floats, say).
    case wrongMeasure(key: String, feature: String, detail: String)

    public var exitStatus: ExitStatus { .configError }

    /// Every problem, one per diagnostic line.
    public var diagnostics: [ConfigDiagnostic] {
        switch self {
        case .syntax(let diagnostic): [diagnostic]
        case .invalid(let diagnostics): diagnostics
        case .missing, .unreadable, .missingSection, .unknownFeature, .wrongMeasure: []
        }
    }

    public var message: String {
        switch self {
        case .missing(let path): "configuration file '\(path)' does not exist"
        case .unreadable(let path, let detail): "configuration file '\(path)' cannot be read: \(detail)"
        case .syntax(let diagnostic): diagnostic.message
        case .invalid(let diagnostics):
            diagnostics.count == 1
                ? diagnostics[0].message : "\(diagnostics.count) problems in the configuration"
        case .missingSection(let sections, let purpose):
            "mlops.yaml has no \(sections) section: \(purpose)"
        case .unknownFeature(let key, let feature, _):
            "\(key).\(feature) names a feature the data does not have"
        case .wrongMeasure(let key, let feature, let detail):
            "\(key).\(feature): \(detail)"
        }
    }

    public var hint: String? {
        switch self {
        case .missing: "create one with `mlops init`, or pass --config PATH"
        case .unreadable: nil
        case .syntax(let diagnostic): diagnostic.hint
        case .invalid(let diagnostics): diagnostics.count == 1 ? diagnostics[0].hint : nil
        case .missingSection: "add it to mlops.yaml (docs/config.md; `mlops init` writes a commented example)"
        case .unknownFeature(_, let feature, let columns):
            Suggestions.nearest(to: feature, in: columns).map { "did you mean '\($0)'?" }
                ?? "the columns are: " + columns.prefix(20).joined(separator: ", ")
        case .wrongMeasure:
            "give one number (the feature's own measure: L-infinity for text and categorical integers, Jensen-Shannon divergence for numbers)"
        }
    }

    public var location: SourceLocation? {
        switch self {
        case .missing(let path), .unreadable(let path, _): SourceLocation(file: path)
        case .syntax(let diagnostic): diagnostic.sourceLocation
        case .invalid(let diagnostics): diagnostics.count == 1 ? diagnostics[0].sourceLocation : nil
        case .missingSection, .unknownFeature, .wrongMeasure: SourceLocation(file: MLOpsConfig.fileName)
        }
    }
}
