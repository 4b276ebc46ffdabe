import Foundation
import MLOpsCore
import Yams

// The `orchestration` section of mlops.yaml (docs/orchestration.md): what `mlops pipeline
// export` writes into a Kubeflow Pipelines, Argo Workflows or Airflow pipeline. Nothing here
// changes a local run, so no component's cache key reads it.

/// How Airflow runs each task: in a pod of the image, or the binary on the worker.
public enum AirflowOperator: String, Sendable, Codable, CaseIterable {
    case kubernetes, bash
}

public struct OrchestrationSection: ConfigSection {
    /// The container image every task runs (docs/orchestration.md builds it from Containerfile).
    public var image: String
    /// The git repository each task clones (a URL its pod can reach); a run parameter
    /// (`repository`) overrides it.
    public var repository: String?
    /// What each task checks out: a commit (what a CI trigger passes) or a branch.
    public var revision: String
    /// The Kubernetes namespace of the workflow (Argo) and of the pods (Airflow).
    public var namespace: String
    /// The Kubernetes secret whose keys become each task's environment.
    public var secret: String
    /// The keys of `secret` handed to the tasks, each as the variable of the same name
    /// (missing keys are left unset).
    public var secretKeys: [String]
    public var serviceAccount: String?
    /// Retries of a failed task (a task killed halfway is retried and finds its outputs or
    /// runs again: nothing is duplicated).
    public var retries: Int
    /// A cron schedule (Airflow's `schedule`, Argo's CronWorkflow); nil runs on demand.
    public var schedule: String?
    /// CPU and memory per component; `default` for the others.
    public var resources: [String: ResourceRequest]
    public var airflowOperator: AirflowOperator

    public static let defaultSecretKeys = [
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL",
        "MLOPS_CACHE", "MLOPS_REGISTRY", "MLOPS_STORE", "PGPASSWORD",
    ]

    public enum Key: String, ConfigKey {
        case image, repository, revision, namespace, secret, secretKeys = "secret_keys"
        case serviceAccount = "service_account", retries, schedule, resources, airflowOperator = "airflow_operator"
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        image = f.string(.image, default: "mlops:\(MLOpsVersion.current)")
        repository = f.string(.repository)
        revision = f.string(.revision, default: "main")
        namespace = f.string(.namespace, default: "default")
        secret = f.string(.secret, default: "mlops-storage")
        secretKeys = f.strings(.secretKeys, default: Self.defaultSecretKeys)
        serviceAccount = f.string(.serviceAccount)
        retries = f.int(.retries, default: 2, in: 0...20)
        schedule = f.string(.schedule)
        airflowOperator = f.choice(.airflowOperator, default: .kubernetes)
        for (key, name) in [(Key.namespace, namespace), (.secret, secret)]
            + (serviceAccount.map { [(.serviceAccount, $0)] } ?? [])
        where !Self.isKubernetesName(name) {
            f.reader.report(
                f.value(key), f.keyPath(key),
                "'\(f.keyPath(key))' must be a Kubernetes name (lower-case letters, digits and '-', at most 63), found '\(name)'"
            )
        }
        for key in secretKeys where !Self.isVariableName(key) {
            f.reader.report(
                f.value(.secretKeys), f.keyPath(.secretKeys),
                "'\(f.keyPath(.secretKeys))' lists '\(key)', which is not an environment variable name")
        }
        if let schedule, schedule.split(separator: " ").count != 5, !schedule.hasPrefix("@") {
            f.reader.report(
                f.value(.schedule), f.keyPath(.schedule),
                "'\(f.keyPath(.schedule))' must be a cron expression of five fields or @daily/@hourly…, found '\(schedule)'"
            )
        }
        if image.isEmpty || image.contains(where: \.isWhitespace) {
            f.reader.report(f.value(.image), f.keyPath(.image), "'\(f.keyPath(.image))' must be an image reference")
        }
        var resources = ["default": ResourceRequest(cpu: "1", memory: "2Gi")]
        let names = ["default"] + Component.allCases.map(\.rawValue)
        for (name, keyNode, value) in f.pairs(.resources) ?? [] {
            let path = ConfigReader.join(f.keyPath(.resources), name)
            guard names.contains(name) else {
                f.reader.report(
                    keyNode, path, "'\(f.keyPath(.resources))' has no component '\(name)'",
                    hint: Suggestions.nearest(to: name, in: names).map { "did you mean '\($0)'?" }
                        ?? "use default or a component name")
                continue
            }
            resources[name] = ResourceRequest(Fields(f.reader, path: path, node: value))
        }
        self.resources = resources
    }

    /// The resources of `component`: its own, else `default`.
    public func resources(for component: String) -> ResourceRequest {
        resources[component] ?? resources["default"] ?? ResourceRequest(cpu: "1", memory: "2Gi")
    }

    static func isKubernetesName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63 && name.first != "-" && name.last != "-"
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

/// A task's CPU and memory, as Kubernetes quantities: requested, and memory also its limit.
public struct ResourceRequest: ConfigSection, Equatable {
    public var cpu: String
    public var memory: String

    public enum Key: String, ConfigKey { case cpu, memory }
    typealias CodingKeys = Key

    public init(cpu: String, memory: String) {
        self.cpu = cpu
        self.memory = memory
    }

    init(_ f: Fields<Key>) {
        cpu = f.string(.cpu, default: "1")
        memory = f.string(.memory, default: "2Gi")
        if cpu.range(of: #"^([0-9]+m|[0-9]+(\.[0-9]+)?)$"#, options: .regularExpression) == nil {
            f.reader.report(
                f.value(.cpu), f.keyPath(.cpu),
                "'\(f.keyPath(.cpu))' must be a CPU quantity (2, 0.5 or 500m), found '\(cpu)'")
        }
        if memory.range(of: #"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"#, options: .regularExpression) == nil {
            f.reader.report(
                f.value(.memory), f.keyPath(.memory),
                "'\(f.keyPath(.memory))' must be a memory quantity (512Mi, 4Gi), found '\(memory)'")
        }
    }

}
