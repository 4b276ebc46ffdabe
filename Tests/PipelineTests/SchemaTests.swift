import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

func templateSchema(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("templates/\(name)/schema/schema.pbtxt").path
}

@Suite struct SchemaTests {
    @Test func theCuratedTaxiSchemaLoads() throws {
        let schema = try Schema.load(path: templateSchema("taxi"))
        #expect(schema.features.count == 18)
        let company = try #require(schema.feature("company"))
        #expect(company.type == .bytes)
        #expect((company.stringDomain?.count ?? 0) > 10, "the named top-level domain 'company' is resolved")
        let payment = try #require(schema.feature("payment_type"))
        #expect(payment.presenceMinFraction == 1.0)
        #expect(payment.stringDomain?.contains("Cash") == true)
        #expect(schema.feature("fare")?.type == .float)
        #expect(schema.feature("trip_start_hour")?.type == .int)
        #expect(schema.unknownFields.isEmpty)
    }

    @Test func theCuratedPenguinsSchemaLoads() throws {
        let schema = try Schema.load(path: templateSchema("penguins"))
        #expect(
            schema.features.map(\.name) == [
                "body_mass_g", "culmen_depth_mm", "culmen_length_mm", "flipper_length_mm", "species",
            ])
        #expect(schema.feature("species")?.type == .int)
        #expect(schema.feature("body_mass_g")?.presenceMinFraction == 1.0)
    }

    @Test(arguments: ["taxi", "penguins"])
    func writtenSchemasLoadBackIdentically(name: String) throws {
        let original = try Schema.load(path: templateSchema(name))
        let written = original.text()
        let reloaded = try Schema.parse(written, file: "written.pbtxt")
        #expect(reloaded.proto == original.proto)
        #expect(reloaded.features.map(\.name) == original.features.map(\.name))
        #expect(reloaded.text() == written, "writing is stable")
    }

    @Test func theWireFormatExampleWithDomainsEnvironmentsAndComparators() throws {
        let text = """
            default_environment: "TRAINING"
            default_environment: "SERVING"
            feature {
              name: "plan"
              type: BYTES
              presence { min_fraction: 1.0 min_count: 1 }
              shape { dim { size: 1 } }
              string_domain { value: "free" value: "pro" value: "team" }
              drift_comparator { infinity_norm { threshold: 0.05 } }
            }
            feature {
              name: "tenure"
              type: FLOAT
              value_count { min: 1 max: 1 }
              float_domain { min: 0 disallow_nan: true }
              skew_comparator { jensen_shannon_divergence { threshold: 0.1 source { type: QUANTILES } } }
            }
            feature { name: "label" type: INT not_in_environment: "SERVING" }
            dataset_constraints { min_examples_count: 1000 }
            """
        let schema = try Schema.parse(text, file: "s.pbtxt")
        #expect(schema.defaultEnvironments == ["TRAINING", "SERVING"])
        #expect(schema.feature("plan")?.stringDomain == ["free", "pro", "team"])
        #expect(schema.feature("plan")?.driftLInfinity == 0.05)
        #expect(
            schema.feature("tenure")?.floatDomain
                == Schema.FloatDomain(min: 0, max: nil, disallowNaN: true, disallowInf: false))
        #expect(schema.feature("tenure")?.skewJensenShannon == 0.1)
        #expect(schema.features(in: "SERVING").map(\.name) == ["plan", "tenure"])
        #expect(schema.features(in: "TRAINING").map(\.name) == ["plan", "tenure", "label"])
        #expect(try Schema.parse(schema.text(), file: "again").proto == schema.proto)
    }

    @Test func fieldsMlopsDoesNotKnowAreKeptAndNamed() throws {
        let text = "feature {\n  name: \"x\"\n  type: INT\n  my_note: \"keep me\"\n}\nteam_owner: 'ml-platform'\n"
        let schema = try Schema.parse(text, file: "s.pbtxt")
        #expect(schema.unknownFields == ["team_owner (line 6)", "feature 'x'.my_note (line 4)"])
        #expect(schema.text().contains("my_note: \"keep me\""))
        #expect(schema.text().contains("team_owner: \"ml-platform\""))
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        func problem(_ text: String) -> TextProtoError? {
            do {
                _ = try Schema.parse(text, file: "s.pbtxt")
                return nil
            } catch { return error }
        }
        let unclosed = problem("feature {\n  name: \"x\"\n  type: INT\n")
        #expect(unclosed?.message == "expected '}' before the end of the file")
        #expect(unclosed?.line == 4)
        let string = problem("feature {\n  name: \"x\n}\n")
        #expect(string?.line == 2 && string?.column == 9)
        #expect(string?.message == "a string opened here is not closed on its line")
        let colon = problem("feature {\n  name \"x\"\n}\n")
        #expect(colon?.description == "s.pbtxt:2:8: expected ':' or '{' after 'name'")
        #expect(colon?.exitStatus == .dataError)
    }

    @Test func truncatedFilesAndHugeNumbersAreErrorsOrExactNotCrashes() throws {
        for text in ["default_environment: [", "feature { name: \"x\" value_count: [1,", "feature { name:"] {
            #expect(throws: TextProtoError.self) { _ = try Schema.parse(text, file: "s.pbtxt") }
        }
        let schema = try Schema.parse(
            "feature { name: \"x\" type: INT int_domain { max: 9223372036854775807 } value_count { max: 1e30 } }",
            file: "s.pbtxt")
        #expect(schema.feature("x")?.intDomain?.max == Int64.max)
        #expect(schema.feature("x")?.valueCountMax == nil, "1e30 is not a count")
    }

    @Test func unknownTypeAndMissingDomain() {
        do {
            _ = try Schema.parse("feature {\n  name: \"x\"\n  type: FLOT\n}\n", file: "s.pbtxt")
            Issue.record("must fail")
        } catch {
            #expect(
                error.description == "s.pbtxt:3:3: unknown type 'FLOT' for feature 'x'\n  hint: did you mean 'FLOAT'?")
        }
        do {
            _ = try Schema.parse("feature {\n  name: \"x\"\n  type: BYTES\n  domain: \"nope\"\n}\n", file: "s.pbtxt")
            Issue.record("must fail")
        } catch {
            #expect(error.message == "feature 'x' names domain 'nope', which no top-level string_domain defines")
            #expect(error.line == 4)
        }
    }
}

@Suite struct SchemaInferenceTests {
    @Test func inferredFromASmallTable() throws {
        let t = try table("color,size,label\nred,1,0\nblue,,1\nred,3,0\n")
        let proto = SchemaInference.infer(
            from: t, statistics: StatisticsGenerator.statistics(of: t, name: "t"), label: "label")
        let schema = try Schema.parse(proto.text(), file: "inferred")
        #expect(schema.feature("color")?.type == .bytes)
        #expect(schema.feature("color")?.stringDomain == ["blue", "red"])
        #expect(schema.feature("color")?.presenceMinFraction == 1.0)
        #expect(schema.feature("size")?.presenceMinFraction == nil, "size has a missing value")
        #expect(schema.feature("size")?.presenceMinCount == 1)
        #expect(schema.feature("size")?.valueCountMin == 1 && schema.feature("size")?.valueCountMax == 1)
        #expect(schema.defaultEnvironments == ["TRAINING", "SERVING"])
        #expect(schema.features(in: "SERVING").map(\.name) == ["color", "size"])
    }

    @Test func theTaxiSampleGivesTheCuratedTypesAndDomains() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        let t = try CSVReader.read(path: path)
        let inferred = try Schema.parse(
            SchemaInference.infer(from: t, statistics: StatisticsGenerator.statistics(of: t, name: "taxi")).text(),
            file: "x")
        let curated = try Schema.load(path: templateSchema("taxi"))
        for feature in curated.features {
            #expect(inferred.feature(feature.name)?.type == feature.type, "\(feature.name)")
        }
        #expect(inferred.feature("payment_type")?.stringDomain?.contains("Cash") == true)
        #expect(inferred.feature("company")?.stringDomain?.count == 61)
    }
}
