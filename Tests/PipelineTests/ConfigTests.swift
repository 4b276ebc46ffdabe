import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Testing

/// Parses YAML as mlops.yaml and returns the diagnostics as the lines a user sees.
func problems(_ yaml: String, root: URL? = nil) -> [String] {
    do {
        _ = try MLOpsConfig.parse(yaml: yaml, file: "mlops.yaml", root: root)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

let minimal = """
    pipeline:
      name: taxi
    data:
      sources: ["data/*.csv"]

    """

@Suite struct DataSectionNamesTests {
    @Test func splitNamesAndDelimitersThatWouldMisbehaveAreRefused() {
        let yaml = """
            pipeline: {name: taxi}
            data:
              sources: ["data/*.csv"]
              delimiter: "§"
              splits: {train: 2, eval: 1, "../x": 1}

            """
        let found = problems(yaml)
        #expect(found.contains { $0.contains("'data.delimiter' must be a single ASCII character") })
        #expect(found.contains { $0.contains("split name '../x' may hold only letters, digits, '_' and '-'") })
        #expect(
            problems(minimal.replacingOccurrences(of: "  sources:", with: "  serving: ../serving/*.csv\n  sources:"))
                == [
                    "mlops.yaml:4:12: serving data '../serving/*.csv' must stay inside the repository (no '..')"
                ])
    }
}

@Suite struct ConfigTests {
    /// Issue 22 item 7: the Tuner or early stopping without a held-out test split is worth a
    /// warning (the Evaluator would gate on the split they chose on).
    @Test func earlyStoppingOrTheTunerWithoutATestSplitIsWarnedAbout() throws {
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi")
        let text = try String(contentsOf: template.appendingPathComponent("mlops.yaml"), encoding: .utf8)
        let config = try MLOpsConfig.parse(yaml: text, file: "mlops.yaml", root: template)
        #expect(config.data.splits.names == ["train", "eval", "test"])
        #expect(config.warnings.isEmpty, "\(config.warnings)")
        let twoSplits = text.replacingOccurrences(of: "    test: 2 ", with: "#    test: 2 ")
        #expect(twoSplits != text)
        let warned = try MLOpsConfig.parse(yaml: twoSplits, file: "mlops.yaml", root: template)
        #expect(warned.warnings.count == 1)
        #expect(
            warned.warnings.first?.hasPrefix(
                "data.splits has no 'test' split: early stopping (trainer.early_stopping_rounds) choose on the eval split"
            )
                == true, "\(warned.warnings)")
        let plain = twoSplits.replacingOccurrences(of: "  early_stopping_rounds: 10\n", with: "")
        #expect(try MLOpsConfig.parse(yaml: plain, file: "mlops.yaml", root: template).warnings.isEmpty)
    }

    @Test func minimalConfigGetsEveryDefault() throws {
        let config = try MLOpsConfig.parse(yaml: minimal, file: "mlops.yaml", root: nil)
        #expect(config.pipeline.name == "taxi")
        #expect(config.data.splits.names == ["train", "eval"])
        #expect(config.data.splits["train"] == 2 && config.data.splits["eval"] == 1)
        #expect(config.data.span == .latest)
        #expect(config.data.onBadRows == .fail)
        #expect(config.schema == .infer)
        #expect(config.trainer == nil && config.tuner == nil && config.evaluation == nil)
        #expect(config.infra.maxLoadingSeconds == 30 && config.infra.tolerance == 1e-6)
        #expect(config.release.registry == ".mlops/registry")
        #expect(config.release.channels == ["staging", "production"])
        #expect(config.paths.data == ["data/*.csv"])
        #expect(config.paths.config == ["mlops.yaml"])
        #expect(config.components == ["ExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator"])
    }

    @Test func bothTemplatesAreValid() throws {
        let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates")
        for name in ["taxi", "penguins"] {
            let root = templates.appendingPathComponent(name)
            let config = try MLOpsConfig.load(from: root.appendingPathComponent("mlops.yaml"), root: root)
            #expect(config.pipeline.name == name)
            #expect(config.trainer != nil)
        }
        let taxi = try MLOpsConfig.load(
            from: templates.appendingPathComponent("taxi/mlops.yaml"), root: templates.appendingPathComponent("taxi"))
        #expect(taxi.transform.derive["big_tipper"] == "tips > 0.2 * fare")
        #expect(taxi.transform.features["fare"] == [.fillMissing(.median), .zscore])
        #expect(taxi.trainer?.label == "big_tipper")
        #expect(taxi.schema == .file("schema/schema.pbtxt"))
        #expect(taxi.components.last == "InfraValidator")
        #expect(taxi.gates.policy["SCHEMA_NEW_COLUMN"] == .warn)
        #expect(taxi.gates.policy["metrics"] == .fail)
    }

    @Test func misspelledKeyNamesLineColumnAndSuggestion() {
        let yaml = minimal + "trainer:\n  label: y\n  roundz: 10\n"
        #expect(problems(yaml) == ["mlops.yaml:7:3: unknown key 'roundz' in 'trainer'\n  hint: did you mean 'rounds'?"])
    }

    @Test func misspelledSectionIsSuggested() {
        #expect(
            problems(minimal + "evalution: {}\n") == [
                "mlops.yaml:5:1: unknown key 'evalution' in 'the top level'\n  hint: did you mean 'evaluation'?"
            ])
    }

    @Test func unknownKeyWithNothingCloseListsTheValidOnes() {
        let lines = problems(minimal + "infra:\n  zzz: 1\n")
        #expect(lines.count == 1)
        #expect(
            lines[0].hasPrefix("mlops.yaml:6:3: unknown key 'zzz' in 'infra'\n  hint: valid keys are: enabled, mode,"))
    }

    @Test func wrongTypes() {
        #expect(
            problems(minimal + "trainer:\n  label: y\n  rounds: \"ten\"\n") == [
                "mlops.yaml:7:11: 'trainer.rounds' must be an integer, found the string \"ten\""
            ])
        #expect(
            problems(minimal + "trainer:\n  label: y\n  rounds: \"10\"\n") == [
                "mlops.yaml:7:11: 'trainer.rounds' must be an integer, found the string \"10\"\n  hint: remove the quotes"
            ])
        #expect(
            problems(minimal + "infra:\n  enabled: maybe\n") == [
                "mlops.yaml:6:12: 'infra.enabled' must be true or false, found 'maybe'"
            ])
        #expect(
            problems(minimal + "trainer:\n  label: y\n  booster: gbtre\n") == [
                "mlops.yaml:7:12: 'trainer.booster' must be one of gbtree, gblinear, found 'gbtre'\n  hint: did you mean 'gbtree'?"
            ])
        #expect(
            problems(minimal + "trainer: [1, 2]\n") == [
                "mlops.yaml:5:10: 'trainer' must be a mapping of keys to values, found a list"
            ])
    }

    @Test func outOfRangeValues() {
        #expect(
            problems(minimal + "trainer:\n  label: y\n  rounds: 0\n") == [
                "mlops.yaml:7:11: 'trainer.rounds' must be between 1 and 100000, found 0"
            ])
        #expect(
            problems(minimal + "evaluation:\n  decision_threshold: 1.5\ntrainer: {label: y}\n") == [
                "mlops.yaml:6:23: 'evaluation.decision_threshold' must be between 0 and 1, found 1.5"
            ])
    }

    @Test func tabIndentationPointsAtTheTab() {
        #expect(
            problems("pipeline:\n\tname: taxi\n") == [
                "mlops.yaml:2:1: invalid YAML: while scanning for the next token: found character that cannot start any token\n  hint: YAML does not allow tabs for indentation; indent with spaces"
            ])
    }

    @Test func unclosedQuotePointsWhereItOpens() {
        #expect(
            problems("pipeline:\n  name: \"taxi\ndata:\n  sources: [a]\n") == [
                "mlops.yaml:2:9: invalid YAML: unclosed quoted string (found unexpected end of stream at line 5, column 1)\n  hint: close the quote on the line where it opens"
            ])
    }

    @Test func missingRequiredSectionsAndKeys() {
        #expect(
            problems("data:\n  sources: [a]\n") == [
                "mlops.yaml:1:1: missing required section 'pipeline'\n  hint: add `pipeline: {name: my-model}`"
            ])
        #expect(
            problems(minimal + "trainer:\n  rounds: 5\n") == [
                "mlops.yaml:6:3: missing required key 'trainer.label': the column the model predicts"
            ])
        #expect(problems("").count == 2)
    }

    @Test func everyProblemIsReportedInFileOrder() {
        let yaml = "pipelin:\n  name: x\ndata:\n  sources: [a]\n  span: soon\ntrainer:\n  label: y\n  seed: -1\n"
        let lines = problems(yaml)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("mlops.yaml:1:1: unknown key 'pipelin'"))
        #expect(lines[1].hasPrefix("mlops.yaml:1:1: missing required section 'pipeline'"))
        #expect(lines[2].hasPrefix("mlops.yaml:5:9: 'data.span' must be latest, all"))
        #expect(lines[3].hasPrefix("mlops.yaml:8:9: 'trainer.seed' must be between 0"))
    }

    @Test func domainChecksWithSuggestions() {
        let yaml =
            minimal + """
                transform:
                  features:
                    fare: [zscroe]
                trainer:
                  label: y
                  objective: binary:logisitc
                  hyperparameters:
                    max_dept: 4
                    nthread: 2
                evaluation:
                  thresholds:
                    - metric: acuracy
                      lower_bound: 0.5
                    - metric: auc
                gates:
                  policy:
                    SCHEMA_NEW_COLUMNS: warn

                """
        let lines = problems(yaml)
        #expect(lines.contains("mlops.yaml:7:12: unknown transform step 'zscroe'\n  hint: did you mean 'zscore'?"))
        #expect(
            lines.contains(
                "mlops.yaml:10:14: unknown XGBoost objective 'binary:logisitc'\n  hint: did you mean 'binary:logistic'?"
            ))
        #expect(
            lines.contains("mlops.yaml:12:5: unknown XGBoost parameter 'max_dept'\n  hint: did you mean 'max_depth'?"))
        #expect(lines.contains("mlops.yaml:13:5: 'nthread' is set by 'trainer.nthread', not in hyperparameters"))
        #expect(lines.contains("mlops.yaml:16:15: unknown metric 'acuracy'\n  hint: did you mean 'accuracy'?"))
        #expect(
            lines.contains(
                "mlops.yaml:18:7: 'evaluation.thresholds[1]' sets no bound: give lower_bound, upper_bound or change"))
        #expect(
            lines.contains(
                "mlops.yaml:21:5: unknown gate finding 'SCHEMA_NEW_COLUMNS'\n  hint: did you mean 'SCHEMA_NEW_COLUMN'?")
        )
        #expect(lines.count == 7)
    }

    @Test func crossSectionRules() {
        #expect(
            problems(minimal + "evaluation: {allow_no_thresholds: true}\n") == [
                "mlops.yaml:5:13: 'evaluation' needs a 'trainer' section: there is no model to evaluate"
            ])
        let fromTuner = minimal + "trainer:\n  label: y\n  hyperparameters: from_tuner\n"
        #expect(
            problems(fromTuner).first?.contains(
                "'trainer.hyperparameters' is from_tuner but there is no 'tuner' section") == true)
    }

    @Test func schemaFileMustExistUnderTheRoot() throws {
        let dir = try TemporaryDirectory()
        #expect(
            problems(minimal + "schema: schema/schema.pbtxt\n", root: dir.url) == [
                "mlops.yaml:5:9: schema file 'schema/schema.pbtxt' does not exist\n  hint: write `schema: infer` to let SchemaGen infer one, or fix the path"
            ])
        try dir.write("schema/schema.pbtxt", "feature { name: \"x\" type: INT }\n")
        #expect(problems(minimal + "schema: schema/schema.pbtxt\n", root: dir.url).isEmpty)
        #expect(
            problems(minimal + "schema: ../outside.pbtxt\n").first?.contains("must stay inside the repository") == true)
    }

    @Test func duplicateKeysAreSyntaxErrors() {
        let lines = problems("pipeline:\n  name: a\n  name: b\n")
        #expect(lines.count == 1)
        #expect(lines[0].contains("duplicate key 'name'"))
    }

    @Test func effectiveConfigurationPrintsPlainNumbersAndParsesBack() throws {
        let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi")
        let config = try MLOpsConfig.load(from: templates.appendingPathComponent("mlops.yaml"), root: templates)
        let text = try config.yamlText()
        #expect(text.contains("decision_threshold: 0.5\n"))
        #expect(text.contains("tolerance: 1.0e-06\n"))
        #expect(text.contains("absolute: -0.01\n"))
        #expect(text.contains("max_depth: 6\n"))
        #expect(!text.contains("5e-1"))
        let reparsed = try MLOpsConfig.parse(yaml: text, file: "effective.yaml", root: templates)
        #expect(try reparsed.yamlText() == text)
        #expect(reparsed.components == config.components)
    }

    @Test func missingFileAndInvalidUTF8() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: ConfigError.missing(path: "mlops.yaml").self) {
            _ = try MLOpsConfig.load(from: dir.appending("mlops.yaml"), root: dir.url)
        }
        try Data([0x70, 0x3A, 0xFF, 0xFE, 0x0A]).write(to: dir.appending("mlops.yaml"))
        do {
            _ = try MLOpsConfig.load(from: dir.appending("mlops.yaml"), root: dir.url)
            Issue.record("must fail")
        } catch {
            #expect(error.message == "configuration file 'mlops.yaml' cannot be read: it is not valid UTF-8 text")
            #expect(error.exitStatus == .configError)
        }
    }
}

extension ConfigError: Equatable {
    public static func == (a: ConfigError, b: ConfigError) -> Bool { a.description == b.description }
}

/// Bad input on the keys issue 22 added: each problem names its key and line (exit 78).
@Suite struct GateKeysBadInputTests {
    @Test func driftSkewServingAndSignatureSettingsAreChecked() {
        let yaml = minimal + """
            gates:
              drift:
                fare: 2
                company: {}
                trip_miles: lots
                tips: {l_infinity: 0.1, jensn_shannon: 0.2}
              skew: [fare]
            serving: {out_of_domain: sometimes}
            release: {require_signature: maybe}

            """
        let found = problems(yaml)
        #expect(found.contains { $0.contains("gates.drift.fare") && $0.contains("0") }, "\(found)")
        #expect(found.contains { $0.contains("'gates.drift.company' sets no threshold") }, "\(found)")
        #expect(found.contains { $0.contains("gates.drift.trip_miles") }, "\(found)")
        #expect(found.contains { $0.contains("jensn_shannon") && $0.contains("did you mean 'jensen_shannon'?") }, "\(found)")
        #expect(found.contains { $0.contains("gates.skew") }, "\(found)")
        #expect(found.contains { $0.contains("serving.out_of_domain") }, "\(found)")
        #expect(found.contains { $0.contains("release.require_signature") }, "\(found)")
        #expect(found.allSatisfy { $0.hasPrefix("mlops.yaml:") }, "\(found)")
    }
}
