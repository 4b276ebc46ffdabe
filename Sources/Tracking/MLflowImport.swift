import Foundation
import MLOpsCore
import Metadata

/// `mlops runs import --from-mlflow EXPERIMENT`: an MLflow experiment's runs (params, every
/// metric value by step, tags, status and times) read into the store as runs of their own, so
/// `mlops runs`, `diff` and `plot` compare old runs with new. Each MLflow run is imported once
/// (tagged `mlflow.run_id`); runs this store sent to MLflow are not brought back.
public enum MLflowImport {
    public struct Report: Sendable, Encodable {
        public let experiment: String
        public var imported: [Imported] = []
        /// MLflow runs already in the store (imported before, or sent from it).
        public var skipped = 0
    }

    public struct Imported: Sendable, Encodable {
        public let mlflowRun: String
        public let run: Int64
        public let params: Int
        public let metrics: Int
    }

    public static func run(
        experiment name: String, client: MLflowClient, store: any MetadataStore, limit: Int = 1000
    ) throws -> Report {
        let experiment: [String: Any]
        do {
            experiment =
                try client.get("experiments/get-by-name", [("experiment_name", name)])["experiment"]
                as? [String: Any] ?? [:]
        } catch let error as MLflowError where error.code == "RESOURCE_DOES_NOT_EXIST" {
            throw FileError(
                .missing, path: "MLflow experiment '\(name)'", detail: "is not on \(client.server.uri)",
                hint: "check the name in the MLflow UI; names are case-sensitive")
        }
        guard let id = experiment["experiment_id"] as? String else {
            throw MLflowError(
                .rejected("experiments/get-by-name", status: 200, code: "", message: "no experiment id came back"),
                server: client.server.uri)
        }
        let identity = try store.identity()
        var report = Report(experiment: name)
        var token: String?
        var seen = 0
        repeat {
            var query: [String: Any] = [:]
            query["experiment_ids"] = [id]
            query["max_results"] = min(500, limit - seen)
            query["order_by"] = ["attributes.start_time ASC"]
            if let token { query["page_token"] = token }
            let page = try client.post("runs/search", query)
            token = page["next_page_token"] as? String
            for run in page["runs"] as? [[String: Any]] ?? [] {
                seen += 1
                if let imported = try importOne(run, experiment: name, client: client, store: store, identity: identity)
                {
                    report.imported.append(imported)
                } else {
                    report.skipped += 1
                }
            }
        } while token != nil && seen < limit
        return report
    }

    static func importOne(
        _ run: [String: Any], experiment: String, client: MLflowClient, store: any MetadataStore, identity: String
    ) throws -> Imported? {
        let info = run["info"] as? [String: Any] ?? [:]
        let data = run["data"] as? [String: Any] ?? [:]
        guard let id = info["run_id"] as? String else { return nil }
        func pairs(_ key: String) -> [String: String] {
            var result: [String: String] = [:]
            for entry in data[key] as? [[String: Any]] ?? [] {
                if let name = entry["key"] as? String { result[name] = entry["value"] as? String ?? "" }
            }
            return result
        }
        var tags = pairs("tags")
        if try store.run(taggedWith: "mlflow.run_id", value: id) != nil { return nil }
        // A run this store sent: it is here already.
        if let key = tags["mlops.run_key"], key.hasPrefix(identity + ":") { return nil }
        let params = pairs("params")
        var metrics: [TrackedMetric] = []
        let keys = Set((data["metrics"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String })
        for key in keys.sorted() {
            var token: String?
            repeat {
                var query = [("run_id", id), ("metric_key", key), ("max_results", "25000")]
                if let token { query.append(("page_token", token)) }
                let history = try client.get("metrics/get-history", query)
                token = history["next_page_token"] as? String
                for point in history["metrics"] as? [[String: Any]] ?? [] {
                    metrics.append(
                        TrackedMetric(
                            key: key, step: number(point["step"]).map { Int64($0) } ?? 0,
                            value: number(point["value"]) ?? .nan,
                            timestamp: (number(point["timestamp"]) ?? 0) / 1000))
                }
            } while token != nil
        }
        let started = (number(info["start_time"]) ?? 0) / 1000
        let ended = number(info["end_time"]).map { $0 / 1000 }
        tags["mlflow.run_id"] = id
        tags["mlflow.experiment"] = experiment
        var properties = [
            "command": "import", "status": status(info["status"] as? String),
            "commit": tags["mlflow.source.git.commit"] ?? "", "branch": tags["mlflow.source.git.branch"] ?? "",
        ]
        if let ended, ended >= started { properties["seconds"] = String(format: "%.3f", ended - started) }
        let stored = try store.importRun(
            pipeline: "mlflow:\(experiment)", started: Date(timeIntervalSince1970: started), properties: properties,
            params: params, tags: tags, metrics: metrics)
        return Imported(mlflowRun: id, run: stored, params: params.count, metrics: metrics.count)
    }

    /// A JSON number, or MLflow's "NaN" / "Infinity" strings.
    static func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: number.doubleValue
        case let text as String: TrackedMetric.special(text)
        default: nil
        }
    }

    static func status(_ status: String?) -> String {
        switch status {
        case "FINISHED": "complete"
        case "FAILED": "failed"
        case "KILLED": "interrupted"
        default: (status ?? "unknown").lowercased()
        }
    }
}
