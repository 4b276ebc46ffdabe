import Foundation
import Glibc
import MLOpsCore
import Metadata
import Pipeline

/// Where runs are mirrored and what a failure does: `tracking` in mlops.yaml, with MLflow's
/// own variables over it (`MLFLOW_TRACKING_URI`, empty for none; `MLFLOW_EXPERIMENT_NAME`).
public struct TrackingSettings: Sendable {
    public let server: MLflowServer
    public let experiment: String
    /// A server that is down or refuses fails the command (else a warning; the outbox keeps it).
    public let required: Bool
    /// The registered model releases go to; nil: the release's own name.
    public let registeredModel: String?
    /// Runs are sent by a detached `mlops runs sync` (never when `required`).
    public let background: Bool

    public init(
        server: MLflowServer, experiment: String, required: Bool, registeredModel: String?, background: Bool = false
    ) {
        self.server = server
        self.experiment = experiment
        self.required = required
        self.registeredModel = registeredModel
        self.background = background && !required
    }

    /// The settings, or nil when no server is named. A malformed `MLFLOW_TRACKING_URI` is a
    /// configuration error (78).
    public static func resolve(config: MLOpsConfig, environment: [String: String]) throws -> TrackingSettings? {
        let section = config.tracking
        let uri: String?
        if let variable = environment["MLFLOW_TRACKING_URI"] {
            uri = variable.isEmpty ? nil : variable
            if let uri, let problem = TrackingSection.problem(uri) {
                throw TrackingSettingError(setting: "MLFLOW_TRACKING_URI", detail: "'\(uri)' \(problem)")
            }
        } else {
            uri = section.mlflowURI
        }
        guard let uri else { return nil }
        let experiment = environment["MLFLOW_EXPERIMENT_NAME"].flatMap { $0.isEmpty ? nil : $0 }
        return TrackingSettings(
            server: MLflowServer(uri: uri, credentials: MLflowServer.credentials(environment: environment)),
            experiment: experiment ?? section.experiment ?? config.pipeline.name, required: section.required,
            registeredModel: section.registeredModel, background: section.background)
    }
}

/// A tracking setting from the environment that cannot be used (exit 78).
public struct TrackingSettingError: MLOpsError {
    public let setting: String
    public let detail: String
    public let hint: String?

    public init(
        setting: String, detail: String,
        hint: String? = "write the server's address, e.g. http://127.0.0.1:5000, or set it empty for no mirror"
    ) {
        self.setting = setting
        self.detail = detail
        self.hint = hint
    }

    public var message: String { "\(setting): \(detail)" }
    public var exitStatus: ExitStatus { .configError }
}

/// What a registry delivery carries: a release registered as a model version, or a channel
/// moved (an alias set).
public struct RegistryChange: Sendable, Codable, Equatable {
    public enum Event: String, Sendable, Codable { case release, promote, rollback }
    public let event: Event
    public let name: String
    public let version: String
    /// `sha256:` of the bundle's manifest: the model version's tag, to find it again.
    public let identity: String
    public let channel: String?
    /// The store's run that gated the release (its MLflow run is the version's source).
    public let run: Int64?

    public init(event: Event, name: String, version: String, identity: String, channel: String?, run: Int64?) {
        self.event = event
        self.name = name
        self.version = version
        self.identity = identity
        self.channel = channel
        self.run = run
    }

    /// Unique per change: a channel can move back and forth, each move its own delivery.
    public var subject: String {
        switch event {
        case .release: "release:\(name)@\(version)"
        case .promote, .rollback: "alias:\(name):\(channel ?? ""):\(version):\(UUID().uuidString.lowercased())"
        }
    }
}

/// Sends the store's outbox to an MLflow tracking server: each run as an MLflow run (params,
/// metrics by step, tags, reports and model through the artifact proxy, its status and times)
/// and each release as a model version with the channels as aliases. A delivery is marked sent
/// only when all of it landed; one tried again finds the MLflow run it made before by its
/// `mlops.run_key` tag and the model version by its `mlops.identity` tag, so nothing is made
/// twice (docs/tracking.md).
public final class MLflowMirror {
    public let settings: TrackingSettings
    let client: MLflowClient
    let store: any MetadataStore
    let root: URL
    private var experimentID: String?
    private var storeIdentity: String?
    /// The delivery this process is sending and when its hold was last taken or renewed.
    private var held: (id: Int64, at: Date)?

    public init(settings: TrackingSettings, store: any MetadataStore, root: URL) {
        self.settings = settings
        self.client = MLflowClient(server: settings.server)
        self.store = store
        self.root = root
    }

    /// One delivery's fate in a sync.
    public struct Outcome: Sendable, Encodable {
        public let kind: String
        public let subject: String
        /// The MLflow run id or model version it became; nil when it failed.
        public let remote: String?
        public let error: String?
        /// Why it was sent without doing anything (an alias MLflow cannot hold).
        public let note: String?
    }

    /// What a sync did: every delivery tried, the first failure that stopped it (the server
    /// down), how many another process was sending, and how many still wait.
    public struct Report: Sendable {
        public var outcomes: [Outcome] = []
        public var failure: MLflowError?
        /// Deliveries another process (a detached `mlops runs sync`) sent while this one waited.
        public var awaited = 0
        /// Deliveries left to the process sending them (a sync that does not wait).
        public var leftToOthers = 0
        public var pending = 0
        public var failed: [Outcome] { outcomes.filter { $0.error != nil } }
    }

    /// What a sync does about a delivery another process is sending.
    public enum OthersSending: Sendable {
        /// Waits until it is sent or let go of (a foreground command, `mlops runs sync`).
        case wait
        /// Leaves it to that process (the detached sender).
        case leave
    }

    /// How long a hold on a delivery lasts: a sender that died is replaced after this (at once
    /// when it ran on this machine).
    public static let hold: TimeInterval = 600

    /// This process as a delivery's holder: `HOST:PID (KERNEL)`, KERNEL naming the boot and the
    /// PID namespace, so a PID is only looked up where it means this process's kind of PID.
    public static let holder: String = {
        "\(hostName()):\(getpid()) (\(kernel))"
    }()

    /// The boot (`/proc/sys/kernel/random/boot_id`, random per boot) and the PID namespace this
    /// process's PIDs belong to.
    public static let kernel: String = {
        let boot =
            (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines).prefix(8) ?? "?"
        var info = stat()
        let namespace = stat("/proc/self/ns/pid", &info) == 0 ? String(info.st_ino) : "?"
        return "boot \(boot), pidns \(namespace)"
    }()

    /// Whether `holder` is a process of this boot and PID namespace that is gone (its hold can
    /// be taken at once). A holder anywhere else keeps its hold until it runs out.
    static func isGone(_ holder: String) -> Bool {
        guard holder.hasSuffix(" (\(kernel))"), let space = holder.firstIndex(of: " "),
            let colon = holder[..<space].lastIndex(of: ":"), let pid = pid_t(holder[holder.index(after: colon)..<space])
        else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Renews the hold on the delivery being sent when a minute has passed since it was taken,
    /// so a long upload is not taken over by another sender.
    func renewHold() throws {
        guard let (id, at) = held, Date().timeIntervalSince(at) > 60 else { return }
        _ = try store.claimDelivery(id, holder: Self.holder, until: Date().addingTimeInterval(Self.hold), stale: nil)
        held = (id, Date())
    }

    /// Takes `delivery` for this process. Nil when there is nothing left to do: it was sent
    /// (by another process, `awaited` true when this one waited for it), or another process
    /// holds it and `othersSending` is `.leave`.
    func claim(
        _ delivery: TrackingDelivery, othersSending: OthersSending, onWait: (TrackingDelivery) -> Void
    ) throws -> (delivery: TrackingDelivery?, awaited: Bool) {
        var stale: String?
        var waited = false
        while true {
            guard
                let current = try store.claimDelivery(
                    delivery.id, holder: Self.holder, until: Date().addingTimeInterval(Self.hold), stale: stale)
            else { return (nil, false) }
            if current.state == .sent { return (nil, waited) }
            // Taken only when the row names this process: a row free when read was let go of by
            // another sender after this one's update found it held (PostgreSQL), so try again.
            guard let other = current.claimedBy else { continue }
            if other == Self.holder {
                held = (current.id, Date())
                return (current, false)
            }
            if Self.isGone(other) {
                stale = other
                continue
            }
            guard othersSending == .wait else { return (nil, false) }
            if !waited { onWait(current) }
            waited = true
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Delivers what waits in the outbox, oldest first, each held by this process while it is
    /// sent so a detached sender and the next command never send it twice. Stops at the first
    /// transient failure (the server down or failing: the rest would fail too); a delivery the
    /// server rejects is reported and the next is tried.
    public func sync(
        limit: Int = 1000, othersSending: OthersSending = .wait, onWait: (TrackingDelivery) -> Void = { _ in },
        onSent: (Outcome) -> Void = { _ in }
    ) throws -> Report {
        var report = Report()
        for listed in try store.deliveries(pendingOnly: true, limit: limit) {
            let (claimed, awaited) = try claim(listed, othersSending: othersSending, onWait: onWait)
            guard let delivery = claimed else {
                if awaited {
                    report.awaited += 1
                } else if try store.delivery(kind: listed.kind, subject: listed.subject)?.state == .pending {
                    report.leftToOthers += 1
                }
                continue
            }
            defer { held = nil }
            do {
                let (remote, note) = try deliver(delivery)
                let outcome = Outcome(
                    kind: delivery.kind.rawValue, subject: delivery.subject, remote: remote, error: nil, note: note)
                // Said before it is noted: whoever waits for the note finds it said.
                onSent(outcome)
                try store.noteDelivery(delivery.id, sent: true, remoteID: remote, error: note, holder: Self.holder)
                report.outcomes.append(outcome)
            } catch let error as MLflowError {
                try store.noteDelivery(
                    delivery.id, sent: false, remoteID: nil, error: error.message, holder: Self.holder)
                report.outcomes.append(
                    Outcome(
                        kind: delivery.kind.rawValue, subject: delivery.subject, remote: nil, error: error.message,
                        note: nil))
                if report.failure == nil { report.failure = error }
                if error.isTransient { break }
            } catch {
                // Let go of it for the next sender before the error ends the sync.
                try? store.noteDelivery(delivery.id, sent: false, remoteID: nil, error: "\(error)", holder: Self.holder)
                throw error
            }
        }
        report.pending = try store.deliveries(pendingOnly: true, limit: 100_000).count
        return report
    }

    func deliver(_ delivery: TrackingDelivery) throws -> (remote: String, note: String?) {
        switch delivery.kind {
        case .run:
            guard let run = Int64(delivery.subject) else {
                throw InternalError("the outbox's run delivery '\(delivery.subject)' names no run")
            }
            return (try deliverRun(run, known: delivery.remoteID).id, nil)
        case .registry:
            let change = try JSONDecoder().decode(RegistryChange.self, from: Data(delivery.payload.utf8))
            return change.event == .release ? (try register(change), nil) : try moveAlias(change)
        }
    }

    // MARK: - Runs

    /// The MLflow tag that finds a run's MLflow run again: the store's identity and the run id.
    public func runKey(_ run: Int64) throws -> String {
        if storeIdentity == nil { storeIdentity = try store.identity() }
        return "\(storeIdentity ?? ""):\(run)"
    }

    /// The experiment's id: found by name, else created (another job creating it at once is
    /// fine). A deleted experiment is an error naming it.
    public func experiment() throws -> String {
        if let experimentID { return experimentID }
        let name = settings.experiment
        func find() throws -> String? {
            do {
                let answer = try client.get("experiments/get-by-name", [("experiment_name", name)])
                let experiment = answer["experiment"] as? [String: Any]
                if experiment?["lifecycle_stage"] as? String == "deleted" {
                    throw MLflowError(.deletedExperiment(name), server: settings.server.uri)
                }
                return experiment?["experiment_id"] as? String
            } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" {
                return nil
            }
        }
        var id = try find()
        if id == nil {
            do {
                id = try client.post("experiments/create", ["name": name])["experiment_id"] as? String
            } catch let error as MLflowError where error.code == "RESOURCE_ALREADY_EXISTS" {
                id = try find()
            }
        }
        guard let id else {
            throw MLflowError(
                .rejected("experiments/create", status: 200, code: "", message: "no experiment id came back"),
                server: settings.server.uri)
        }
        experimentID = id
        return id
    }

    /// The MLflow run of the store's run `run`: found by its key or made, then filled and
    /// finished. Returns its id and artifact location.
    @discardableResult
    func deliverRun(_ run: Int64, known: String?) throws -> (id: String, artifacts: String) {
        guard let tracked = try store.tracking(run: run) else {
            throw MLflowError(
                .rejected("run \(run)", status: 0, code: "", message: "the run is not in the store"),
                server: settings.server.uri)
        }
        let experiment = try experiment()
        let key = try runKey(run)
        let summary = tracked.run
        let started = Int64((summary.started.timeIntervalSince1970 * 1000).rounded())
        var found: (String, String)?
        var query: [String: Any] = [:]
        query["experiment_ids"] = [experiment]
        query["filter"] = "tags.`mlops.run_key` = '\(key)'"
        query["run_view_type"] = "ACTIVE_ONLY"
        query["max_results"] = 1
        let search = try client.post("runs/search", query)
        if let first = (search["runs"] as? [[String: Any]])?.first, let info = first["info"] as? [String: Any],
            let id = info["run_id"] as? String
        {
            found = (id, info["artifact_uri"] as? String ?? "")
        }
        let tags = Self.mlflowTags(tracked, key: key)
        if found == nil {
            var body: [String: Any] = [:]
            body["experiment_id"] = experiment
            body["run_name"] = Self.runName(tracked)
            body["start_time"] = started
            body["user_id"] = tracked.tags["user"] ?? ""
            body["tags"] = [["key": "mlops.run_key", "value": key]]
            let created = try client.post("runs/create", body)
            guard let info = (created["run"] as? [String: Any])?["info"] as? [String: Any],
                let id = info["run_id"] as? String
            else {
                throw MLflowError(
                    .rejected("runs/create", status: 200, code: "", message: "no run id came back"),
                    server: settings.server.uri)
            }
            found = (id, info["artifact_uri"] as? String ?? "")
        }
        guard let (id, artifacts) = found else { throw InternalError("no MLflow run") }
        if known != id, let delivery = try store.delivery(kind: .run, subject: String(run)) {
            // Kept at once: a later try then knows the run even before searching.
            try store.noteRemoteID(delivery.id, remoteID: id)
        }
        try logBatches(id, tracked: tracked, tags: tags)
        try uploadArtifacts(tracked, to: artifacts)
        let seconds = Double(summary.properties["seconds"] ?? "") ?? 0
        var update: [String: Any] = [:]
        update["run_id"] = id
        update["status"] = Self.status(summary.properties["status"])
        update["end_time"] = started + Int64((seconds * 1000).rounded())
        try client.post("runs/update", update)
        return (id, artifacts)
    }

    /// Params, tags and metrics within MLflow's limits per call: 100 params, 100 tags, 1000
    /// metrics (and 1000 entries in all). Values are sent as the same strings and stored
    /// timestamps every time, so sending again is harmless.
    func logBatches(_ id: String, tracked: RunTracking, tags: [String: String]) throws {
        let params = tracked.params.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
        for chunk in params.chunked(100) { try client.post("runs/log-batch", ["run_id": id, "params": Array(chunk)]) }
        let tagList = tags.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
        for chunk in tagList.chunked(100) { try client.post("runs/log-batch", ["run_id": id, "tags": Array(chunk)]) }
        let metrics = tracked.metrics.map { metric -> [String: Any] in
            var entry: [String: Any] = [:]
            entry["key"] = metric.key
            entry["step"] = metric.step
            entry["timestamp"] = Int64((metric.timestamp * 1000).rounded())
            // MLflow's client sends NaN and the infinities as these strings; bare tokens would
            // be stored as 0.
            if metric.value.isFinite {
                entry["value"] = metric.value
            } else {
                entry["value"] = TrackedMetric.text(metric.value)
            }
            return entry
        }
        for chunk in metrics.chunked(1000) {
            try renewHold()
            try client.post("runs/log-batch", ["run_id": id, "metrics": Array(chunk)])
        }
    }

    /// The run's reports, and the model, evaluation and infra validation its executions made
    /// (reused ones included), through the artifact proxy. A server that stores artifacts
    /// elsewhere (no proxy) gets none: the run says so in a tag.
    func uploadArtifacts(_ tracked: RunTracking, to artifactURI: String) throws {
        guard artifactURI.hasPrefix("mlflow-artifacts:") else { return }
        var location = String(artifactURI.dropFirst("mlflow-artifacts:".count))
        if location.hasPrefix("//") {
            // mlflow-artifacts://HOST/path: the path on this server's proxy.
            location = String(location.dropFirst(2).drop { $0 != "/" })
        }
        var files: [(path: String, url: URL)] = tracked.files.map {
            ($0.path, root.appendingPathComponent($0.location))
        }
        let folders: [(Component, String, String)] = [
            (.trainer, "model", "model"), (.evaluator, "evaluation", "evaluation"),
            (.infraValidator, "blessing", "infra"),
        ]
        for (component, output, prefix) in folders {
            guard let execution = tracked.executions.last(where: { $0.component == component.rawValue }),
                let artifact = try store.artifacts(of: execution.id, "OUTPUT")[output]
            else { continue }
            let folder = root.appendingPathComponent(".mlops").appendingPathComponent(artifact.uri)
            for file in try PipelineRunner.fileDigests(folder: folder) {
                files.append(("\(prefix)/\(file.path)", folder.appendingPathComponent(file.path)))
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file.url.path) else { continue }
            try renewHold()
            try client.upload(data, to: location, path: file.path)
        }
    }

    /// The run's tags, with MLflow's own names for what it shows (`mlflow.user`, the git
    /// commit and branch, the source) beside mlops'.
    static func mlflowTags(_ tracked: RunTracking, key: String) -> [String: String] {
        var tags = tracked.tags
        tags["mlops.run_key"] = key
        tags["mlops.run_id"] = String(tracked.run.id)
        tags["mlflow.source.name"] = "mlops \(tracked.run.properties["command"] ?? "")"
        tags["mlflow.source.type"] = "JOB"
        if let user = tracked.tags["user"] { tags["mlflow.user"] = user }
        if let commit = tracked.tags["git.commit"] { tags["mlflow.source.git.commit"] = commit }
        if let branch = tracked.tags["git.branch"] { tags["mlflow.source.git.branch"] = branch }
        if let dirty = tracked.tags["git.dirty"] { tags["mlflow.source.git.dirty"] = dirty }
        if let url = tracked.tags["ci.url"] {
            tags["mlflow.note.content"] =
                "Made by `mlops \(tracked.run.properties["command"] ?? "")` in [\(url)](\(url))."
        }
        return tags.mapValues { TrackingKey.clip($0, TrackingKey.tagValueLimit) }
    }

    static func runName(_ tracked: RunTracking) -> String {
        "\(tracked.run.properties["command"] ?? "run")-\(tracked.run.id)"
    }

    /// The run's end as MLflow's status: a verdict that failed still finished the run.
    static func status(_ status: String?) -> String {
        switch status {
        case "failed": "FAILED"
        case "interrupted": "KILLED"
        default: "FINISHED"
        }
    }

    // MARK: - Model registry

    /// The registered model a release named `name` goes to.
    func registeredModel(_ name: String) -> String { settings.registeredModel ?? name }

    /// The model version of a release: found by its identity tag, else made from the MLflow run
    /// of the gate that released it (delivered first when it waits too).
    func register(_ change: RegistryChange) throws -> String {
        let model = registeredModel(change.name)
        do {
            let tags: [[String: String]] = [["key": "mlops.release_name", "value": change.name]]
            try client.post("registered-models/create", ["name": model, "tags": tags])
        } catch let error as MLflowError where error.code == "RESOURCE_ALREADY_EXISTS" {}
        if let version = try version(model, identity: change.identity) { return version }
        guard let run = change.run else {
            throw MLflowError(
                .rejected("model-versions/create", status: 0, code: "", message: "the release names no run"),
                server: settings.server.uri)
        }
        let (mlflowRun, artifacts) = try gateRun(run)
        var body: [String: Any] = [:]
        body["name"] = model
        body["source"] = artifacts + "/model"
        body["run_id"] = mlflowRun
        body["description"] = "\(change.name)@\(change.version), released by mlops"
        let tags: [[String: String]] = [
            ["key": "mlops.identity", "value": change.identity], ["key": "mlops.version", "value": change.version],
        ]
        body["tags"] = tags
        let created = try client.post("model-versions/create", body)
        guard let version = (created["model_version"] as? [String: Any])?["version"] as? String else {
            throw MLflowError(
                .rejected("model-versions/create", status: 200, code: "", message: "no version came back"),
                server: settings.server.uri)
        }
        try waitUntilReady(model, version)
        return version
    }

    /// The MLflow run (id and artifact location) of the run that gated a release: asked of the
    /// server when it was sent, else sent now (waiting for a process already sending it).
    func gateRun(_ run: Int64) throws -> (id: String, artifacts: String) {
        var delivery = try store.delivery(kind: .run, subject: String(run))
        if delivery == nil { delivery = try store.enqueueDelivery(kind: .run, subject: String(run), payload: "{}") }
        guard let delivery else { throw InternalError("the outbox lost run \(run)") }
        // The registry change being sent is held again once the run is done.
        let outer = held
        defer { held = outer }
        let (claimed, _) = try claim(delivery, othersSending: .wait) { _ in }
        guard let claimed else {
            let sent = try store.delivery(kind: .run, subject: String(run))
            guard let id = sent?.remoteID else { throw InternalError("run \(run) was sent without an MLflow run id") }
            let answer = try client.get("runs/get", [("run_id", id)])
            let info = (answer["run"] as? [String: Any])?["info"] as? [String: Any]
            return (id, info?["artifact_uri"] as? String ?? "")
        }
        do {
            let (id, artifacts) = try deliverRun(run, known: claimed.remoteID)
            try store.noteDelivery(claimed.id, sent: true, remoteID: id, error: nil, holder: Self.holder)
            return (id, artifacts)
        } catch {
            try? store.noteDelivery(claimed.id, sent: false, remoteID: nil, error: "\(error)", holder: Self.holder)
            throw error
        }
    }

    /// A registry other than MLflow's SQL one may take a while: its status is polled (30 s).
    func waitUntilReady(_ model: String, _ version: String) throws {
        for _ in 0..<60 {
            let answer = try client.get("model-versions/get", [("name", model), ("version", version)])
            let status = (answer["model_version"] as? [String: Any])?["status"] as? String ?? "READY"
            if status != "PENDING_REGISTRATION" { return }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    /// The model version tagged with a release's identity, if there is one.
    func version(_ model: String, identity: String) throws -> String? {
        let filter =
            "name='\(model.replacingOccurrences(of: "'", with: "\\'"))' and tags.`mlops.identity`='\(identity)'"
        let answer = try client.get("model-versions/search", [("filter", filter), ("max_results", "10")])
        return (answer["model_versions"] as? [[String: Any]])?.first?["version"] as? String
    }

    /// A channel is an alias on the model version of the release it now holds. A channel MLflow
    /// cannot hold as an alias (with a dot, `latest`, `v1`) is noted and left out.
    func moveAlias(_ change: RegistryChange) throws -> (String, String?) {
        let model = registeredModel(change.name)
        let alias = (change.channel ?? "").lowercased()
        if let problem = Self.aliasProblem(alias) {
            return ("", "channel '\(alias)' is not an MLflow alias: \(problem)")
        }
        guard let version = try version(model, identity: change.identity) else {
            throw MLflowError(
                .rejected(
                    "registered-models/alias", status: 0, code: "",
                    message:
                        "\(change.name)@\(change.version) is not registered in MLflow (it was released while tracking was off)"
                ), server: settings.server.uri)
        }
        try client.post("registered-models/alias", ["name": model, "alias": alias, "version": version])
        return (version, nil)
    }

    /// Why MLflow would refuse `alias`; nil when it takes it.
    public static func aliasProblem(_ alias: String) -> String? {
        if alias.isEmpty || alias.count > 255 { return "it must have 1 to 255 characters" }
        if !alias.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
            return "MLflow takes letters, digits, '_' and '-' only"
        }
        if alias == "latest" { return "'latest' is reserved by MLflow" }
        if alias.hasPrefix("v"), alias.count > 1, alias.dropFirst().allSatisfy(\.isNumber) {
            return "MLflow reserves v<number> for versions"
        }
        return nil
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
