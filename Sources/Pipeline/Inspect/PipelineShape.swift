import Foundation
import MLOpsCore

/// `mlops pipeline show`: the DAG a configuration switches on, each component with what it
/// waits for and whether this mlops runs it.
public struct PipelineShape: Sendable, Encodable {
    public struct Entry: Sendable, Encodable {
        public let component: String
        public let upstream: [String]
        public let implemented: Bool
    }

    public let name: String
    public let entries: [Entry]

    public init(config: MLOpsConfig, root: URL) {
        let graph = ComponentGraph(config: config)
        // What `mlops train` runs, and the two gates `mlops gate` adds.
        let implemented = Set(
            ((try? config.dataComponents(root: root).map(\.id)) ?? [
                .exampleGen, .statisticsGen, .schemaGen, .importSchemaGen, .exampleValidator,
            ]) + [.evaluator, .infraValidator])
        let present = Set(graph.components)
        let entries: [Entry] = graph.components.map { component in
            Entry(
                component: component.rawValue, upstream: component.upstream.filter(present.contains).map(\.rawValue),
                implemented: implemented.contains(component))
        }
        self.name = config.pipeline.name
        self.entries = entries
    }

    /// A Mermaid flowchart (GitHub and GitLab render it).
    public var mermaid: [String] {
        var lines = ["flowchart LR"]
        for entry in entries {
            lines.append("  \(entry.component)[\(entry.component)]\(entry.implemented ? "" : ":::planned")")
        }
        for entry in entries {
            for upstream in entry.upstream { lines.append("  \(upstream) --> \(entry.component)") }
        }
        lines.append("  classDef planned stroke-dasharray: 4 4")
        return lines
    }

    public func print(on console: Console) {
        console.line(console.style("pipeline \(name)", .cyan, bold: true))
        for entry in entries {
            console.line(
                "  " + entry.component.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + (entry.upstream.isEmpty ? "(source)" : "← " + entry.upstream.joined(separator: ", "))
                    + (entry.implemented ? "" : console.style("  (not implemented yet)", .dim)))
        }
    }
}
