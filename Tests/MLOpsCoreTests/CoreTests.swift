import Foundation
import MLOpsCore
import Testing

@Suite struct ExitStatusTests {
    @Test func tableListsEveryDocumentedCode() {
        let table = MLOpsCore.ExitStatus.helpTable
        for code in [0, 1, 64, 65, 66, 70, 74, 75, 78, 130] {
            #expect(table.contains("\n  \(code) "), "exit code \(code) missing from the help table")
        }
        #expect(MLOpsCore.ExitStatus.allCases.count == 10)
    }

    @Test func errorsMapThroughOnePlace() {
        #expect(MLOpsCore.ExitStatus(for: FileError(.missing, path: "x", detail: "no such file")) == .noInput)
        #expect(MLOpsCore.ExitStatus(for: FileError(.io, path: "x", detail: "disk full")) == .ioError)
        #expect(MLOpsCore.ExitStatus(for: CancellationError()) == .interrupted)
        struct Unclassified: Error {}
        #expect(MLOpsCore.ExitStatus(for: Unclassified()) == .internalError)
        #expect(MLOpsCore.ExitStatus(for: InternalError("boom")) == .internalError)
    }

    @Test func descriptionCarriesLocationAndHint() {
        struct Located: MLOpsError {
            var message: String { "unknown key 'roundz'" }
            var hint: String? { "did you mean 'rounds'?" }
            var location: MLOpsCore.SourceLocation? { MLOpsCore.SourceLocation(file: "mlops.yaml", line: 3, column: 5) }
            var exitStatus: MLOpsCore.ExitStatus { .configError }
        }
        #expect(Located().description == "mlops.yaml:3:5: unknown key 'roundz'\n  hint: did you mean 'rounds'?")
    }
}

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("roundz", "rounds"), ("trainr", "trainer"), ("evalution", "evaluation"), ("ronuds", "rounds"),
        ("ROUNDS", "rounds"),
    ])
    func nearKeysAreSuggested(typo: String, expected: String) {
        let keys = ["rounds", "trainer", "evaluation", "label", "objective"]
        #expect(Suggestions.nearest(to: typo, in: keys) == expected)
    }

    @Test func farWordsAreNotSuggested() {
        #expect(Suggestions.nearest(to: "xyz", in: ["rounds", "label"]) == nil)
        #expect(Suggestions.nearest(to: "completely_different", in: ["rounds"]) == nil)
    }

    @Test func editDistanceCountsTranspositionsAsOne() {
        #expect(Suggestions.editDistance("abcd", "abdc") == 1)
        #expect(Suggestions.editDistance("", "abc") == 3)
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
    }
}

@Suite struct ConsoleTests {
    @Test func ciOrPipeMeansPlainAndJSONWins() {
        #expect(
            Console.detect(json: false, verbosity: .normal, environment: ["CI": "true"], stdoutIsTerminal: true).mode
                == .plain)
        #expect(
            Console.detect(json: false, verbosity: .normal, environment: [:], stdoutIsTerminal: false).mode == .plain)
        let terminal = Console.detect(json: false, verbosity: .normal, environment: [:], stdoutIsTerminal: true)
        #expect(terminal.mode == .terminal && terminal.colors)
        let noColor = Console.detect(
            json: false, verbosity: .normal, environment: ["NO_COLOR": "1"], stdoutIsTerminal: true)
        #expect(noColor.mode == .terminal && !noColor.colors)
        #expect(Console.detect(json: true, verbosity: .normal, environment: [:], stdoutIsTerminal: true).mode == .json)
    }

    @Test func plainConsoleNeverStyles() {
        let console = Console(mode: .plain, colors: true)
        #expect(console.style("PASS", .green, bold: true) == "PASS")
    }
}

@Suite struct StringLiteralTests {
    /// The byte writer (which `json` also goes through) leaves no control character unescaped,
    /// and a JSON reader reads back the text.
    @Test(arguments: [
        "", "Cash", "Taxi Affiliation Services", #"say "hi""#, #"back\slash"#, "line\nbreak\r\ttab",
        "\u{1}\u{1f}", "Zeymane Corp · ü 東京 🚕", "\"\\\"",
    ])
    func bytesAreTheStringsJSON(_ text: String) throws {
        var bytes: [UInt8] = []
        StringLiteral.appendJSON(text, to: &bytes)
        #expect(!bytes.contains { $0 < 0x20 })
        let decoded = try JSONDecoder().decode(String.self, from: Data(bytes))
        #expect(decoded == text)
    }

    @Test func escapesAreJSONs() {
        #expect(StringLiteral.json(#"say "hi" \ now"#) == #""say \"hi\" \\ now""#)
        #expect(StringLiteral.json("a\nb\tc\r\u{1}") == #""a\nb\tc\r\u0001""#)
        #expect(StringLiteral.json("東京") == "\"東京\"")
    }
}
