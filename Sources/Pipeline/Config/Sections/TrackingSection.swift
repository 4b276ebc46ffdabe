import Foundation
import MLOpsCore
import Yams

// The `tracking` section of mlops.yaml (docs/tracking.md): the MLflow tracking server every
// run is mirrored to. MLFLOW_TRACKING_URI overrides `mlflow_uri` (empty: no mirror);
// MLFLOW_EXPERIMENT_NAME overrides `experiment`.

public struct TrackingSection: ConfigSection {
    /// `http(s)://HOST[:PORT][/PREFIX]` of an MLflow tracking server, or nil (the default).
    public var mlflowURI: String?
    /// The MLflow experiment the runs go to; nil: the pipeline's name.
    public var experiment: String?
    /// Whether a server that is down or refuses fails the command (else: a warning, and the
    /// run waits in the outbox for the next command or `mlops runs sync`).
    public var required: Bool
    /// Whether a run is sent by a detached `mlops runs sync` (the default), so the command does
    /// not wait for the server; false sends it before the command returns, as `required` does.
    public var background: Bool
    /// The registered model releases are registered as; nil: the release's own name.
    public var registeredModel: String?

    public enum Key: String, ConfigKey {
        case mlflowURI = "mlflow_uri", experiment, required, background
        case registeredModel = "registered_model"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        mlflowURI = f.string(.mlflowURI)
        experiment = f.string(.experiment)
        required = f.bool(.required, default: false)
        background = f.bool(.background, default: true)
        registeredModel = f.string(.registeredModel)
        if let mlflowURI, let node = f.value(.mlflowURI), let problem = Self.problem(mlflowURI) {
            f.reader.report(
                node, f.keyPath(.mlflowURI), "tracking.mlflow_uri '\(mlflowURI)' \(problem)",
                hint: "write the server's address, e.g. http://127.0.0.1:5000, or leave it out")
        }
        if let experiment, let node = f.value(.experiment), experiment.isEmpty || experiment.count > 500 {
            f.reader.report(node, f.keyPath(.experiment), "tracking.experiment must have 1 to 500 characters")
        }
        if let name = registeredModel, let node = f.value(.registeredModel),
            name.isEmpty || name.contains("/") || name.contains(":")
        {
            f.reader.report(
                node, f.keyPath(.registeredModel),
                "tracking.registered_model '\(name)' cannot be empty or contain '/' or ':' (MLflow refuses them)")
        }
    }

    /// Why `text` is not an MLflow server address mlops can use; nil when it is.
    public static func problem(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil else {
            return "is not a URL"
        }
        guard scheme == "http" || scheme == "https" else {
            return "has scheme '\(scheme)': mlops mirrors to a tracking server over http or https"
        }
        guard url.query == nil, url.fragment == nil else { return "has a query or fragment" }
        return nil
    }
}
