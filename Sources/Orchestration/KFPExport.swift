import Foundation
import MLOpsCore
import Pipeline

/// The plan as Kubeflow Pipelines v2's intermediate representation: a `PipelineSpec` YAML
/// document (what the `kfp` compiler writes) and the Kubernetes platform document after it
/// (kfp-kubernetes' `secretAsEnv`, the storage settings from the secret).
///
/// The shape is the compiler's own: one component and one container executor per task, the
/// artifacts wired from producer to consumer, the blessings as BOOLEAN output parameters, the
/// release inside a condition DAG (`condition-1`) whose trigger reads both blessings, and the
/// Tuner's trials in a `for-loop-2` DAG iterating over the trial numbers.
struct KFPExport {
    let plan: PipelinePlan

    static let schemaVersion = "2.1.0"
    static let loopItem = "pipelinechannel--loop-item-param-1"
    static let conditionTask = "condition-1"
    static let loopTask = "for-loop-2"

    func render() throws -> String {
        try YAMLValue.render(
            [pipelineSpec, platformSpec],
            header: plan.header(format: "Kubeflow Pipelines v2 PipelineSpec"))
    }

    static func component(_ task: String) -> String { "comp-" + task }
    static func executor(_ task: String) -> String { "exec-" + task }
    static func channel(_ name: String) -> String { "pipelinechannel--" + name }
    static func blessing(_ task: String) -> String { channel("\(task)-blessed") }

    /// KFP's artifact types for mlops' outputs: examples are datasets, the model a model.
    static func artifactType(_ type: String) -> YAMLValue {
        let title =
            switch type {
            case "Examples", "TransformedExamples": "system.Dataset"
            case "Model": "system.Model"
            default: "system.Artifact"
            }
        return .map([("schemaTitle", .string(title)), ("schemaVersion", "0.0.1")])
    }

    static var checkoutParameters: [(String, YAMLValue)] {
        [("repository", .map([("parameterType", "STRING")])), ("revision", .map([("parameterType", "STRING")]))]
    }

    // MARK: - The PipelineSpec

    var pipelineSpec: YAMLValue {
        .map([
            ("components", .map(components)),
            ("deploymentSpec", .map([("executors", .map(executors))])),
            ("pipelineInfo", .map([("description", .string(plan.description)), ("name", .string(plan.name))])),
            ("root", root),
            ("schemaVersion", .string(Self.schemaVersion)),
            ("sdkVersion", .string("mlops-\(MLOpsVersion.current)")),
        ])
    }

    var components: [(String, YAMLValue)] {
        var components: [(String, YAMLValue)] = []
        for task in plan.tasks {
            var inputs: [(String, YAMLValue)] = []
            if !task.inputs.isEmpty {
                let artifacts: [(String, YAMLValue)] = task.inputs.map {
                    ($0.name, .map([("artifactType", Self.artifactType($0.type))]))
                }
                inputs.append(("artifacts", .map(artifacts)))
            }
            inputs.append(("parameters", .map(Self.checkoutParameters)))
            var outputs: [(String, YAMLValue)] = [
                (
                    "artifacts",
                    .map(task.outputs.map { ($0.name, .map([("artifactType", Self.artifactType($0.type))])) })
                )
            ]
            if task.component == .evaluator || task.component == .infraValidator {
                outputs.append(("parameters", .map([("blessed", .map([("parameterType", "BOOLEAN")]))])))
            }
            components.append(
                (
                    Self.component(task.name),
                    .map([
                        ("executorLabel", .string(Self.executor(task.name))), ("inputDefinitions", .map(inputs)),
                        ("outputDefinitions", .map(outputs)),
                    ])
                ))
        }
        if plan.trials != nil {
            components.append(
                (
                    Self.component(PipelinePlan.trialTask),
                    .map([
                        ("executorLabel", .string(Self.executor(PipelinePlan.trialTask))),
                        (
                            "inputDefinitions",
                            .map([
                                (
                                    "parameters",
                                    .map(
                                        Self.checkoutParameters + [
                                            ("trial", .map([("parameterType", "NUMBER_INTEGER")]))
                                        ])
                                )
                            ])
                        ),
                    ])
                ))
            components.append((Self.component(Self.loopTask), loopComponent))
        }
        if let after = plan.releaseAfter {
            components.append(
                (
                    Self.component(PipelinePlan.releaseTask),
                    .map([
                        ("executorLabel", .string(Self.executor(PipelinePlan.releaseTask))),
                        ("inputDefinitions", .map([("parameters", .map(Self.checkoutParameters))])),
                    ])
                ))
            components.append((Self.component(Self.conditionTask), conditionComponent(after)))
        }
        return components.sorted { $0.0 < $1.0 }
    }

    /// The DAG of the trials: one task per loop item, which is the trial number.
    var loopComponent: YAMLValue {
        innerDAG(
            PipelinePlan.trialTask, parameters: [("trial", Self.fromInput(Self.loopItem))],
            definitions: [(Self.loopItem, .map([("parameterType", "NUMBER_INTEGER")]))])
    }

    /// The DAG holding the release, entered only when every blessing is true.
    func conditionComponent(_ after: [String]) -> YAMLValue {
        innerDAG(
            PipelinePlan.releaseTask, parameters: [],
            definitions: after.map { (Self.blessing($0), .map([("parameterType", "BOOLEAN")])) })
    }

    /// A DAG component (the compiler's shape for a loop or a condition) holding the one task
    /// `task`, fed the run's repository and revision from the enclosing DAG (its
    /// `pipelinechannel--` inputs) and `parameters`; `definitions` are its other inputs.
    func innerDAG(_ task: String, parameters: [(String, YAMLValue)], definitions: [(String, YAMLValue)]) -> YAMLValue {
        let checkout: [(String, YAMLValue)] = [
            ("repository", Self.fromInput(Self.channel("repository"))),
            ("revision", Self.fromInput(Self.channel("revision"))),
        ]
        let entry: YAMLValue = .map([
            ("cachingOptions", .map([])), ("componentRef", .map([("name", .string(Self.component(task)))])),
            ("inputs", .map([("parameters", .map(checkout + parameters))])), ("retryPolicy", retryPolicy),
            ("taskInfo", .map([("name", .string(task))])),
        ])
        let channels: [(String, YAMLValue)] = [
            (Self.channel("repository"), .map([("parameterType", "STRING")])),
            (Self.channel("revision"), .map([("parameterType", "STRING")])),
        ]
        return .map([
            ("dag", .map([("tasks", .map([(task, entry)]))])),
            ("inputDefinitions", .map([("parameters", .map(definitions + channels))])),
        ])
    }

    static func fromInput(_ name: String) -> YAMLValue { .map([("componentInputParameter", .string(name))]) }

    var retryPolicy: YAMLValue {
        .map([("backoffDuration", "30s"), ("backoffFactor", 2), ("maxRetryCount", .int(plan.settings.retries))])
    }

    // MARK: - Executors

    var executors: [(String, YAMLValue)] {
        plan.steps.map { step in
            let arguments = plan.arguments(
                step, trial: "{{$.inputs.parameters['trial']}}", repository: "{{$.inputs.parameters['repository']}}",
                revision: "{{$.inputs.parameters['revision']}}", contract: ["--executor-input", "{{$}}"])
            return (Self.executor(step.name), container(arguments, resources: step.resources))
        }.sorted { $0.0 < $1.0 }
    }

    func container(_ arguments: [String], resources: ResourceRequest) -> YAMLValue {
        .map([
            (
                "container",
                .map([
                    ("args", .strings(arguments)), ("command", ["mlops"]), ("image", .string(plan.image)),
                    (
                        "resources",
                        .map([
                            ("resourceCpuRequest", .string(resources.cpu)),
                            ("resourceMemoryLimit", .string(resources.memory)),
                            ("resourceMemoryRequest", .string(resources.memory)),
                        ])
                    ),
                ])
            )
        ])
    }

    // MARK: - The root DAG

    var root: YAMLValue {
        var tasks: [(String, YAMLValue)] = plan.tasks.map { task in
            var inputs: [(String, YAMLValue)] = []
            if !task.inputs.isEmpty {
                inputs.append(
                    (
                        "artifacts",
                        .map(
                            task.inputs.map {
                                (
                                    $0.name,
                                    .map([
                                        (
                                            "taskOutputArtifact",
                                            .map([
                                                ("outputArtifactKey", .string($0.output)),
                                                ("producerTask", .string($0.task)),
                                            ])
                                        )
                                    ])
                                )
                            })
                    ))
            }
            inputs.append(
                (
                    "parameters",
                    .map([("repository", Self.fromInput("repository")), ("revision", Self.fromInput("revision"))])
                ))
            var entry: [(String, YAMLValue)] = [
                ("cachingOptions", .map([])),
                ("componentRef", .map([("name", .string(Self.component(task.name)))])),
            ]
            let dependencies = task.dependencies.map { $0 == PipelinePlan.trialTask ? Self.loopTask : $0 }.sorted()
            if !dependencies.isEmpty { entry.append(("dependentTasks", .strings(dependencies))) }
            entry += [
                ("inputs", .map(inputs)), ("retryPolicy", retryPolicy),
                ("taskInfo", .map([("name", .string(task.name))])),
            ]
            return (task.name, .map(entry))
        }
        if let trials = plan.trials {
            let tuner = plan.tasks.first { $0.component == .tuner }
            let items = "[" + (1...max(trials, 1)).map(String.init).joined(separator: ", ") + "]"
            tasks.append(
                (
                    Self.loopTask,
                    .map([
                        ("componentRef", .map([("name", .string(Self.component(Self.loopTask)))])),
                        (
                            "dependentTasks",
                            .strings((tuner?.dependencies ?? []).filter { $0 != PipelinePlan.trialTask }.sorted())
                        ),
                        (
                            "inputs",
                            .map([
                                (
                                    "parameters",
                                    .map([
                                        (Self.channel("repository"), Self.fromInput("repository")),
                                        (Self.channel("revision"), Self.fromInput("revision")),
                                    ])
                                )
                            ])
                        ),
                        (
                            "parameterIterator",
                            .map([("itemInput", .string(Self.loopItem)), ("items", .map([("raw", .string(items))]))])
                        ),
                        ("taskInfo", .map([("name", .string(Self.loopTask))])),
                    ])
                ))
        }
        if let after = plan.releaseAfter {
            let condition = after.map { "inputs.parameter_values['\(Self.blessing($0))'] == true" }
                .joined(separator: " && ")
            tasks.append(
                (
                    Self.conditionTask,
                    .map([
                        ("componentRef", .map([("name", .string(Self.component(Self.conditionTask)))])),
                        ("dependentTasks", .strings(after.sorted())),
                        (
                            "inputs",
                            .map([
                                (
                                    "parameters",
                                    .map(
                                        after.map {
                                            (
                                                Self.blessing($0),
                                                .map([
                                                    (
                                                        "taskOutputParameter",
                                                        .map([
                                                            ("outputParameterKey", "blessed"),
                                                            ("producerTask", .string($0)),
                                                        ])
                                                    )
                                                ])
                                            )
                                        } + [
                                            (Self.channel("repository"), Self.fromInput("repository")),
                                            (Self.channel("revision"), Self.fromInput("revision")),
                                        ])
                                )
                            ])
                        ),
                        ("taskInfo", .map([("name", .string(Self.conditionTask))])),
                        ("triggerPolicy", .map([("condition", .string(condition))])),
                    ])
                ))
        }
        var parameters: [(String, YAMLValue)] = []
        var repository: [(String, YAMLValue)] = []
        if let url = plan.settings.repository { repository.append(("defaultValue", .string(url))) }
        // Without a default the run must give it (proto3 leaves isOptional's false out, as kfp does).
        if plan.settings.repository != nil { repository.append(("isOptional", true)) }
        repository.append(("parameterType", "STRING"))
        parameters.append(("repository", .map(repository)))
        parameters.append(
            (
                "revision",
                .map([
                    ("defaultValue", .string(plan.settings.revision)), ("isOptional", true),
                    ("parameterType", "STRING"),
                ])
            ))
        return .map([
            ("dag", .map([("tasks", .map(tasks.sorted { $0.0 < $1.0 }))])),
            ("inputDefinitions", .map([("parameters", .map(parameters))])),
        ])
    }

    // MARK: - The Kubernetes platform document

    /// kfp-kubernetes' executor configuration: the secret's keys as environment variables.
    var platformSpec: YAMLValue {
        let names = plan.steps.map(\.name)
        let secret: YAMLValue = .map([
            (
                "secretAsEnv",
                .list([
                    .map([
                        (
                            "keyToEnv",
                            .list(
                                plan.settings.secretKeys.map {
                                    .map([("envVar", .string($0)), ("secretKey", .string($0))])
                                })
                        ),
                        ("optional", true),
                        ("secretName", .string(plan.settings.secret)),
                    ])
                ])
            )
        ])
        return .map([
            (
                "platforms",
                .map([
                    (
                        "kubernetes",
                        .map([
                            (
                                "deploymentSpec",
                                .map([("executors", .map(names.sorted().map { (Self.executor($0), secret) }))])
                            )
                        ])
                    )
                ])
            )
        ])
    }
}
