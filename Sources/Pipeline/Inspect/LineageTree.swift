import Foundation
import MLOpsCore
import Metadata

/// `mlops lineage`: where an artifact came from, down to the data fingerprints and the
/// commit, or (downstream) what was made from it.
public struct LineageTree: Sendable, Encodable {
    public let artifact: StoredArtifact
    public let execution: StoredExecution?
    public let paths: [String: String]
    public let children: [LineageTree]

    /// The tree from the artifact `reference` names (an id or a fingerprint prefix).
    public static func build(from reference: String, downstream: Bool, in store: any MetadataStore) throws
        -> LineageTree
    {
        guard let start = try store.findArtifact(reference) else {
            throw FileError(
                .missing, path: "artifact \(reference)", detail: "no artifact with that id or fingerprint in the store",
                hint: "`mlops train --json` lists each output's fingerprint")
        }
        var seen = Set<Int64>()
        func upstream(_ artifact: StoredArtifact) throws -> LineageTree {
            seen.insert(artifact.id)
            let maker = try store.producers(of: artifact.id).first { $0.state == .complete }
            var children: [LineageTree] = []
            if let maker {
                for (_, input) in try store.artifacts(of: maker.id, "INPUT").sorted(by: { $0.key < $1.key })
                where !seen.contains(input.id) {
                    children.append(try upstream(input))
                }
            }
            return LineageTree(
                artifact: artifact, execution: maker, paths: maker?.manifest?.paths ?? [:], children: children)
        }
        func down(_ artifact: StoredArtifact) throws -> LineageTree {
            seen.insert(artifact.id)
            var children: [LineageTree] = []
            for consumer in try store.consumers(of: artifact.id) where consumer.state == .complete {
                for (_, output) in try store.artifacts(of: consumer.id, "OUTPUT").sorted(by: { $0.key < $1.key })
                where !seen.contains(output.id) {
                    let child = try down(output)
                    children.append(
                        LineageTree(artifact: child.artifact, execution: consumer, paths: [:], children: child.children)
                    )
                }
            }
            let maker = try store.producers(of: artifact.id).first { $0.state == .complete }
            return LineageTree(artifact: artifact, execution: maker, paths: [:], children: children)
        }
        return downstream ? try down(start) : try upstream(start)
    }

    /// The tree as `mlops lineage` prints it, each level indented.
    public func print(on console: Console, indent: String = "") {
        var line =
            indent + console.style("\(artifact.type) \(artifact.id)", .cyan, bold: true)
            + "  \(artifact.fingerprint.prefix(19))  .mlops/\(artifact.uri)"
        if let execution {
            line +=
                "\n" + indent + "  made by \(execution.component) (execution \(execution.id)"
                + (execution.gitCommit.map { ", commit \($0.prefix(8))" } ?? "") + ")"
        }
        console.line(line)
        for (path, fingerprint) in paths.sorted(by: { $0.key < $1.key }) {
            console.line(indent + "  reads \(path)  \(fingerprint.prefix(19))")
        }
        for child in children { child.print(on: console, indent: indent + "    ") }
    }
}
