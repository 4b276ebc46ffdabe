import Foundation
import MLOpsCore
import Pipeline

/// The plan as an Argo Workflows `WorkflowTemplate`: a DAG template whose tasks are the
/// components (each a container template with its resources, a retry strategy and the
/// storage settings from the secret by `secretKeyRef`), the blessings as output parameters
/// read from files, the release run `when` both are true, the Tuner's trials a `withItems`
/// task. With `orchestration.schedule`, a `CronWorkflow` that runs the template follows.
struct ArgoExport {
    let plan: PipelinePlan

    static let outputs = "/tmp/outputs"
    /// Exit statuses a retry cannot change (docs/cli.md): 1, 64, 65, 66, 78.
    static let retryable = "!(lastRetry.exitCode in ['1', '64', '65', '66', '78'])"
    static let entrypoint = "pipeline"

    func render() throws -> String {
        var documents = [template]
        if let schedule = plan.settings.schedule { documents.append(cron(schedule)) }
        return try YAMLValue.render(
            documents, header: plan.header(format: "Argo Workflows WorkflowTemplate"))
    }

    var metadata: YAMLValue {
        .map([
            ("name", .string(kubernetesName)), ("namespace", .string(plan.settings.namespace)),
            (
                "labels",
                .map([("app.kubernetes.io/managed-by", "mlops"), ("mlops.dev/pipeline", .string(kubernetesName))])
            ),
        ])
    }

    /// The pipeline's name as a Kubernetes object name.
    var kubernetesName: String {
        let lowered = plan.name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(String(lowered).trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(63))
    }

    var template: YAMLValue {
        var spec: [(String, YAMLValue)] = [
            ("entrypoint", .string(Self.entrypoint)),
            (
                "arguments",
                .map([
                    (
                        "parameters",
                        .list([
                            .map([("name", "repository"), ("value", .string(plan.settings.repository ?? ""))]),
                            .map([("name", "revision"), ("value", .string(plan.settings.revision))]),
                        ])
                    )
                ])
            ),
        ]
        if let account = plan.settings.serviceAccount { spec.append(("serviceAccountName", .string(account))) }
        spec.append(("templates", .list([dag] + containerTemplates)))
        return .map([
            ("apiVersion", "argoproj.io/v1alpha1"), ("kind", "WorkflowTemplate"), ("metadata", metadata),
            ("spec", .map(spec)),
        ])
    }

    func cron(_ schedule: String) -> YAMLValue {
        .map([
            ("apiVersion", "argoproj.io/v1alpha1"), ("kind", "CronWorkflow"), ("metadata", metadata),
            (
                "spec",
                .map([
                    ("schedules", .strings([schedule])), ("concurrencyPolicy", "Forbid"),
                    ("workflowSpec", .map([("workflowTemplateRef", .map([("name", .string(kubernetesName))]))])),
                ])
            ),
        ])
    }

    // MARK: - The DAG

    var dag: YAMLValue {
        var tasks: [YAMLValue] = []
        for task in plan.tasks {
            var entry: [(String, YAMLValue)] = [("name", .string(task.name)), ("template", .string(task.name))]
            if !task.dependencies.isEmpty { entry.append(("dependencies", .strings(task.dependencies.sorted()))) }
            tasks.append(.map(entry))
        }
        if let trials = plan.trials {
            let tuner = plan.tasks.first { $0.component == .tuner }
            tasks.append(
                .map([
                    ("name", .string(PipelinePlan.trialTask)), ("template", .string(PipelinePlan.trialTask)),
                    (
                        "dependencies",
                        .strings((tuner?.dependencies ?? []).filter { $0 != PipelinePlan.trialTask }.sorted())
                    ),
                    ("arguments", .map([("parameters", .list([.map([("name", "trial"), ("value", "{{item}}")])]))])),
                    ("withItems", .list((1...max(trials, 1)).map { .int($0) })),
                ]))
        }
        if let after = plan.releaseAfter {
            tasks.append(
                .map([
                    ("name", .string(PipelinePlan.releaseTask)), ("template", .string(PipelinePlan.releaseTask)),
                    ("dependencies", .strings(after.sorted())),
                    (
                        "when",
                        .string(
                            after.map { "{{tasks.\($0).outputs.parameters.blessed}} == true" }.joined(separator: " && ")
                        )
                    ),
                ]))
        }
        return .map([("name", .string(Self.entrypoint)), ("dag", .map([("tasks", .list(tasks))]))])
    }

    // MARK: - The containers

    var containerTemplates: [YAMLValue] {
        plan.steps.map { step in
            let arguments = plan.arguments(
                step, trial: "{{inputs.parameters.trial}}", repository: "{{workflow.parameters.repository}}",
                revision: "{{workflow.parameters.revision}}", contract: ["--output-dir", Self.outputs])
            var trial = false
            if case .trial = step.kind { trial = true }
            return container(
                step.name, arguments, resources: step.resources, outputs: step.blesses ? ["blessed"] : [],
                inputs: trial ? ["trial"] : [])
        }
    }

    func container(
        _ name: String, _ arguments: [String], resources: ResourceRequest, outputs: [String], inputs: [String] = []
    ) -> YAMLValue {
        var entry: [(String, YAMLValue)] = [("name", .string(name))]
        if !inputs.isEmpty {
            entry.append(("inputs", .map([("parameters", .list(inputs.map { .map([("name", .string($0))]) }))])))
        }
        entry.append(
            (
                "retryStrategy",
                .map([
                    ("limit", .string(String(plan.settings.retries))), ("retryPolicy", "Always"),
                    // A verdict, a usage, data or configuration error, or a missing upstream
                    // output is the same on every try: only other failures are retried.
                    ("expression", .string(Self.retryable)),
                    ("backoff", .map([("duration", "30s"), ("factor", "2")])),
                ])
            ))
        let env: [YAMLValue] = plan.settings.secretKeys.map { key in
            .map([
                ("name", .string(key)),
                (
                    "valueFrom",
                    .map([
                        (
                            "secretKeyRef",
                            .map([("name", .string(plan.settings.secret)), ("key", .string(key)), ("optional", true)])
                        )
                    ])
                ),
            ])
        }
        entry.append(
            (
                "container",
                .map([
                    ("image", .string(plan.image)), ("command", ["mlops"]), ("args", .strings(arguments)),
                    ("env", .list(env)),
                    (
                        "resources",
                        .map([
                            (
                                "requests",
                                .map([("cpu", .string(resources.cpu)), ("memory", .string(resources.memory))])
                            ),
                            ("limits", .map([("memory", .string(resources.memory))])),
                        ])
                    ),
                ])
            ))
        if !outputs.isEmpty {
            entry.append(
                (
                    "outputs",
                    .map([
                        (
                            "parameters",
                            .list(
                                outputs.map {
                                    .map([
                                        ("name", .string($0)),
                                        ("valueFrom", .map([("path", .string("\(Self.outputs)/\($0)"))])),
                                    ])
                                })
                        )
                    ])
                ))
        }
        return .map(entry)
    }
}
