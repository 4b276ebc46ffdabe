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

    /// The templates' schemas are TFX's curated ones, byte for byte.
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

    /// `domain:` may name any top-level domain, as TFMD allows (the hand-written parser this
    /// replaced knew only string domains); float bounds read back as the decimals written.
    @Test func namedIntAndFloatDomainsAndFloatBounds() throws {
        let text = """
            feature { name: "hour" type: INT domain: "hours" }
            feature { name: "tip" type: FLOAT domain: "ratio" }
            feature { name: "fare" type: FLOAT float_domain { min: 0.1 max: 1e3 } }
            int_domain { name: "hours" min: 0 max: 23 }
            float_domain { name: "ratio" min: 0 max: 1 disallow_nan: true }
            """
        let schema = try Schema.parse(text, file: "s.pbtxt")
        #expect(schema.feature("hour")?.intDomain == Schema.IntDomain(min: 0, max: 23))
        #expect(
            schema.feature("tip")?.floatDomain
                == Schema.FloatDomain(min: 0, max: 1, disallowNaN: true, disallowInf: false))
        #expect(schema.feature("fare")?.floatDomain?.min == 0.1, "a float field, read back as the decimal 0.1")
        #expect(schema.feature("fare")?.floatDomain?.max == 1000)
    }

    /// Fields TFX writes that mlops does not use (tensor representations, annotations with Any,
    /// lifecycle stages, sparse and weighted features) parse and survive a round trip.
    @Test func fieldsMlopsDoesNotUseSurviveARoundTrip() throws {
        let text = """
            feature { name: "x" type: INT lifecycle_stage: BETA annotation { tag: "owner:ml" } }
            feature { name: "idx" type: INT }
            feature { name: "val" type: FLOAT }
            sparse_feature { name: "sp" index_feature { name: "idx" } value_feature { name: "val" } }
            weighted_feature { name: "w" feature { step: "x" } weight_feature { step: "val" } }
            tensor_representation_group {
              key: ""
              value { tensor_representation { key: "x" value { dense_tensor { column_name: "x" shape { dim { size: 1 } } } } } }
            }
            represent_variable_length_as_ragged: true
            """
        let schema = try Schema.parse(text, file: "s.pbtxt")
        #expect(schema.proto.sparseFeature.first?.indexFeature.first?.name == "idx")
        #expect(schema.proto.tensorRepresentationGroup[""]?.tensorRepresentation["x"]?.denseTensor.columnName == "x")
        #expect(schema.proto.feature.first?.lifecycleStage == .beta)
        let again = try Schema.parse(schema.text(), file: "again")
        #expect(again.proto == schema.proto)
    }

    func problem(_ text: String) -> TextFormatError? {
        do {
            _ = try Schema.parse(text, file: "s.pbtxt")
            return nil
        } catch { return error }
    }

    /// A field TFMD's Schema does not have is an error naming it where it is, as in TFDV (whose
    /// protobuf text parser refuses it too), with the field it most likely meant.
    @Test func fieldsTFMDDoesNotHaveAreErrorsNamingTheLine() {
        let inner = problem("feature {\n  name: \"x\"\n  type: INT\n  presense { min_count: 1 }\n}\n")
        #expect(
            inner?.description
                == "s.pbtxt:4:3: 'presense' is not a field of TFMD's Feature\n  hint: did you mean 'presence'?")
        #expect(inner?.exitStatus == .dataError)
        let top = problem("feature { name: \"x\" type: INT }\n\nteam_owner: 'ml-platform'\n")
        #expect(top?.line == 3 && top?.column == 1)
        #expect(top?.message == "'team_owner' is not a field of TFMD's Schema")
        let deep = problem("feature {\n  name: \"x\"\n  value_count {\n    min: 1\n    maxi: 2\n  }\n}\n")
        #expect(deep?.line == 5 && deep?.column == 5)
        #expect(deep?.message == "'maxi' is not a field of TFMD's ValueCount")
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        let unclosed = problem("feature {\n  name: \"x\"\n  type: INT\n")
        #expect(unclosed?.message == "the '{' opened here is not closed before the end of the file")
        #expect(unclosed?.line == 1 && unclosed?.column == 9)
        let string = problem("feature {\n  name: \"x\n}\n")
        #expect(string?.line == 2 && string?.column == 9)
        #expect(string?.message == "a string opened here is not closed on its line")
        let colon = problem("feature {\n  name \"x\"\n}\n")
        #expect(colon?.description == "s.pbtxt:2:3: 'name' cannot be read as part of TFMD's Feature")
        #expect(colon?.exitStatus == .dataError)
        let stray = problem("feature { name: \"x\" }\n}\n")
        #expect(stray?.line == 2 && stray?.message == "expected a field name, found '}'")
        let oneof = problem("feature {\n  name: \"x\"\n  domain: \"d\"\n  int_domain { min: 1 }\n}\n")
        #expect(oneof?.line == 1 && oneof?.message == "'feature' sets two fields of one oneof in TFMD's Schema")
    }

    @Test func truncatedFilesAndHugeNumbersAreErrorsNotCrashes() throws {
        for text in ["default_environment: [", "feature { name: \"x\" value_count: [1,", "feature { name:", "feature"] {
            #expect(problem(text) != nil, "\(text)")
        }
        let schema = try Schema.parse(
            "feature { name: \"x\" type: INT int_domain { max: 9223372036854775807 } }", file: "s.pbtxt")
        #expect(schema.feature("x")?.intDomain?.max == Int64.max)
        let huge = problem("feature {\n  name: \"x\"\n  value_count { max: 1e30 }\n}\n")
        #expect(huge?.line == 3 && huge?.column == 17)
        #expect(huge?.message == "'max' has a value of the wrong type or out of range")
        let overflow = problem("feature { name: \"x\" int_domain { max: 9223372036854775808 } }")
        #expect(overflow?.message == "'max' has a value of the wrong type or out of range")
    }

    @Test func featuresWithoutNamesOrTwiceAreErrors() {
        #expect(problem("feature { type: INT }")?.message == "a feature has no name")
        let twice = problem("feature { name: \"x\" }\nfeature { name: \"x\" }\n")
        #expect(twice?.line == 2 && twice?.message == "feature 'x' is defined twice")
    }

    @Test func unknownTypeAndMissingDomain() {
        let type = problem("feature {\n  name: \"x\"\n  type: FLOT\n}\n")
        #expect(type?.description == "s.pbtxt:3:3: 'FLOT' is not a value of 'type'\n  hint: did you mean 'FLOAT'?")
        let domain = problem("feature {\n  name: \"x\"\n  type: BYTES\n  domain: \"nope\"\n}\n")
        #expect(
            domain?.message
                == "feature 'x' names domain 'nope', which no top-level string_domain, int_domain or float_domain defines"
        )
        #expect(domain?.line == 1)
    }
}

@Suite struct SchemaInferenceTests {
    @Test func inferredFromASmallTable() throws {
        let t = try table("color,size,label\nred,1,0\nblue,,1\nred,3,0\n")
        let proto = SchemaInference.infer(
            from: t, statistics: StatisticsGenerator.statistics(of: t, name: "t"), label: "label")
        let schema = try Schema.parse(Schema.text(proto), file: "inferred")
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
            Schema.text(
                SchemaInference.infer(from: t, statistics: StatisticsGenerator.statistics(of: t, name: "taxi"))),
            file: "x")
        let curated = try Schema.load(path: templateSchema("taxi"))
        for feature in curated.features {
            #expect(inferred.feature(feature.name)?.type == feature.type, "\(feature.name)")
        }
        #expect(inferred.feature("payment_type")?.stringDomain?.contains("Cash") == true)
        #expect(inferred.feature("company")?.stringDomain?.count == 61)
    }
}
