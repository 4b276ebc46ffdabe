import Foundation
import MLOpsCore
import Yams

// The `schema` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

/// `schema: infer` (SchemaGen) or `schema: path/to/schema.pbtxt` (ImportSchemaGen).
public enum SchemaSource: Sendable, Hashable, Encodable {
    case infer
    case file(String)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .infer: try container.encode("infer")
        case .file(let path): try container.encode(path)
        }
    }
}
