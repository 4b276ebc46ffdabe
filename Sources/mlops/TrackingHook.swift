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

    /// After a run: `run` queued, then sent by a detached `mlops runs sync` (the command does
    /// not wait for the server), or at once when tracking is required, `tracking.background` is
    /// false or `detach` is (an orchestrated task's container ends with its command).
    static func afterRun(_ run: Int64, project: Project, console: Console, detach: Bool = true) throws {
        guard let settings = try TrackingSettings.resolve(config: project.config, environment: project.environment)
        else { return }
        try project.store.enqueueDelivery(kind: .run, subject: String(run), payload: "{}")
        let mirror = MLflowMirror(settings: settings, store: project.store, root: project.root)
        if detach && settings.background {
            try warnAboutWaiting(project.store, besides: String(run), console: console)
            do {
                let pid = try DetachedProcess.start(
                    [DetachedProcess.currentExecutable(), "runs", "sync", "--background", "--repo", project.root.path],
                    environment: project.environment, log: Self.log(project.root))
                console.line(
                    "\(console.style("mlflow", .cyan))      run \(run) → MLflow in the background (pid \(pid), experiment \(settings.experiment); `mlops runs sync` waits for it)"
                )
                return
            } catch {
                console.warning("tracking: \(error); sending run \(run) now")
            }
        }
        try deliver(mirror, console: console)
    }

    /// Where the detached senders write what they did.
    static func log(_ root: URL) -> URL {
        root.appendingPathComponent(".mlops/tracking/sync.log")
    }

    /// One warning when deliveries besides `subject` wait and one of them failed (a detached
    /// sender found the server down): nobody else would see it.
    static func warnAboutWaiting(_ store: any MetadataStore, besides subject: String, console: Console) throws {
        let waiting = try store.deliveries(pendingOnly: true, limit: 100_000).filter {
            $0.subject != subject && $0.claimedBy == nil
        }
        guard let error = waiting.compactMap(\.lastError).last else { return }
        console.warning(
            "tracking: \(waiting.count) earlier deliver\(waiting.count == 1 ? "y waits" : "ies wait") in the store's outbox (last error: \(error)); `mlops runs sync` sends them"
        )
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
        let report = try mirror.sync { waiting in Self.announceWait(waiting, console: console) }
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

    /// Says which process this one waits for (a detached sender still at it).
    static func announceWait(_ delivery: TrackingDelivery, console: Console) {
        let what = delivery.kind == .run ? "run \(delivery.subject)" : delivery.subject
        console.note("waiting for \(delivery.claimedBy ?? "another process") to finish sending \(what) to MLflow")
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
