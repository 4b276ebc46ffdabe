import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// `mlops pipeline export --to kfp|argo|airflow`, checked by each orchestrator's own code: the
/// kfp packages parse and compile the PipelineSpec back, Argo's published JSON schema (and a
/// stricter copy) accepts the WorkflowTemplate, and Airflow 3's DagBag loads the DAG file with
/// the tasks and edges the pipeline's DAG says.
@Suite struct PipelineExportCLITests {
    /// What the taxi pipeline's DAG says each task waits for (Component.inputs, runsAfter).
    static let dependencies: [String: [String]] = [
        "example-gen": [], "import-schema-gen": [], "statistics-gen": ["example-gen"],
        "example-validator": ["example-gen", "import-schema-gen", "statistics-gen"],
        "transform": ["example-gen", "example-validator"], "trainer": ["import-schema-gen", "transform"],
        "evaluator": ["example-gen", "trainer"], "infra-validator": ["example-gen", "trainer"],
    ]

    static let orchestration = """
          image: registry.example.com/ml/mlops:0.1.0
          repository: https://git.example.com/ml/taxi.git
          namespace: ml-pipelines
          secret: taxi-storage
          schedule: "0 3 * * *"
          resources:
            Trainer: {cpu: "2", memory: 4Gi}
            Tuner: {cpu: 500m, memory: 1Gi}

        """

    func export(_ format: String, _ repo: TestRepository, _ extra: [String] = []) throws -> (URL, String) {
        let file = repo.directory.appending("export-\(format)-\(UUID().uuidString.prefix(6))")
        let result = try MLOpsProcess.run(
            ["pipeline", "export", "--to", format, "-o", file.path] + extra, in: repo.directory.url)
        #expect(result.status == 0, "\(result.stderr)")
        return (file, try String(contentsOf: file, encoding: .utf8))
    }

    func json(_ text: String) throws -> [String: Any] {
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(text)")
    }

    @Test func theKFPExportIsAPipelineSpecThatKFPLoadsAndCompilesBack() throws {
        let plain = try TaxiProject.make()
        let (file, text) = try export("kfp", plain)
        let checked = try PythonTool.kfp.run("kfp_check.py", ["pipeline", file.path])
        try #require(checked.status == 0, "\(checked.stderr)")
        let summary = try json(checked.stdout)
        var expected = Self.dependencies
        expected["condition-1"] = ["evaluator", "infra-validator"]
        #expect(summary["dependencies"] as? [String: [String]] == expected)
        #expect(
            (summary["trigger"] as? [String: String])?["condition-1"]
                == "inputs.parameter_values['pipelinechannel--evaluator-blessed'] == true && inputs.parameter_values['pipelinechannel--infra-validator-blessed'] == true"
        )
        // Each task is `mlops component run` in a fresh clone, KFP's contract on its command line.
        #expect(
            text.contains("        - component\n        - run\n        - Trainer\n        - --repository\n"), "\(text)")
        #expect(text.contains("        - --executor-input\n        - '{{$}}'\n"))
        #expect(text.contains("secretName: mlops-storage"))

        // With a Tuner: its trials are a loop over the trial numbers before the Tuner gathers them.
        let tuned = try TaxiProject.make()
        try TaxiProject.tune(tuned, trials: 5, orchestration: Self.orchestration)
        let (tunedFile, tunedText) = try export("kfp", tuned)
        let tunedCheck = try PythonTool.kfp.run("kfp_check.py", ["pipeline", tunedFile.path])
        #expect(tunedCheck.status == 0, "\(tunedCheck.stderr)")
        let tunedSummary = try json(tunedCheck.stdout)
        let deps = try #require(tunedSummary["dependencies"] as? [String: [String]])
        #expect(deps["for-loop-2"] == ["transform"])
        #expect(deps["tuner"] == ["for-loop-2", "transform"])
        #expect(deps["trainer"] == ["import-schema-gen", "transform", "tuner"])
        let iterator = (tunedSummary["iterator"] as? [String: [String: Any]])?["for-loop-2"]
        #expect((iterator?["items"] as? [String: String])?["raw"] == "[1, 2, 3, 4, 5]")
        #expect(
            tunedText.contains("        - --trial\n        - '{{$.inputs.parameters[''trial'']}}'\n"), "\(tunedText)")
        #expect(tunedText.contains("image: registry.example.com/ml/mlops:0.1.0"))
        #expect(tunedText.contains("resourceCpuRequest: \"2\"\n          resourceMemoryLimit: 4Gi\n"), "\(tunedText)")
        #expect(tunedText.contains("defaultValue: https://git.example.com/ml/taxi.git"))
        #expect(tunedText.contains("secretName: taxi-storage"))
    }

    @Test func aBrokenKFPExportIsCaughtByTheCheck() throws {
        // The check itself: a dangling componentRef and an unknown field both fail it.
        let repo = try TaxiProject.make()
        let (file, text) = try export("kfp", repo)
        try text.replacingOccurrences(of: "name: comp-trainer", with: "name: comp-trainee").write(
            to: file, atomically: true, encoding: .utf8)
        let dangling = try PythonTool.kfp.run("kfp_check.py", ["pipeline", file.path])
        #expect(dangling.status == 1 && dangling.stderr.contains("componentRef 'comp-trainee' is not a component"))
        try text.replacingOccurrences(of: "retryPolicy:", with: "retryPolicie:").write(
            to: file, atomically: true, encoding: .utf8)
        let unknown = try PythonTool.kfp.run("kfp_check.py", ["pipeline", file.path])
        #expect(unknown.status == 1 && unknown.stderr.contains("retryPolicie"), "\(unknown.stderr)")
    }

    @Test func theArgoExportPassesArgosSchemaAndAStricterCopy() throws {
        let tuned = try TaxiProject.make()
        try TaxiProject.tune(tuned, trials: 3, orchestration: Self.orchestration)
        let (file, text) = try export("argo", tuned)
        let scratch = try TemporaryDirectory("mlops-argo-check")
        let schema = try PythonTool.sharedSchema("argo-workflows-v4.1.2.schema.json")
        let check = { (file: URL) in
            try PythonTool.ciTools.run(
                "argo_check.py", [schema.path, file.path, scratch.path],
                environment: ["MLOPS_CHECK_JSONSCHEMA": PythonTool.checkJSONSchema])
        }
        let checked = try check(file)
        try #require(checked.status == 0, "\(checked.stderr)")
        let documents = try #require(
            JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [[String: Any]], "\(checked.stdout)")
        #expect(documents.map { $0["kind"] as? String } == ["WorkflowTemplate", "CronWorkflow"])
        var expected = Self.dependencies
        expected["tuner-trial"] = ["transform"]
        expected["tuner"] = ["transform", "tuner-trial"]
        expected["trainer"] = ["import-schema-gen", "transform", "tuner"]
        expected["release"] = ["evaluator", "infra-validator"]
        #expect(documents[0]["tasks"] as? [String: [String]] == expected)
        #expect(
            (documents[0]["when"] as? [String: String])?["release"]
                == "{{tasks.evaluator.outputs.parameters.blessed}} == true && {{tasks.infra-validator.outputs.parameters.blessed}} == true"
        )
        #expect((documents[0]["withItems"] as? [String: [Int]])?["tuner-trial"] == [1, 2, 3])
        #expect(
            text.contains("secretKeyRef:\n            name: taxi-storage\n            key: AWS_ACCESS_KEY_ID\n"),
            "\(text)")
        #expect(text.contains("namespace: ml-pipelines"))
        #expect(text.contains("retryStrategy:\n      limit: \"2\"\n      retryPolicy: Always"))

        // The strict copy catches what the published schema lets through: a misspelled field.
        try text.replacingOccurrences(of: "retryStrategy:", with: "retryStrateg:").write(
            to: file, atomically: true, encoding: .utf8)
        let misspelled = try check(file)
        #expect(misspelled.status == 1, "\(misspelled.stdout)")
        #expect(misspelled.stderr.contains("fails the strict schema"), "\(misspelled.stderr)")
        #expect(!misspelled.stderr.contains("fails the schema:"))
    }

    @Test(arguments: ["kubernetes", "bash"])
    func theAirflowExportIsADAGAirflowLoadsWithTheDAGsEdges(airflowOperator: String) throws {
        let tuned = try TaxiProject.make()
        try TaxiProject.tune(
            tuned, trials: 4, orchestration: Self.orchestration + "  airflow_operator: \(airflowOperator)\n")
        let (file, text) = try export("airflow", tuned)
        let checked = try PythonTool.airflow.run("airflow_check.py", [file.path])
        try #require(checked.status == 0, "\(checked.stderr)")
        let line = try #require(checked.stdout.split(separator: "\n").first { $0.hasPrefix("mlops-dagbag: ") })
        let dags = try json(String(line.dropFirst("mlops-dagbag: ".count)))
        let dag = try #require(dags["taxi"] as? [String: Any])
        #expect(dag["schedule"] as? String == "0 3 * * *")
        #expect(dag["params"] as? [String] == ["repository", "revision"])
        let tasks = try #require(dag["tasks"] as? [String: [String: Any]])
        var expected = Self.dependencies
        expected["tuner-trial"] = ["transform"]
        expected["tuner"] = ["transform", "tuner-trial"]
        expected["trainer"] = ["import-schema-gen", "transform", "tuner"]
        expected["blessed"] = ["evaluator", "infra-validator"]
        expected["release"] = ["blessed"]
        #expect(tasks.mapValues { $0["upstream"] as? [String] ?? [] } == expected)
        let kind = airflowOperator == "kubernetes" ? "KubernetesPodOperator" : "BashOperator"
        #expect(tasks["trainer"]?["operator"] as? String == kind)
        #expect(tasks["tuner-trial"]?["operator"] as? String == "MappedOperator")
        #expect(tasks["blessed"]?["operator"] as? String == "ShortCircuitOperator")
        #expect(tasks.values.allSatisfy { $0["retries"] as? Int == 2 })
        // The last trial's task: a pod's argument list, or the worker's command line.
        #expect(
            text.contains(airflowOperator == "kubernetes" ? "\"--trial\", \"4\"" : "'--trial' '4'"), "\(text)")
    }

    @Test func exportsAreTheSameBytesEveryTimeAndInEveryClone() throws {
        let origin = try TaxiProject.make()
        try TaxiProject.tune(origin, trials: 3, orchestration: Self.orchestration)
        _ = try origin.commitAll("tuned, with orchestration settings")
        let clone = try TestRepository(cloning: origin)
        for format in ["kfp", "argo", "airflow"] {
            let first = try export(format, origin).1
            let second = try export(format, origin).1
            let elsewhere = try export(format, clone).1
            #expect(first == second && first == elsewhere, "\(format)")
            #expect(first.hasPrefix("# "), "\(format): starts with where it came from")
        }
        // --image overrides orchestration.image; stdout without -o.
        let printed = try MLOpsProcess.run(
            ["pipeline", "export", "--to", "argo", "--image", "ghcr.io/acme/mlops:2"], in: origin.directory.url)
        #expect(printed.status == 0 && printed.stdout.contains("image: ghcr.io/acme/mlops:2"), "\(printed.stderr)")
        #expect(!printed.stdout.contains("registry.example.com"))
    }

    @Test func badOrchestrationSettingsAreConfigErrorsNamingTheKey() throws {
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) {
            $0 + """

                orchestration:
                  namespace: ML_Pipelines
                  schedule: every night
                  retries: 99
                  resources:
                    Trainr: {cpu: "2"}
                    Evaluator: {cpu: two, memory: 4 gigs}

                """
        }
        let result = try MLOpsProcess.run(["pipeline", "export", "--to", "kfp"], in: repo.directory.url)
        #expect(result.status == 78, "\(result.stderr)")
        for expected in [
            "'orchestration.namespace' must be a Kubernetes name", "'orchestration.schedule' must be a cron expression",
            "orchestration.retries", "'orchestration.resources' has no component 'Trainr'", "did you mean 'Trainer'?",
            "'orchestration.resources.Evaluator.cpu' must be a CPU quantity",
            "'orchestration.resources.Evaluator.memory' must be a memory quantity",
        ] {
            #expect(result.stderr.contains(expected), "\(expected): \(result.stderr)")
        }
        #expect(result.stdout.isEmpty)
        // A file in a folder that does not exist: exit 66 naming it, nothing written.
        let clean = try TaxiProject.make()
        let missing = try MLOpsProcess.run(
            ["pipeline", "export", "--to", "kfp", "-o", clean.directory.appending("no/such/dir/p.yaml").path],
            in: clean.directory.url)
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.contains("no/such/dir/p.yaml"), "\(missing.stderr)")
        #expect(!clean.directory.exists("no"))
        let format = try MLOpsProcess.run(["pipeline", "export", "--to", "tekton"], in: repo.directory.url)
        #expect(format.status == 64, "\(format.stderr)")
    }
}
