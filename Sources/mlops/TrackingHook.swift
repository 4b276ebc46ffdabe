import Foundation
import MLOpsCore
import Metadata
import Pipeline
import Release
import Tracking

/// What the commands that make runs and releases do for the MLflow mirror: queue the run or
/// the registry change in the store's outbox and send what waits, when `tracking.mlflow_uri`
/// or `MLFLOW_TRACKING_URI` names a server. A server that is down or refuses fails the command
/// only with `tracking.required: true`; otherwise one warning, and the outbox keeps it for the
/// next command or `mlops runs sync` (docs/tracking.md).
enum TrackingHook {
    /// Fails before any work when `MLFLOW_TRACKING_URI` cannot be used (mlops.yaml's own
    /// setting is checked when it is read).
    static func check(_ project: Project) throws {
        _ = try TrackingSettings.resolve(config: project.config, environment: project.environment)
    }

    /// After a run: `run` queued, then everything that waits sent.
    static func afterRun(_ run: Int64, project: Project, console: Console) throws {
        guard let settings = try TrackingSettings.resolve(config: project.config, environment: project.environment)
        else { return }
        try project.store.enqueueDelivery(kind: .run, subject: String(run), payload: "{}")
        try deliver(MLflowMirror(settings: settings, store: project.store, root: project.root), console: console)
    }

    /// After a release, promotion or rollback: the change queued, then everything sent.
    static func afterRegistryChange(
        _ change: RegistryChange, session: ReleaseSession, environment: [String: String], console: Console
    ) throws {
        guard let config = session.config,
            let settings = try TrackingSettings.resolve(config: config, environment: environment)
        else { return }
        let store = try Project.openStore(
            root: session.root, configured: config.store?.value, create: true, environment: environment)
        defer { try? store.close() }
        let payload = String(decoding: try JSONEncoder().encode(change), as: UTF8.self)
        try store.enqueueDelivery(kind: .registry, subject: change.subject, payload: payload)
        try deliver(MLflowMirror(settings: settings, store: store, root: session.root), console: console)
    }

    /// Sends what waits; one line per delivery on a terminal, one warning when the server
    /// fails (or the error, when tracking is required).
    static func deliver(_ mirror: MLflowMirror, console: Console) throws {
        let report = try mirror.sync()
        let quiet = console.mode == .json
        for outcome in report.outcomes where outcome.error == nil && !quiet {
            console.line(Self.describe(outcome, mirror: mirror, console: console))
        }
        for outcome in report.outcomes where outcome.note != nil {
            console.warning("tracking: \(outcome.note ?? "")")
        }
        guard let failure = report.failure else { return }
        if mirror.settings.required { throw failure }
        console.warning(
            "tracking: \(failure.message); \(report.pending) deliver\(report.pending == 1 ? "y waits" : "ies wait") in the store's outbox (`mlops runs sync` sends them)"
        )
    }

    static func describe(_ outcome: MLflowMirror.Outcome, mirror: MLflowMirror, console: Console) -> String {
        let target = console.style("mlflow", .cyan)
        switch outcome.kind {
        case "run":
            return
                "\(target)      run \(outcome.subject) → MLflow run \(outcome.remote ?? "?") (experiment \(mirror.settings.experiment))"
        default:
            if outcome.subject.hasPrefix("release:") {
                return
                    "\(target)      \(outcome.subject.dropFirst("release:".count)) → model version \(outcome.remote ?? "?")"
            }
            let parts = outcome.subject.split(separator: ":")
            let (name, channel) = parts.count > 2 ? (String(parts[1]), String(parts[2])) : ("?", "?")
            return "\(target)      alias \(channel) → \(name) version \(outcome.remote ?? "?")"
        }
    }
}
