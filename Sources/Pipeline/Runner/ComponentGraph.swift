/// The pipeline components and which consume which, as in TFX's standard DAG.
public enum Component: String, CaseIterable, Sendable, Codable, Comparable {
    case exampleGen = "ExampleGen"
    case statisticsGen = "StatisticsGen"
    case schemaGen = "SchemaGen"
    case importSchemaGen = "ImportSchemaGen"
    case exampleValidator = "ExampleValidator"
    case transform = "Transform"
    case tuner = "Tuner"
    case trainer = "Trainer"
    case evaluator = "Evaluator"
    case infraValidator = "InfraValidator"

    /// The DAG, stated once: each component's inputs, by name, with the components that may
    /// produce each (a run binds the one it has; SchemaGen or ImportSchemaGen, say). The
    /// components bind their inputs from it (``bindings(_:schema:)``), and ``upstream``, the
    /// runner's order and the change detector's closure all follow from it.
    public var inputs: [InputSpec] {
        let schema: [Component] = [.schemaGen, .importSchemaGen]
        return switch self {
        case .exampleGen, .importSchemaGen: []
        case .statisticsGen: [InputSpec("examples", from: [.exampleGen])]
        case .schemaGen: [InputSpec("examples", from: [.exampleGen]), InputSpec("statistics", from: [.statisticsGen])]
        case .exampleValidator:
            [
                InputSpec("examples", from: [.exampleGen]), InputSpec("statistics", from: [.statisticsGen]),
                InputSpec("schema", from: schema),
            ]
        case .transform: [InputSpec("examples", from: [.exampleGen])]
        case .tuner: [InputSpec("transformed", from: [.transform])]
        case .trainer:
            [
                InputSpec("transformed", from: [.transform]), InputSpec("transform", from: [.transform]),
                InputSpec("schema", from: schema),
                InputSpec("hyperparameters", output: "best_hyperparameters", from: [.tuner]),
            ]
        case .evaluator, .infraValidator:
            [InputSpec("examples", from: [.exampleGen]), InputSpec("model", from: [.trainer])]
        }
    }

    /// Each output by name, with its artifact type (TFX's names): what the components declare,
    /// and what an exported pipeline's tasks hand on.
    public var outputs: [String: String] {
        switch self {
        case .exampleGen: ["examples": "Examples"]
        case .statisticsGen: ["statistics": "ExampleStatistics"]
        case .schemaGen, .importSchemaGen: ["schema": "Schema"]
        case .exampleValidator: ["anomalies": "ExampleAnomalies"]
        case .transform: ["transform": "TransformGraph", "transformed": "TransformedExamples"]
        case .tuner: ["best_hyperparameters": "HyperParameters"]
        case .trainer: ["model": "Model"]
        case .evaluator: ["evaluation": "ModelEvaluation", "blessing": "ModelBlessing"]
        case .infraValidator: ["blessing": "InfraBlessing"]
        }
    }

    /// Components that must finish first although no artifact flows from them: Transform
    /// waits for ExampleValidator's verdict.
    public var runsAfter: [Component] { self == .transform ? [.exampleValidator] : [] }

    /// The components whose outputs this one may read, or whose verdict it waits for.
    public var upstream: [Component] { Set(inputs.flatMap(\.from) + runsAfter).sorted() }

    /// The bindings of the inputs named (all when nil), each from its one producer or, for
    /// the schema, from `schema`.
    public func bindings(_ names: [String]? = nil, schema: Component? = nil) -> [String: InputBinding] {
        var bindings: [String: InputBinding] = [:]
        for spec in inputs where names?.contains(spec.name) ?? true {
            let producer =
                spec.from.count > 1
                ? (schema.flatMap { spec.from.contains($0) ? $0 : nil } ?? spec.from[0]) : spec.from[0]
            bindings[spec.name] = InputBinding(producer, spec.output)
        }
        return bindings
    }

    private var order: Int { Component.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Component, b: Component) -> Bool { a.order < b.order }
}

/// One input of a component: its name, the output it reads (of the same name) and the
/// components that may produce it.
public struct InputSpec: Sendable, Hashable {
    public let name: String
    public let output: String
    public let from: [Component]

    public init(_ name: String, output: String? = nil, from: [Component]) {
        self.name = name
        self.output = output ?? name
        self.from = from
    }
}

/// The components a configuration switches on, with their dependencies.
public struct ComponentGraph: Sendable {
    public let components: [Component]

    public init(components: [Component]) {
        self.components = components.sorted()
    }

    public init(config: MLOpsConfig) {
        self.init(components: config.components.compactMap(Component.init(rawValue:)))
    }

    /// `seeds` and everything downstream of them, limited to the configured components, in DAG order.
    public func downstreamClosure(of seeds: some Sequence<Component>) -> [Component] {
        let present = Set(components)
        var affected = Set(seeds).intersection(present)
        var changed = true
        while changed {
            changed = false
            for component in components where !affected.contains(component) {
                if component.upstream.contains(where: affected.contains) {
                    affected.insert(component)
                    changed = true
                }
            }
        }
        return components.filter(affected.contains)
    }
}

extension Component: CustomStringConvertible {
    /// The name TFX uses, as printed everywhere (`ExampleValidator`).
    public var description: String { rawValue }
}
