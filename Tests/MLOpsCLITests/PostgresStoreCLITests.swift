import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import Testing

/// `mlops` with its metadata store on PostgreSQL (`MLOPS_STORE`, `store` in mlops.yaml), as CI
/// jobs on different runners share one: the same answers as the embedded store, many trains
/// at once, and settings that are wrong.
@Suite struct PostgresStoreCLITests {
    func run(_ arguments: [String], _ repo: TestRepository, _ environment: [String: String]) throws
        -> MLOpsProcess.Result
    {
        try MLOpsProcess.run(arguments, in: repo.directory.url, environment: environment)
    }

    /// Output with commit ids, digests and times masked, to compare two projects' answers.
    func masked(_ text: String) -> String {
        text.replacingOccurrences(of: "[0-9a-f]{8,}", with: "#", options: .regularExpression)
            .replacingOccurrences(of: "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}", with: "T", options: .regularExpression)
            .replacingOccurrences(of: "[0-9]+\\.[0-9]+ ?s\\b", with: "S", options: .regularExpression)
            .replacingOccurrences(of: " +[0-9]+\\.[0-9]{3}\\n", with: " S\n", options: .regularExpression)
    }

    @Test func trainRecordsIntoTheServerAndRunsExplainAndLineageAnswerAsWithSQLite() throws {
        let database = try PostgresTestDatabase()
        let shared = try TaxiProject.make()
        // Nothing recorded yet: a question says so and makes no tables.
        let early = try run(["runs"], shared, database.environment)
        #expect(early.status == 66, "\(early.stderr)")
        #expect(early.stderr.contains("has no metadata yet"), "\(early.stderr)")
        #expect(early.stderr.contains("run `mlops train` first"))
        #expect(try database.execute("SELECT to_regclass('schema_migrations') IS NULL") == ["true"])

        let local = try TaxiProject.make()
        var answers: [[String]] = []
        for (repo, environment) in [(shared, database.environment), (local, [:])] {
            for _ in 0..<2 {
                let trained = try run(["train"], repo, environment)
                #expect(trained.status == 0, "\(trained.stderr)")
            }
            let runs = try run(["runs"], repo, environment)
            let explained = try run(["explain", "Trainer"], repo, environment)
            // The model's lineage, by a prefix of its fingerprint (ids differ from run to run:
            // ExampleGen and ImportSchemaGen start in either order).
            let models = try FileManager.default.contentsOfDirectory(
                atPath: repo.directory.appending(".mlops/artifacts/Trainer").path)
            let model = try #require(models.first { $0.hasPrefix("model-") }).dropFirst("model-".count)
            let lineage = try run(["lineage", String(model)], repo, environment)
            #expect(runs.status == 0 && explained.status == 0 && lineage.status == 0, "\(lineage.stderr)")
            #expect(lineage.stdout.contains("made by Trainer"), "\(lineage.stdout)")
            let lineageShape = masked(lineage.stdout).replacingOccurrences(
                of: "[0-9]+", with: "N", options: .regularExpression)
            answers.append([masked(runs.stdout), masked(explained.stdout), lineageShape])
        }
        #expect(!shared.directory.exists(".mlops/store.sqlite"))
        #expect(local.directory.exists(".mlops/store.sqlite"))
        #expect(
            answers[0][0].range(of: #"train +complete +0 +6 +0 "#, options: .regularExpression) != nil,
            "\(answers[0][0])")
        #expect(answers[0][1].contains("Trainer would be reused"), "\(answers[0][1])")
        #expect(answers[0] == answers[1])
        #expect(try database.execute("SELECT count(*) FROM executions") == ["12"])
    }

    /// Eight `mlops train` processes at once, each in a clone of its own, one store: every run
    /// and execution recorded, none left running, and each clone's next train is cached.
    @Test func eightTrainsAtOnceAgainstOneStoreRecordEveryRun() throws {
        let database = try PostgresTestDatabase()
        let repos = try (0..<8).map { _ in try TaxiProject.make() }
        let results = try concurrently(8) { index in
            try MLOpsProcess.run(["train"], in: repos[index].directory.url, environment: database.environment)
        }
        for (index, result) in results.enumerated() {
            #expect(result.status == 0, "train \(index): \(result.stderr)")
        }
        #expect(try database.execute("SELECT count(*) FROM contexts WHERE type = 'pipeline'") == ["1"])
        #expect(try database.execute("SELECT count(*) FROM contexts WHERE type = 'run'") == ["8"])
        #expect(
            try database.execute("SELECT count(*) FROM contexts WHERE type = 'run' AND properties LIKE '%complete%'")
                == ["8"])
        // Six components a run, each COMPLETE (ran) or CACHED, none RUNNING or FAILED.
        #expect(
            try database.execute(
                "SELECT count(*) FROM associations JOIN contexts ON contexts.id = context_id WHERE type = 'run'")
                == ["48"])
        #expect(
            try database.execute("SELECT count(*) FROM executions WHERE state NOT IN ('COMPLETE', 'CACHED')") == ["0"])

        let again = try run(["train"], repos[3], database.environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("6 components, 0 ran, 6 cached"), "\(again.stdout)")
        let listed = try run(["runs"], repos[0], database.environment)
        #expect(listed.stdout.split(separator: "\n").count == 10, "\(listed.stdout)")
    }

    /// A fresh clone sharing the store but not the files: another job's execution is not taken
    /// as gone (its artifacts stay LIVE for that job), and the clone runs what it lacks.
    @Test func aCloneWithoutTheFilesRunsWhatItLacksAndLeavesTheOtherJobsCacheAlone() throws {
        let database = try PostgresTestDatabase()
        let first = try TaxiProject.make()
        #expect(try run(["train"], first, database.environment).status == 0)
        let second = try TaxiProject.make()
        let trained = try run(["train"], second, database.environment)
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stdout.contains("are in another checkout sharing the store"), "\(trained.stdout)")
        #expect(try database.execute("SELECT count(*) FROM artifacts WHERE state = 'DELETED'") == ["0"])
        let back = try run(["train"], first, database.environment)
        #expect(back.stdout.contains("6 components, 0 ran, 6 cached"), "\(back.stdout)")
    }

    @Test func storeInMlopsYamlIsUsedWithThePasswordFromPGPASSWORD() throws {
        let database = try PostgresTestDatabase()
        let repo = try TaxiProject.make()
        let address = database.address
        try TaxiProject.edit(repo) {
            $0
                + "store: postgresql://\(address.user)@\(address.host):\(address.port)/\(database.name)?sslmode=disable\n"
        }
        _ = try repo.commitAll("store on the server")
        let trained = try run(["train"], repo, ["PGPASSWORD": address.password ?? ""])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(!repo.directory.exists(".mlops/store.sqlite"))
        #expect(try database.execute("SELECT count(*) FROM contexts WHERE type = 'run'") == ["1"])
        // A password written into mlops.yaml is warned about.
        try TaxiProject.edit(repo) {
            $0.replacingOccurrences(
                of: "store: postgresql://\(address.user)@", with: "store: postgresql://\(address.user):pw@")
        }
        let checked = try run(["config", "check"], repo, [:])
        #expect(checked.stdout.contains("PGPASSWORD") || checked.stderr.contains("PGPASSWORD"), "\(checked.stdout)")
        #expect(!checked.stdout.contains(":pw@") && !checked.stderr.contains(":pw@"))
        #expect(checked.stdout.contains("store: postgresql://\(address.user):***@"), "\(checked.stdout)")
        let json = try run(["config", "check", "--json"], repo, [:])
        #expect(json.stdout.contains(":***@") && !json.stdout.contains(":pw@"), "\(json.stdout)")
        // A half-edited mlops.yaml does not hide the store from the questions.
        try TaxiProject.edit(repo) { $0.replacingOccurrences(of: ":pw@", with: "@") + "schedule: nightly\n" }
        #expect(try run(["config", "check"], repo, [:]).status == 78)
        let runs = try run(["runs"], repo, ["PGPASSWORD": address.password ?? ""])
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(runs.stdout.contains("complete"), "\(runs.stdout)")
    }

    @Test func wrongStoreSettingsFailWithTheirExitStatusAndNeverShowThePassword() throws {
        let database = try PostgresTestDatabase()
        let repo = try TaxiProject.make()
        let address = database.address
        let cases: [(String, Int32, String)] = [
            ("postgresql://u:hunter2@127.0.0.1/db?sslmode=sometimes", 78, "MLOPS_STORE: not a usable PostgreSQL URI"),
            ("mysql://u:hunter2@127.0.0.1/db", 78, "MLOPS_STORE: only postgresql://"),
            (database.server.url(database: database.name, password: "hunter2"), 78, "28P01"),
            (database.server.url(database: "no_such_db", user: address.user, password: address.password), 78, "3D000"),
            ("postgresql://u:hunter2@127.0.0.1:\(try freePort())/db?sslmode=disable", 74, "cannot be reached"),
        ]
        for (url, status, text) in cases {
            let result = try run(["train"], repo, ["MLOPS_STORE": url])
            #expect(result.status == status, "\(url): \(result.stderr)")
            #expect(result.stderr.contains(text), "\(result.stderr)")
            #expect(!result.stderr.contains("hunter2") && !result.stdout.contains("hunter2"))
            #expect(!result.stderr.contains(address.password ?? "-"))
            #expect(!repo.directory.exists(".mlops/store.sqlite"))
        }
        let json = try run(["train", "--json"], repo, ["MLOPS_STORE": cases[2].0])
        #expect(json.status == 78)
        #expect(!json.stdout.contains("hunter2") && !json.stderr.contains("hunter2"))
    }
}
