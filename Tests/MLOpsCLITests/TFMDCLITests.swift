import Foundation
import MLOpsTestSupport
import Testing

/// mlops' statistics, schemas and anomalies read by the PyPI `tensorflow-metadata` package's own
/// classes (Tests/Tools/tfmd_check.py), compared field by field with mlops' own numbers.
@Suite struct TFMDCLITests {
    static let tool = PythonTool.wireTools

    /// The message in `file` as tensorflow-metadata reads it (proto field names).
    func read(_ kind: String, _ encoding: String, _ file: URL) throws -> [String: Any] {
        let result = try Self.tool.run("tfmd_check.py", [kind, encoding, file.path])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// A number as protobuf's JSON mapping writes it: 64-bit integers are strings, NaN is "NaN".
    func number(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: return number.doubleValue
        case let text as String: return text == "NaN" ? .nan : Double(text)
        case nil: return 0  // proto3 leaves zeros out
        default: return nil
        }
    }

    static let csv = """
        kind,fare,trips,note
        a,1.5,3,x
        b,,4,y
        a,NaN,,x
        c,inf,5,
        a,0,0,zz
        b,2.25,7,x

        """

    @Test func statisticsAreTFMDsDatasetFeatureStatisticsListFieldByField() throws {
        let dir = try TemporaryDirectory()
        let data = try dir.write("data.csv", Self.csv)
        let own = try MLOpsProcess.run(["data", "stats", data.path, "--json"])
        #expect(own.status == 0, "\(own.stderr)")
        let mine = try #require((try json(own.stdout)["result"] as? [String: Any])?["datasets"] as? [[String: Any]])
        let binaryFile = dir.url.appendingPathComponent("stats.pb")
        let binary = try MLOpsProcess.run([
            "data", "stats", data.path, "--format", "tfmd-binary", "-o", binaryFile.path,
        ])
        #expect(binary.status == 0, "\(binary.stderr)")
        #expect(binary.stdout.isEmpty)
        let tfmdJSON = try MLOpsProcess.run(["data", "stats", data.path, "--format", "tfmd-json"])
        #expect(tfmdJSON.status == 0, "\(tfmdJSON.stderr)")
        let jsonFile = try dir.write("stats.json", tfmdJSON.stdout)
        let fromBinary = try read("statistics", "binary", binaryFile)
        let fromJSON = try read("statistics", "json", jsonFile)
        #expect(NSDictionary(dictionary: fromBinary).isEqual(to: fromJSON), "binary and JSON say the same")

        let datasets = try #require(fromBinary["datasets"] as? [[String: Any]])
        #expect(datasets.count == 1 && mine.count == 1)
        let dataset = try #require(datasets.first)
        let expected = try #require(mine.first)
        #expect(number(dataset["num_examples"]) == 6)
        #expect(dataset["name"] as? String == data.path)
        let features = try #require(dataset["features"] as? [[String: Any]])
        let ownFeatures = try #require(expected["features"] as? [[String: Any]])
        #expect(features.count == ownFeatures.count)
        for (feature, own) in zip(features, ownFeatures) {
            let name = try #require(own["name"] as? String)
            #expect((feature["path"] as? [String: Any])?["step"] as? [String] == [name])
            let stats = try #require((feature["num_stats"] ?? feature["string_stats"]) as? [String: Any])
            let common = try #require(stats["common_stats"] as? [String: Any])
            #expect(number(common["num_non_missing"]) == number(own["num_non_missing"]), "\(name)")
            #expect(number(common["num_missing"]) == number(own["num_missing"]), "\(name)")
            if let numeric = own["num_stats"] as? [String: Any] {
                #expect(feature["type"] as? String == (own["type"] as? String == "INT" ? nil : "FLOAT"), "INT is 0")
                for key in ["mean", "std_dev", "min", "median", "max", "num_zeros"] {
                    #expect(number(stats[key]) == number(numeric[key]), "\(name).\(key)")
                }
                let histograms = try #require(stats["histograms"] as? [[String: Any]])
                let ownHistograms = try #require(numeric["histograms"] as? [[String: Any]])
                #expect(histograms.map { $0["type"] as? String ?? "STANDARD" } == ["STANDARD", "QUANTILES"])
                for (histogram, ownHistogram) in zip(histograms, ownHistograms) {
                    #expect(number(histogram["num_nan"]) == number(numeric["num_nan"]), "\(name) NaN count")
                    let buckets = try #require(histogram["buckets"] as? [[String: Any]])
                    let ownBuckets = try #require(ownHistogram["buckets"] as? [[String: Any]])
                    #expect(buckets.count == ownBuckets.count)
                    for (bucket, ownBucket) in zip(buckets, ownBuckets) {
                        for key in ["low_value", "high_value", "sample_count"] {
                            #expect(number(bucket[key]) == number(ownBucket[key]), "\(name) bucket \(key)")
                        }
                    }
                }
            } else {
                let strings = try #require(own["string_stats"] as? [String: Any])
                #expect(feature["type"] as? String == "STRING")
                #expect(number(stats["unique"]) == number(strings["unique"]))
                let average = try #require(number(strings["avg_length"]))
                #expect(abs((number(stats["avg_length"]) ?? 0) - average) < 1e-6, "a float in TFMD")
                let top = try #require(stats["top_values"] as? [[String: Any]])
                let ownTop = try #require(strings["top_values"] as? [[String: Any]])
                #expect(top.map { $0["value"] as? String } == ownTop.map { $0["value"] as? String })
                #expect(top.map { number($0["frequency"]) } == ownTop.map { number($0["frequency"]) })
                let ranks = try #require((stats["rank_histogram"] as? [String: Any])?["buckets"] as? [[String: Any]])
                #expect(ranks.map { $0["label"] as? String } == ownTop.map { $0["value"] as? String })
            }
        }
        let fare = try #require(features.first { ($0["path"] as? [String: Any])?["step"] as? [String] == ["fare"] })
        #expect(
            ((fare["custom_stats"] as? [[String: Any]])?.first)?["name"] as? String == "num_infinite",
            "TFMD has no field for infinities")
    }

    @Test func inferredSchemasAndAnomaliesAreTFMDMessages() throws {
        let dir = try TemporaryDirectory()
        let train = try dir.write("train.csv", "kind,size,label\na,1,0\nb,2,1\na,3,0\nb,4,1\n")
        let schemaFile = dir.url.appendingPathComponent("schema.pbtxt")
        let inferred = try MLOpsProcess.run(["data", "schema", train.path, "--label", "label", "-o", schemaFile.path])
        #expect(inferred.status == 0, "\(inferred.stderr)")
        let schema = try read("schema", "text", schemaFile)
        let features = try #require(schema["feature"] as? [[String: Any]])
        #expect(features.map { $0["name"] as? String } == ["kind", "size", "label"])
        #expect(features.map { $0["type"] as? String } == ["BYTES", "INT", "INT"])
        #expect(features.first?["domain"] as? String == "kind")
        #expect((schema["string_domain"] as? [[String: Any]])?.first?["value"] as? [String] == ["a", "b"])
        #expect(features.last?["not_in_environment"] as? [String] == ["SERVING"])
        #expect(schema["default_environment"] as? [String] == ["TRAINING", "SERVING"])

        // A drift threshold on `kind`, so the anomalies carry a DriftSkewInfo too.
        var text = try String(contentsOf: schemaFile, encoding: .utf8)
        let feature = try #require(text.range(of: "name: \"kind\"\n"))
        text.insert(contentsOf: "  drift_comparator { infinity_norm { threshold: 0.01 } }\n", at: feature.upperBound)
        try Data(text.utf8).write(to: schemaFile)
        let bad = try dir.write("bad.csv", "kind,size,label,extra\na,1,0,1\nc,2,1,2\nd,,0,3\n")
        let anomaliesFile = dir.url.appendingPathComponent("anomalies.pb")
        let validated = try MLOpsProcess.run([
            "data", "validate", bad.path, "--schema", schemaFile.path, "--previous", train.path,
            "--format", "tfmd-binary", "-o", anomaliesFile.path,
        ])
        #expect(validated.status == 1, "ERROR anomalies still fail the command: \(validated.stderr)")
        let own = try MLOpsProcess.run([
            "data", "validate", bad.path, "--schema", schemaFile.path, "--previous", train.path, "--json",
        ])
        let ownAnomalies = try #require(
            (try json(own.stdout)["result"] as? [String: Any])?["anomalies"] as? [String: Any])
        let anomalies = try read("anomalies", "binary", anomaliesFile)
        let info = try #require(anomalies["anomaly_info"] as? [String: [String: Any]])
        let ownInfo = try #require(ownAnomalies["anomaly_info"] as? [String: [String: Any]])
        #expect(Set(info.keys) == Set(ownInfo.keys))
        #expect(Set(info.keys).isSuperset(of: ["kind", "size", "extra"]))
        for (name, feature) in info {
            let reasons = try #require(feature["reason"] as? [[String: Any]])
            let ownReasons = try #require(ownInfo[name]?["reason"] as? [[String: Any]])
            #expect(reasons.map { $0["type"] as? String } == ownReasons.map { $0["type"] as? String }, "\(name)")
            #expect(reasons.map { $0["description"] as? String } == ownReasons.map { $0["description"] as? String })
            #expect(feature["severity"] as? String == "ERROR")
            #expect((feature["path"] as? [String: Any])?["step"] as? [String] == [name])
        }
        #expect(
            (info["kind"]?["reason"] as? [[String: Any]])?.first?["type"] as? String
                == "ENUM_TYPE_UNEXPECTED_STRING_VALUES")
        #expect(
            ((anomalies["baseline"] as? [String: Any])?["feature"] as? [[String: Any]])?.count == 3,
            "the schema is the baseline, as TFDV sets it")
        let ownMeasurement = try #require((ownAnomalies["drift_skew_info"] as? [[String: Any]])?.first)
        let driftSkew = try #require((anomalies["drift_skew_info"] as? [[String: Any]])?.first)
        #expect((driftSkew["path"] as? [String: Any])?["step"] as? [String] == ["kind"])
        let measurement = try #require((driftSkew["drift_measurements"] as? [[String: Any]])?.first)
        #expect(measurement["type"] as? String == "L_INFTY")
        #expect(number(measurement["value"]) == number(ownMeasurement["value"]))
        #expect(number(measurement["threshold"]) == 0.01)
        #expect(
            (info["kind"]?["reason"] as? [[String: Any]])?.contains {
                $0["type"] as? String == "COMPARATOR_L_INFTY_HIGH"
            } == true)

        let asJSON = try MLOpsProcess.run([
            "data", "validate", bad.path, "--schema", schemaFile.path, "--format", "tfmd-json",
        ])
        #expect(asJSON.status == 1)
        let jsonFile = try dir.write("anomalies.json", asJSON.stdout)
        #expect((try read("anomalies", "json", jsonFile)["anomaly_info"] as? [String: Any])?.count == info.count)
    }

    /// StatisticsGen and ExampleValidator leave TFX's files beside their JSON, one per split.
    @Test func thePipelinesArtifactsHoldTFXsFeatureStatsAndSchemaDiff() throws {
        let repo = try TestRepository()
        let initialised = try MLOpsProcess.run(["init", repo.directory.url.path])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        _ = try repo.commitAll("taxi project")
        let trained = try MLOpsProcess.run(["train"], in: repo.directory.url)
        #expect(trained.status == 0, "\(trained.stderr)")
        var statistics: [URL] = []
        var anomalies: [URL] = []
        let walker = FileManager.default.enumerator(
            at: repo.directory.url.appendingPathComponent(".mlops"), includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            if url.lastPathComponent == "FeatureStats.pb" { statistics.append(url) }
            if url.lastPathComponent == "SchemaDiff.pb" { anomalies.append(url) }
        }
        #expect(
            statistics.map { $0.deletingLastPathComponent().lastPathComponent }.sorted() == [
                "Split-eval", "Split-test", "Split-train",
            ])
        #expect(anomalies.count == 3)
        for file in statistics {
            let split = String(file.deletingLastPathComponent().lastPathComponent.dropFirst("Split-".count))
            let own = try json(
                String(
                    contentsOf: file.deletingLastPathComponent().deletingLastPathComponent()
                        .appendingPathComponent("statistics.json"), encoding: .utf8))
            let ownDataset = try #require(
                (own["datasets"] as? [[String: Any]])?.first { $0["name"] as? String == split })
            let dataset = try #require((try read("statistics", "binary", file)["datasets"] as? [[String: Any]])?.first)
            #expect(dataset["name"] as? String == split)
            #expect(number(dataset["num_examples"]) == number(ownDataset["num_examples"]))
            #expect((dataset["features"] as? [Any])?.count == (ownDataset["features"] as? [Any])?.count)
        }
        for file in anomalies {
            let message = try read("anomalies", "binary", file)
            #expect(((message["baseline"] as? [String: Any])?["feature"] as? [Any])?.count == 18, "the curated schema")
        }
        let train = try #require(anomalies.first { $0.path.contains("Split-train") })
        let companies = try #require(
            (try read("anomalies", "binary", train)["anomaly_info"] as? [String: [String: Any]])?["company"])
        #expect(
            (companies["reason"] as? [[String: Any]])?.first?["type"] as? String
                == "ENUM_TYPE_UNEXPECTED_STRING_VALUES",
            "the curated schema's complaint the template's policy warns about")
    }

    /// The hand-written .proto files (compiled into Protos/descriptors.pb by scripts/protos.sh)
    /// say what the published definitions say: every message, field, number, type, oneof and
    /// enum value, against tensorflow-metadata's and tritonclient's own descriptors.
    @Test func theHandWrittenProtosMatchThePublishedOnes() throws {
        let descriptors = PythonTool.checkout.appendingPathComponent("Protos/descriptors.pb").path
        for (tool, kind) in [(PythonTool.wireTools, "tfmd"), (PythonTool.triton, "oip")] {
            let result = try tool.run("proto_check.py", [descriptors, kind])
            #expect(result.status == 0, "\(kind): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains(", 0 differences"), "\(result.stdout)")
        }
    }

    @Test func formatAndOutputMistakesAreUsageErrors() throws {
        let dir = try TemporaryDirectory()
        let data = try dir.write("data.csv", "a\n1\n")
        let both = try MLOpsProcess.run(["data", "stats", data.path, "--json", "--format", "tfmd-json"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("--json and --format tfmd-json cannot be used together"))
        let output = try MLOpsProcess.run(["data", "stats", data.path, "-o", dir.url.appendingPathComponent("x").path])
        #expect(output.status == 64)
        #expect(output.stderr.contains("--output needs --format tfmd-json or tfmd-binary"))
        let unknown = try MLOpsProcess.run(["data", "stats", data.path, "--format", "tfmd-yaml"])
        #expect(unknown.status == 64)
        let missing = dir.url.appendingPathComponent("no/such/folder/stats.pb")
        let nowhere = try MLOpsProcess.run(["data", "stats", data.path, "--format", "tfmd-binary", "-o", missing.path])
        #expect(nowhere.status == 66)
        // Malformed CSV: exit 65 naming the line, and no message file is left behind.
        let broken = try dir.write("broken.csv", "a,b\n1,2\n3\n")
        let brokenOutput = dir.url.appendingPathComponent("broken.pb")
        let failed = try MLOpsProcess.run([
            "data", "stats", broken.path, "--format", "tfmd-binary", "-o", brokenOutput.path,
        ])
        #expect(failed.status == 65)
        #expect(failed.stderr.contains("broken.csv:3"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: brokenOutput.path))
        #expect(nowhere.stderr.contains(missing.path))
        #expect(!FileManager.default.fileExists(atPath: missing.path))
    }
}
