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

    /// The components whose outputs this one reads.
    public var upstream: [Component] {
        switch self {
        case .exampleGen: []
        case .statisticsGen: [.exampleGen]
        case .schemaGen: [.statisticsGen]
        case .importSchemaGen: []
        case .exampleValidator: [.statisticsGen, .schemaGen, .importSchemaGen]
        case .transform: [.exampleGen, .schemaGen, .importSchemaGen]
        case .tuner: [.transform]
        case .trainer: [.transform, .tuner]
        case .evaluator: [.exampleGen, .transform, .trainer]
        case .infraValidator: [.transform, .trainer]
        }
    }

    private var order: Int { Component.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Component, b: Component) -> Bool { a.order < b.order }
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
