import Foundation
import GitKit
import MLOpsTestSupport
import Testing

/// End-to-end: the built `mlops` binary, its stdout, stderr and exit status.
@Suite struct CLITests {
    func mlops(_ arguments: String..., in directory: URL? = nil) throws -> MLOpsProcess.Result {
        try MLOpsProcess.run(arguments, in: directory)
    }

    @Test func helpListsTheExitCodes() throws {
        let result = try mlops("--help")
        #expect(result.status == 0)
        for line in [
            "  0    success, or the gate passed", "  1    a verdict failed", "  64   usage error",
            "  65   bad input data",
            "  66   an input file or artifact is missing", "  70   internal error", "  74   I/O error",
            "  75   temporary failure, retry", "  78   configuration error (mlops.yaml)", "  130  interrupted",
        ] {
            #expect(result.stdout.contains(line), "missing from --help: \(line)")
        }
        #expect(result.stdout.contains("init"))
        #expect(result.stdout.contains("config"))
    }

    @Test func versionNamesTheLibraries() throws {
        let result = try mlops("--version")
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("mlops 0.1.0 (libgit2 1."))
        #expect(result.stdout.contains("SQLite 3.") && result.stdout.contains("XGBoost 1."))
    }

    @Test func badFlagsAreUsageErrors() throws {
        let result = try mlops("init", "--no-such-flag")
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unknown option '--no-such-flag'"))
        #expect(try mlops("--verbose", "--quiet", "config", "check").status == 64)
    }

    @Test func initThenConfigCheckPasses() throws {
        let dir = try TemporaryDirectory()
        let initResult = try mlops("init", dir.appending("x").path)
        #expect(initResult.status == 0, "\(initResult.stderr)")
        #expect(initResult.stdout.contains("Created a 'taxi' project"))
        #expect(initResult.stdout.contains("  mlops.yaml"))
        #expect(initResult.stdout.contains("Initialized a git repository (branch main)."))
        #expect(try Repository.open(at: dir.appending("x").path).head() == .unborn(branch: "main"))

        let check = try mlops("config", "check", in: dir.appending("x"))
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.isEmpty)
        #expect(check.stdout.contains("mlops.yaml is valid: pipeline 'taxi'"))
        #expect(check.stdout.contains("  rounds: 100\n"))
        #expect(!check.stdout.contains("\u{1B}["), "no colors when CI is set")
    }

    @Test func jsonOutputIsOneVersionedDocument() throws {
        let dir = try TemporaryDirectory()
        let initResult = try mlops("--json", "init", "--template", "penguins", dir.appending("p").path)
        #expect(initResult.status == 0)
        let initDocument = try JSONSerialization.jsonObject(with: Data(initResult.stdout.utf8)) as? [String: Any]
        #expect(initDocument?["schema"] as? String == "mlops.init/v1")

        let check = try mlops("config", "check", "--json", in: dir.appending("p"))
        #expect(check.status == 0)
        let document = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any]
        #expect(document?["schema"] as? String == "mlops.config-check/v1")
        let result = document?["result"] as? [String: Any]
        let config = result?["config"] as? [String: Any]
        let trainer = config?["trainer"] as? [String: Any]
        #expect(trainer?["num_class"] as? Int == 3)
        #expect((result?["components"] as? [String])?.contains("Trainer") == true)
    }

    @Test func misspelledKeyExits78WithLineColumnAndSuggestion() throws {
        let dir = try TemporaryDirectory()
        try dir.write(
            "mlops.yaml", "pipeline:\n  name: t\ndata:\n  sources: [a.csv]\ntrainer:\n  label: y\n  roundz: 10\n")
        let result = try mlops("config", "check", in: dir.url)
        #expect(result.status == 78)
        #expect(result.stdout.isEmpty)
        #expect(
            result.stderr
                == "error: mlops.yaml:7:3: unknown key 'roundz' in 'trainer'\n  hint: did you mean 'rounds'?\n")
    }

    @Test func brokenYAMLAndWrongTypesExit78() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mlops.yaml", "pipeline:\n\tname: t\n")
        let tab = try mlops("config", "check", in: dir.url)
        #expect(tab.status == 78)
        #expect(tab.stderr.hasPrefix("error: mlops.yaml:2:1: invalid YAML"))
        #expect(tab.stderr.contains("indent with spaces"))

        try dir.write("mlops.yaml", "pipeline:\n  name: 'oops\n")
        let quote = try mlops("config", "check", in: dir.url)
        #expect(quote.status == 78)
        #expect(quote.stderr.hasPrefix("error: mlops.yaml:2:9: invalid YAML: unclosed quoted string"))

        try dir.write(
            "mlops.yaml", "pipeline:\n  name: t\ndata:\n  sources: [a.csv]\ntrainer:\n  label: y\n  rounds: \"ten\"\n")
        let type = try mlops("config", "check", "--json", in: dir.url)
        #expect(type.status == 78)
        #expect(type.stderr.contains("mlops.yaml:7:11: 'trainer.rounds' must be an integer, found the string \"ten\""))
        let document = try JSONSerialization.jsonObject(with: Data(type.stdout.utf8)) as? [String: Any]
        let error = document?["error"] as? [String: Any]
        #expect(error?["exit_code"] as? Int == 78)
        #expect(error?["line"] as? Int == 7 && error?["column"] as? Int == 11)
    }

    @Test func missingConfigExits78WithAHint() throws {
        let dir = try TemporaryDirectory()
        let result = try mlops("config", "check", in: dir.url)
        #expect(result.status == 78)
        #expect(result.stderr.contains("configuration file 'mlops.yaml' does not exist"))
        #expect(result.stderr.contains("mlops init"))
    }

    @Test func initIntoANonEmptyDirectoryNeedsForce() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mlops.yaml", "mine\n")
        let refused = try mlops("init", dir.path)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("is not empty; these files would be overwritten: mlops.yaml"))
        #expect(refused.stderr.contains("--force"))
        #expect(try dir.read("mlops.yaml") == "mine\n")
        let forced = try mlops("init", "--force", dir.path)
        #expect(forced.status == 0)
        #expect(try dir.read("mlops.yaml").contains("name: taxi"))
    }

    @Test func initIntoAnUnwritablePlaceExits74() throws {
        let dir = try TemporaryDirectory()
        try dir.write("file", "x")
        let result = try mlops("init", dir.appending("file/sub").path)
        #expect(result.status == 74)
        #expect(result.stderr.contains("cannot write to '\(dir.appending("file/sub").path)'"))
    }

    @Test func unknownTemplateIsAUsageErrorWithASuggestion() throws {
        let dir = try TemporaryDirectory()
        let result = try mlops("init", "--template", "pengiuns", dir.appending("x").path)
        #expect(result.status == 64)
        #expect(result.stderr.contains("there is no template named 'pengiuns'"))
        #expect(result.stderr.contains("did you mean 'penguins'?"))
        #expect(!dir.exists("x/mlops.yaml"))
    }

    @Test func missingRepoDirectoryExits66() throws {
        let result = try mlops("--repo", "/nonexistent/repo", "config", "check")
        #expect(result.status == 66)
        #expect(result.stderr.contains("'/nonexistent/repo': no such directory"))
    }

    @Test func configCheckFindsTheRepositoryRootFromASubfolder() throws {
        let repo = try TestRepository()
        try repo.write("mlops.yaml", "pipeline: {name: sub}\ndata: {sources: [data/*.csv]}\n")
        try repo.write("src/deep/x.py", "")
        let result = try mlops("config", "check", in: repo.directory.appending("src/deep"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("pipeline 'sub'"))
    }
}

@Suite struct DataStatsCLITests {
    @Test func statsOfTheTaxiSampleAndJSON() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        let human = try MLOpsProcess.run(["data", "stats", path])
        #expect(human.status == 0, "\(human.stderr)")
        #expect(human.stdout.contains("15002 rows, 18 features (16 numeric, 2 text)"))
        #expect(human.stdout.contains("payment_type"))
        let json = try MLOpsProcess.run(["data", "stats", "--json", path])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["schema"] as? String == "mlops.statistics/v1")
        let datasets = try #require((document["result"] as? [String: Any])?["datasets"] as? [[String: Any]])
        #expect(datasets.first?["num_examples"] as? Int == 15002)
    }

    @Test func malformedCSVExits65NamingFileAndLine() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("bad.csv", "a,b\n1,2\n3\n")
        let result = try MLOpsProcess.run(["data", "stats", file.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(file.path):3: row has 1 field, the header has 2"))
        let skipped = try MLOpsProcess.run(["data", "stats", "--on-bad-rows", "skip", file.path])
        #expect(skipped.status == 0)
        #expect(skipped.stderr.contains("skipped 1 bad row: line 3 (1 fields, the header has 2)"))
        let missing = try MLOpsProcess.run(["data", "stats", dir.appending("nope.csv").path])
        #expect(missing.status == 66)
    }
}

@Suite struct DataSchemaCLITests {
    @Test func writesASchemaThatLoadsAndRefusesBadInput() throws {
        let dir = try TemporaryDirectory()
        let csv = try dir.write("d.csv", "x,label\n1,a\n2,b\n")
        let out = dir.appending("schema.pbtxt")
        let result = try MLOpsProcess.run(["data", "schema", csv.path, "-o", out.path, "--label", "label"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Wrote \(out.path): 2 features, 1 string domain."))
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(text.contains("not_in_environment: \"SERVING\""))
        let badLabel = try MLOpsProcess.run(["data", "schema", csv.path, "--label", "nope"])
        #expect(badLabel.status == 64)
        #expect(badLabel.stderr.contains("--label 'nope' is not a column of"))
        let bad = try dir.write("bad.csv", "a,b\n1\n")
        let broken = try MLOpsProcess.run(["data", "schema", bad.path, "-o", dir.appending("bad.pbtxt").path])
        #expect(broken.status == 65)
        #expect(!dir.exists("bad.pbtxt"), "nothing is written for bad input")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
                "bad.csv", "d.csv", "schema.pbtxt",
            ])
    }
}

@Suite struct DataValidateCLITests {
    @Test func exitOneOnErrorAnomaliesZeroWhenClean() throws {
        let dir = try TemporaryDirectory()
        let schema = try dir.write("s.pbtxt", "feature { name: \"x\" type: INT int_domain { min: 0 max: 5 } }\n")
        let clean = try dir.write("clean.csv", "x\n1\n2\n")
        let bad = try dir.write("bad.csv", "x,y\n9,1\n")
        let ok = try MLOpsProcess.run(["data", "validate", clean.path, "--schema", schema.path])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("no anomalies"))
        let failing = try MLOpsProcess.run(["data", "validate", bad.path, "--schema", schema.path])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("INT_TYPE_BIG_INT"))
        #expect(failing.stdout.contains("SCHEMA_NEW_COLUMN"))
        let json = try MLOpsProcess.run(["data", "validate", bad.path, "--schema", schema.path, "--json"])
        #expect(json.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["ok"] as? Bool == false)
        #expect(document["schema"] as? String == "mlops.anomalies/v1")
        let broken = try dir.write("broken.pbtxt", "feature { name: \"x\" type: NUMBER }\n")
        let badSchema = try MLOpsProcess.run(["data", "validate", clean.path, "--schema", broken.path])
        #expect(badSchema.status == 65)
        #expect(badSchema.stderr.contains("broken.pbtxt:1:21: 'NUMBER' is not a value of 'type'"))
    }
}

@Suite struct DataDriftCLITests {
    @Test func driftAgainstAPreviousSpanUsesTheSchemaThresholds() throws {
        let dir = try TemporaryDirectory()
        let schema = try dir.write(
            "s.pbtxt", "feature { name: \"kind\" type: BYTES drift_comparator { infinity_norm { threshold: 0.1 } } }\n")
        let previous = try dir.write("previous.csv", "kind\na\na\na\nb\n")
        let similar = try dir.write("similar.csv", "kind\na\na\na\nb\n")
        let shifted = try dir.write("shifted.csv", "kind\na\nb\nb\nb\n")
        let ok = try MLOpsProcess.run([
            "data", "validate", similar.path, "--schema", schema.path, "--previous", previous.path,
        ])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let drifted = try MLOpsProcess.run([
            "data", "validate", shifted.path, "--schema", schema.path, "--previous", previous.path,
        ])
        #expect(drifted.status == 1)
        #expect(drifted.stdout.contains("COMPARATOR_L_INFTY_HIGH"))
        #expect(drifted.stdout.contains("drift kind: L_INFTY 0.5000 (threshold 0.1)"))
    }
}
