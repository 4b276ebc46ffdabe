import Foundation
import MLOpsTestSupport
import ProjectTestSupport
import S3Kit
import Testing

/// The remote artifact cache (`cache.remote`, `MLOPS_CACHE`) in S3 (moto's server with
/// signatures enforced): what one job computed, a fresh clone elsewhere pulls instead of
/// running; damaged or half-pushed entries are never used.
@Suite struct RemoteCacheCLITests {
    func run(_ arguments: [String], _ repo: TestRepository, _ environment: [String: String]) throws
        -> MLOpsProcess.Result
    {
        try MLOpsProcess.run(arguments, in: repo.directory.url, environment: environment)
    }

    /// The stage lines of a run: component → its reason line.
    func reasons(_ output: String) -> [String: String] {
        var reasons: [String: String] = [:]
        let lines = output.split(separator: "\n").map(String.init)
        for (index, line) in lines.enumerated() where index + 1 < lines.count {
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            if [
                "ImportSchemaGen", "ExampleGen", "StatisticsGen", "ExampleValidator", "Transform", "Trainer",
                "Evaluator", "InfraValidator",
            ].contains(name) {
                reasons[name] = lines[index + 1].trimmingCharacters(in: .whitespaces)
            }
        }
        return reasons
    }

    @Test func aFreshCloneElsewherePullsWhatAnotherJobComputed() throws {
        let bucket = try S3TestBucket()
        var env = bucket.environment()
        env["MLOPS_CACHE"] = "s3://\(bucket.name)/cache"
        let first = try TaxiProject.make()
        let trained = try run(["train"], first, env)
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(reasons(trained.stdout).values.allSatisfy { $0.hasPrefix("ran because") }, "\(trained.stdout)")
        let gated = try run(["gate"], first, env)
        #expect(gated.status == 0, "\(gated.stderr)")
        // Records are written last, one per executed component (6 by train, 2 more by the gate).
        let records = try bucket.keys("cache/").filter { $0.hasSuffix("/record.json") }
        #expect(records.count == 8, "\(records)")

        // Another runner: a fresh clone, nothing in .mlops, the same settings.
        let second = try TaxiProject.make()
        let pulled = try run(["gate"], second, env)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        // Each stage line says it was pulled.
        #expect(
            pulled.stdout.split(separator: "\n").filter { $0.contains(" pulled   ") }.count == 8, "\(pulled.stdout)")
        let pulledReasons = reasons(pulled.stdout)
        #expect(pulledReasons.count == 8, "\(pulled.stdout)")
        for (component, reason) in pulledReasons {
            #expect(
                reason.hasPrefix("pulled from the remote cache (s3://\(bucket.name)/cache): made by execution"),
                "\(component): \(reason)")
        }
        #expect(pulled.stdout.contains("blessed"))
        let explained = try run(["explain", "Trainer"], second, env)
        #expect(explained.stdout.contains("its outputs were pulled from the remote cache (s3://\(bucket.name)/cache)"))
        // The same model, byte for byte.
        let model = "model.json"
        let firstModel = try modelFile(first, model)
        let secondModel = try modelFile(second, model)
        #expect(try Data(contentsOf: firstModel) == Data(contentsOf: secondModel))

        // A second train there is a local no-op; --no-remote-cache in a third clone runs all.
        let again = try run(["train"], second, env)
        #expect(reasons(again.stdout).values.allSatisfy { $0.hasPrefix("cached: inputs unchanged") }, "\(again.stdout)")
        let third = try TaxiProject.make()
        let alone = try run(["train", "--no-remote-cache"], third, env)
        #expect(alone.status == 0 && reasons(alone.stdout).values.allSatisfy { $0.hasPrefix("ran because") })
        // Nothing pushed over the existing records.
        #expect(try bucket.keys("cache/").filter { $0.hasSuffix("/record.json") }.count == 8)
    }

    func modelFile(_ repo: TestRepository, _ name: String) throws -> URL {
        let artifacts = repo.directory.url.appendingPathComponent(".mlops/artifacts/Trainer")
        let folder = try #require(
            try FileManager.default.contentsOfDirectory(atPath: artifacts.path).first { $0.hasPrefix("model-") })
        return artifacts.appendingPathComponent(folder).appendingPathComponent(name)
    }

    /// An output file changed in the bucket does not match its record: that component runs
    /// here (with a warning naming the object) and the rest are still pulled.
    @Test func anEntryChangedInTheBucketIsNotUsed() throws {
        let bucket = try S3TestBucket()
        var env = bucket.environment()
        env["MLOPS_CACHE"] = "s3://\(bucket.name)/cache"
        let first = try TaxiProject.make()
        #expect(try run(["train"], first, env).status == 0)
        let record = try #require(
            try bucket.keys("cache/").first { $0.contains("/model/") && $0.hasSuffix("model.json") })
        try bucket.client.put(bucket: bucket.name, key: record, data: Data("{\"tampered\": true}".utf8))
        let second = try TaxiProject.make()
        let result = try run(["train"], second, env)
        #expect(result.status == 0, "\(result.stderr)")
        let reasons = reasons(result.stdout)
        #expect(reasons["Trainer"] == "ran because its remote cache entry could not be pulled", "\(result.stdout)")
        #expect(reasons["Transform"]?.hasPrefix("pulled from the remote cache") == true)
        #expect(result.stderr.contains("does not match its record"), "\(result.stderr)")
    }

    /// The cache server dying during a push: the job's own run succeeds with a warning, no
    /// record is left for what was cut off, and the next clone runs what is absent.
    @Test func aPushCutOffLeavesTheKeyAbsent() throws {
        let bucket = try S3TestBucket()
        let proxy = try FaultProxy(bucket.server, .dieDuringUpload, count: 200_000)
        var env = bucket.environment()
        env["MLOPS_CACHE"] = "s3://\(bucket.name)/cache"
        let first = try TaxiProject.make()
        let cut = try run(["train"], first, env.merging(["AWS_ENDPOINT_URL": proxy.endpoint.absoluteString]) { $1 })
        #expect(cut.status == 0, "\(cut.stderr)")
        #expect(cut.stderr.contains("warning: not pushed to the remote cache"), "\(cut.stderr)")
        #expect(proxy.requests().contains { $0.hasSuffix("killed mid-upload") })
        // Every record in the bucket names files that are all there.
        let keys = Set(try bucket.keys("cache/"))
        for key in keys where key.hasSuffix("/record.json") {
            let data = try #require(try bucket.client.get(bucket: bucket.name, key: key))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let outputs = try #require(json["outputs"] as? [String: [String: Any]])
            let push = try #require(json["push"] as? String)
            let base = String(key.dropLast("record.json".count)) + push + "/"
            for (name, output) in outputs {
                for file in output["files"] as? [[String: Any]] ?? [] {
                    #expect(keys.contains(base + name + "/" + (file["path"] as? String ?? "")))
                }
            }
        }
        let second = try TaxiProject.make()
        let next = try run(["train"], second, env)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(reasons(next.stdout)["ExampleGen"]?.hasPrefix("ran because") == true, "\(next.stdout)")
    }

    /// Bad settings: a malformed cache.remote is a configuration error at its line; wrong
    /// credentials stop the run before anything runs, naming the setting, exit 78.
    @Test func badCacheSettingsAreConfigurationErrors() throws {
        let bucket = try S3TestBucket()
        let repo = try TaxiProject.make()
        try TaxiProject.edit(repo) { $0 + "cache:\n  remote: s3://Not_A_Bucket/x\n" }
        let check = try run(["config", "check"], repo, [:])
        #expect(check.status == 78 && check.stderr.contains("cache.remote"), "\(check.stderr)")
        #expect(check.stderr.contains("'Not_A_Bucket' is not a bucket name"))
        try TaxiProject.edit(repo) {
            $0.replacingOccurrences(of: "s3://Not_A_Bucket/x", with: "s3://\(bucket.name)/cache")
        }
        var env = bucket.environment()
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let refused = try run(["train"], repo, env)
        #expect(refused.status == 78, "\(refused.stdout)\n\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "the remote cache (cache.remote = s3://\(bucket.name)/cache): S3 refused"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-the-secret"))
        // --no-remote-cache does not even read the cache's settings (a fork's pull request
        // has no credentials).
        let alone = try run(["train", "--no-remote-cache"], repo, env)
        #expect(alone.status == 0, "\(alone.stderr)")
        // MLOPS_CACHE= (empty) turns it off.
        env["MLOPS_CACHE"] = ""
        #expect(try run(["train"], repo, env).status == 0)
    }
}
