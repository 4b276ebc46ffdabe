import Foundation
import MLOpsCore
import Yams

// The `pipeline` section of mlops.yaml (docs/config.md). Its `Key` enum lists the YAML spellings
// it accepts; its initializer reads and validates the values and fills in the defaults.

public struct PipelineSection: ConfigSection {
    public var name: String
    public var description: String?

    public enum Key: String, ConfigKey { case name, description }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        if f.isPresent { f.requirePresent(.name, what: "the pipeline's name, used for artifacts and release bundles") }
        name = f.string(.name) ?? ""
        description = f.string(.description)
        if !name.isEmpty, !Self.isValidName(name), let node = f.value(.name) {
            f.reader.report(
                node, f.keyPath(.name),
                "'\(f.keyPath(.name))' must be a name of lower-case letters, digits, '.', '_' or '-', found '\(name)'",
                hint: "for example 'taxi' or 'churn-model'")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.count <= 64 else { return false }
        let allowed = CharacterSet.lowercaseLetters.union(.decimalDigits).union(CharacterSet(charactersIn: "._-"))
        return name.unicodeScalars.allSatisfy { $0.isASCII && allowed.contains($0) }
            && CharacterSet.lowercaseLetters.union(.decimalDigits).contains(first)
    }
}
