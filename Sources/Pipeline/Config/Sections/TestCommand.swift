import Foundation
import MLOpsCore
import Yams

// The `tests` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

/// A user test command run by `mlops test` (e.g. `pytest -q`).
public struct TestCommand: Sendable, Hashable, Encodable {
    public var name: String
    public var run: String
    public var timeoutSeconds: Int

    enum Key: String, ConfigKey { case name, run, timeoutSeconds = "timeout_seconds" }
    typealias CodingKeys = Key

    static func parse(_ node: Node, _ reader: ConfigReader, _ path: String) -> TestCommand? {
        if case .scalar(let scalar) = node {
            return TestCommand(name: scalar.string, run: scalar.string, timeoutSeconds: 600)
        }
        let f = Fields<Key>(reader, path: path, node: node)
        f.requirePresent(.run, what: "the command line to run")
        guard let run = f.string(.run) else { return nil }
        return TestCommand(
            name: f.string(.name, default: run), run: run,
            timeoutSeconds: f.int(.timeoutSeconds, default: 600, in: 1...86_400))
    }
}
