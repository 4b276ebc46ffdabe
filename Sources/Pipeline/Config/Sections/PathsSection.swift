import Foundation
import MLOpsCore
import Yams

// The `paths` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public struct PathsSection: ConfigSection {
    public var data: [String]
    public var code: [String]
    public var config: [String]
    public var schema: [String]

    public enum Key: String, ConfigKey { case data, code, config, schema }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        data = f.strings(.data, default: [])
        code = f.strings(.code, default: [])
        config = f.strings(.config, default: [])
        schema = f.strings(.schema, default: [])
        for (key, patterns) in [(Key.data, data), (.code, code), (.config, config), (.schema, schema)] {
            for pattern in patterns {
                if let problem = PathPattern.problem(pattern) {
                    f.reader.report(f.value(key), f.keyPath(key), "path pattern '\(pattern)' \(problem)")
                }
            }
        }
    }
}
