import Foundation
import MLOpsCore
import Pipeline

/// The pipeline an orchestrator runs, derived once from `mlops.yaml` and the one DAG
/// declaration (``Component/inputs``): a task per component, `mlops component run NAME` in a
/// fresh clone, with its dependencies, the artifacts it hands on and its resources; the
/// Tuner's trials fanned out; and the release, run only when both gates bless the model.
/// ``KFPExport``, ``ArgoExport`` and ``AirflowExport`` each write it in their format.
public struct PipelinePlan: Sendable {
    public struct Task: Sendable {
        public let component: Component
        /// The task's name in every format: the component in kebab case (`example-gen`).
        public let name: String
        /// The tasks it waits for (the components it depends on, and the trials for the Tuner).
        public let dependencies: [String]
        /// Input name → the producing task, its output and that output's artifact type, as the
        /// DAG binds them.
        public let inputs: [(name: String, task: String, output: String, type: String)]
        /// Output name → artifact type, in name order.
        public let outputs: [(name: String, type: String)]
        public let resources: ResourceRequest
    }

    public let name: String
    public let description: String
    public let settings: OrchestrationSection
    public let tasks: [Task]
    /// The Tuner's trials (1…N) as parallel tasks before the Tuner gathers them; nil without a tuner.
    public let trials: Int?
    /// The release: after these tasks, only when each blessed; nil without an Evaluator.
    public let releaseAfter: [String]?
    /// The image, `--image` over `orchestration.image`.
    public let image: String

    public static let trialTask = "tuner-trial"
    public static let releaseTask = "release"

    public init(config: MLOpsConfig, image: String? = nil) {
        let present = config.components.compactMap(Component.init(rawValue:))
        let schema: Component = present.contains(.importSchemaGen) ? .importSchemaGen : .schemaGen
        // The trials the search plan holds (a grid smaller than the budget has fewer).
        let trials =
            present.contains(.tuner)
            ? config.tuner.map {
                SearchPlan(space: $0.searchSpace, strategy: $0.strategy, budget: $0.trials, seed: $0.seed).trials.count
            } : nil
        var tasks: [Task] = []
        for component in present {
            var dependencies = component.upstream.filter(present.contains).map(Self.taskName)
            if component == .tuner, trials != nil { dependencies.append(Self.trialTask) }
            let bindings = component.bindings(schema: schema).filter { present.contains($0.value.component) }
            tasks.append(
                Task(
                    component: component, name: Self.taskName(component), dependencies: dependencies,
                    inputs: bindings.sorted { $0.key < $1.key }.map {
                        (
                            $0.key, Self.taskName($0.value.component), $0.value.output,
                            $0.value.component.outputs[$0.value.output] ?? "Artifact"
                        )
                    },
                    outputs: component.outputs.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                    resources: config.orchestration.resources(for: component.rawValue)))
        }
        self.tasks = tasks
        self.trials = trials
        name = config.pipeline.name
        description = config.pipeline.description ?? ""
        settings = config.orchestration
        self.image = image ?? config.orchestration.image
        releaseAfter =
            present.contains(.evaluator)
            ? tasks.filter { $0.component == .evaluator || $0.component == .infraValidator }.map(\.name) : nil
    }

    /// `ExampleGen` → `example-gen`.
    public static func taskName(_ component: Component) -> String {
        var name = ""
        for character in component.rawValue {
            if character.isUppercase, !name.isEmpty { name += "-" }
            name += character.lowercased()
        }
        return name
    }

    /// The resources of the trial tasks and the release: the Tuner's and the default.
    /// One container an export runs: a component's task, the trial task (run once per trial
    /// number), or the release.
    public struct Step: Sendable {
        public enum Kind: Sendable { case component(Component), trial, release }
        public let kind: Kind
        public let name: String
        public let resources: ResourceRequest
        /// Whether it gives the `blessed` output parameter (Evaluator, InfraValidator).
        public var blesses: Bool {
            if case .component(let component) = kind {
                component == .evaluator || component == .infraValidator
            } else {
                false
            }
        }
    }

    /// Every container of the export, in order: the components' tasks, the trial task (the
    /// Tuner's resources), the release (the default resources).
    public var steps: [Step] {
        tasks.map { Step(kind: .component($0.component), name: $0.name, resources: $0.resources) }
            + (trials == nil
                ? []
                : [
                    Step(
                        kind: .trial, name: Self.trialTask, resources: settings.resources(for: Component.tuner.rawValue)
                    )
                ])
            + (releaseAfter == nil
                ? [] : [Step(kind: .release, name: Self.releaseTask, resources: settings.resources(for: "default"))])
    }

    /// The arguments of `mlops` for a step: the component (with `--trial TRIAL` for the trial
    /// step) or the release, in a fresh clone of `repository` at `revision`, then the
    /// contract's own arguments (the release, `mlops release`, takes none).
    func arguments(_ step: Step, trial: String, repository: String, revision: String, contract: [String]) -> [String] {
        let checkout = ["--repository", repository, "--revision", revision]
        return switch step.kind {
        case .component(let component): ["component", "run", component.rawValue] + checkout + contract
        case .trial: ["component", "run", Component.tuner.rawValue, "--trial", trial] + checkout + contract
        case .release: ["release"] + checkout
        }
    }

    /// The header every export starts with: where it came from and how to make it again.
    func header(format: String) -> [String] {
        let comment = "#"
        return [
            "\(comment) \(format) of the mlops pipeline '\(name)', written by `mlops pipeline export` "
                + "(mlops \(MLOpsVersion.current)) from mlops.yaml.",
            "\(comment) Do not edit: change mlops.yaml (its orchestration section) and export again. Each task runs",
            "\(comment) `mlops component run NAME` in a fresh clone; state is shared through cache.remote, the store",
            "\(comment) and release.registry, set in the tasks' environment from the Kubernetes secret "
                + "'\(settings.secret)'.",
        ]
    }
}

/// A pipeline export's target format.
public enum ExportFormat: String, Sendable, CaseIterable {
    case kfp, argo, airflow
}

extension PipelinePlan {
    /// The export of this plan in `format`, as text.
    public func render(_ format: ExportFormat) throws -> String {
        switch format {
        case .kfp: try KFPExport(plan: self).render()
        case .argo: try ArgoExport(plan: self).render()
        case .airflow: AirflowExport(plan: self).render()
        }
    }
}
