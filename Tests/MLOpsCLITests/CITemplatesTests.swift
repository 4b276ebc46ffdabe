import Foundation
import MLOpsTestSupport
import Testing

/// The CI templates `mlops init --ci` copies, validated against GitHub's and GitLab's published
/// JSON schemas with check-jsonschema (`bash .ci/run` installs it from PyPI; set
/// MLOPS_CHECK_JSONSCHEMA or put it on PATH to run this suite by hand).
@Suite struct CITemplatesTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let templates = [
        ("github", ".github/workflows/mlops.yml", "vendor.github-workflows"),
        ("gitlab", ".gitlab-ci.yml", "vendor.gitlab-ci"),
    ]

    /// check-jsonschema: MLOPS_CHECK_JSONSCHEMA, else on PATH. Missing is a failure, never a skip.
    static func validator() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["MLOPS_CHECK_JSONSCHEMA"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(folder)/check-jsonschema"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw MissingValidator()
    }

    struct MissingValidator: Error, CustomStringConvertible {
        var description: String {
            "check-jsonschema is not installed: `pip install check-jsonschema` (bash .ci/run does it), or set MLOPS_CHECK_JSONSCHEMA"
        }
    }

    static func validate(_ file: URL, schema: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try validator())
        process.arguments = ["--builtin-schema", schema, file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test(arguments: templates)
    func theTemplateIsValidAgainstItsProvidersSchema(provider: String, path: String, schema: String) throws {
        let file = Self.sources.appendingPathComponent("ci/\(provider)/\(path)")
        let valid = try Self.validate(file, schema: schema)
        #expect(valid.status == 0 && valid.output.contains("ok -- validation done"), "\(valid.output)")
        // The validator is live: a misspelled key in a copy is refused.
        let text = try String(contentsOf: file, encoding: .utf8)
        let broken = try TemporaryDirectory()
        let copy = broken.url.appendingPathComponent("broken.yml")
        let misspelled =
            provider == "github"
            ? text.replacingOccurrences(of: "runs-on:", with: "runs_on:")
            : text.replacingOccurrences(of: "      when: manual", with: "      when: later")
        try misspelled.write(to: copy, atomically: true, encoding: .utf8)
        #expect(try Self.validate(copy, schema: schema).status != 0)
        // What the issue asks of both: history for the merge-base, every stage, the reports.
        for needed in [
            "mlops test", "mlops train", "mlops gate", "mlops release", "mlops promote", "<!-- mlops-gate-report -->",
        ] {
            #expect(text.contains(needed), "\(provider): \(needed)")
        }
        // The test and gate jobs wait for the runs their detached senders send to MLflow.
        let syncs = text.ranges(of: "mlops runs sync --if-configured")
        let tests = text.ranges(of: "run: mlops test\n").first ?? text.ranges(of: "- mlops test\n").first
        let gates = text.ranges(of: "mlops gate || status=$?").first
        #expect(syncs.count == 2, "\(provider)")
        if syncs.count == 2, let tests, let gates {
            #expect(tests.upperBound <= syncs[0].lowerBound && gates.upperBound < syncs[1].lowerBound, "\(provider)")
        } else {
            Issue.record("\(provider): the test and gate steps were not found")
        }
        #expect(text.contains(provider == "github" ? "fetch-depth: 0" : #"GIT_DEPTH: "0""#))
        #expect(text.contains(provider == "github" ? "cron:" : #"$CI_PIPELINE_SOURCE == "schedule""#))
    }

    /// Issue 21: a scheduled monitor job whose failed check starts the training jobs, and
    /// which the nightly and training jobs keep apart from.
    @Test func aScheduledMonitorStartsTrainingWhenACheckFails() throws {
        let github = try String(
            contentsOf: Self.sources.appendingPathComponent("ci/github/.github/workflows/mlops.yml"), encoding: .utf8)
        let monitor =
            #"mlops monitor --since 1h --logs "${MLOPS_PREDICTIONS:?set the variable MLOPS_PREDICTIONS}" ${MLOPS_LABELS:+--labels "$MLOPS_LABELS"}"#
        for needed in [
            #"- cron: "41 * * * *""#, "repository_dispatch:\n    types: [mlops-retrain]",
            "    if: github.event.schedule == '41 * * * *'\n", monitor,
            "if: steps.monitor.outputs.status == '1'", "github.rest.repos.createDispatchEvent(",
            "event_type: 'mlops-retrain'", #"cat .mlops/reports/monitor.md >> "$GITHUB_STEP_SUMMARY""#,
            "contents: write", #"exit "${{ steps.monitor.outputs.status }}""#,
            "event: 'repository_dispatch', status", "'monitor' || 'pipeline'",
        ] {
            #expect(github.contains(needed), "github: \(needed)")
        }
        // The training jobs run on the dispatch and the nightly schedule, not on the hourly one.
        let jobs = github.components(separatedBy: "\n\n").filter {
            $0.hasPrefix("  gate:") || $0.hasPrefix("  release:")
        }
        #expect(jobs.count == 2)
        for job in jobs {
            #expect(job.contains("github.event_name == 'repository_dispatch'"), "\(job.prefix(40))")
            #expect(job.contains("github.event.schedule == '17 3 * * *'") && !job.contains("event_name == 'schedule'"))
        }
        #expect(
            github.contains("if: github.event_name != 'workflow_dispatch' && github.event.schedule != '41 * * * *'"))

        let gitlab = try String(
            contentsOf: Self.sources.appendingPathComponent("ci/gitlab/.gitlab-ci.yml"), encoding: .utf8)
        for needed in [
            #"- if: $CI_PIPELINE_SOURCE == "schedule" && $MLOPS_JOB == "monitor""#, monitor,
            #"/projects/$CI_PROJECT_ID/trigger/pipeline""#, #"--form "token=$MLOPS_TRIGGER_TOKEN""#,
            #"--form-string "variables[MLOPS_RETRAIN_REASON]=$reason""#, "junit: .mlops/reports/monitor-junit.xml",
            #"- if: $CI_PIPELINE_SOURCE == "trigger""#,
        ] {
            #expect(gitlab.contains(needed), "gitlab: \(needed)")
        }
        // test, gate and release stay out of the monitor's schedule.
        #expect(gitlab.components(separatedBy: #"- if: $MLOPS_JOB == "monitor"\#n      when: never"#).count == 4)
    }

    @Test func initCopiesTheProvidersFilesAndRefusesAnUnknownOne() throws {
        let directory = try TemporaryDirectory()
        let target = directory.url.appendingPathComponent("project")
        let result = try MLOpsProcess.run(["init", target.path, "--ci", "github", "--ci", "gitlab"])
        #expect(result.status == 0, "\(result.stderr)")
        for (_, path, _) in Self.templates {
            let copied = try String(contentsOf: target.appendingPathComponent(path), encoding: .utf8)
            let source = try String(
                contentsOf: Self.sources.appendingPathComponent(
                    "ci/\(path.hasPrefix(".github") ? "github" : "gitlab")/\(path)"),
                encoding: .utf8)
            #expect(copied == source)
        }
        let unknown = try MLOpsProcess.run([
            "init", directory.url.appendingPathComponent("other").path, "--ci", "jenkins",
        ])
        #expect(unknown.status == 64 && unknown.stderr.contains("there are no CI files for provider 'jenkins'"))
        #expect(unknown.stderr.contains("github") && unknown.stderr.contains("gitlab"), "\(unknown.stderr)")
    }

    /// Issue 24: jobs on different runners share the S3 registry and remote cache (and the
    /// PostgreSQL store, its password a secret); the CI
    /// cache keeps only the mlops binary (a cached .mlops forks between jobs), and the AWS
    /// keys come from secrets, never from the file.
    @Test func theTemplatesKeepStateInSharedStorageAndCacheOnlyTheBinary() throws {
        let github = try String(
            contentsOf: Self.sources.appendingPathComponent("ci/github/.github/workflows/mlops.yml"), encoding: .utf8)
        let lines = github.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let cachedPaths = lines.enumerated().filter { $0.element.hasPrefix("uses: actions/cache@") }.compactMap {
            index, _ in
            lines[(index + 1)...].first { $0.hasPrefix("path:") }
        }
        #expect(!cachedPaths.isEmpty && cachedPaths.allSatisfy { $0 == "path: ~/.mlops-bin" }, "\(cachedPaths)")
        for line in [
            "MLOPS_REGISTRY: ${{ vars.MLOPS_REGISTRY }}", "MLOPS_CACHE: ${{ vars.MLOPS_CACHE }}",
            "AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}",
            "AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}",
            "MLOPS_STORE: ${{ vars.MLOPS_STORE }}", "PGPASSWORD: ${{ secrets.PGPASSWORD }}",
        ] {
            #expect(lines.contains(line), "\(line)")
        }
        let gitlab = try String(
            contentsOf: Self.sources.appendingPathComponent("ci/gitlab/.gitlab-ci.yml"), encoding: .utf8)
        let gitlabLines = gitlab.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            gitlabLines.filter { $0.hasPrefix("paths: [.mlops") } == [
                "paths: [.mlops-bin/]", "paths: [.mlops/reports/]", "paths: [.mlops/reports/]",
                "paths: [.mlops/reports/]", "paths: [.mlops/reports/]",
            ])
        #expect(!gitlab.contains("mlops-state"))
        for name in [
            "MLOPS_REGISTRY", "MLOPS_CACHE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLOPS_STORE", "PGPASSWORD",
        ] {
            #expect(gitlab.contains(name), "\(name)")
        }
    }
}
