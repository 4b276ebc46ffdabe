import Foundation
import Pipeline
import Tabular
import Testing

@Suite struct ExampleValidatorTests {
    let schemaText = """
        feature { name: "color" type: BYTES presence { min_fraction: 1.0 min_count: 1 } domain: "color" }
        feature { name: "count" type: INT int_domain { min: 0 max: 10 } }
        feature { name: "score" type: FLOAT float_domain { min: 0 max: 1 disallow_nan: true } }
        feature { name: "gone" type: INT presence { min_count: 1 } }
        feature { name: "label" type: INT not_in_environment: "SERVING" }
        string_domain { name: "color" value: "red" value: "blue" }
        default_environment: "TRAINING"
        default_environment: "SERVING"
        dataset_constraints { min_examples_count: 10 }
        """

    func check(_ csv: String, environment: String? = nil) throws -> Anomalies {
        let schema = try Schema.parse(schemaText, file: "s.pbtxt")
        var options = CSVOptions()
        for feature in schema.features where feature.type == .bytes { options.types[feature.name] = .bytes }
        let t = try table(csv, options)
        return ExampleValidator.validate(
            table: t, statistics: StatisticsGenerator.statistics(of: t, name: "t"), schema: schema,
            environment: environment)
    }

    func reasons(_ anomalies: Anomalies, _ feature: String) -> [String] {
        anomalies.features[feature]?.reasons.map(\.type) ?? []
    }

    @Test func everyKindOfAnomaly() throws {
        let anomalies = try check("color,count,score,label,extra\nred,3,0.5,1,x\ngreen,12,nan,0,y\n,-1,2.5,1,z\n")
        #expect(anomalies.hasErrors)
        #expect(
            reasons(anomalies, "color") == ["FEATURE_TYPE_LOW_FRACTION_PRESENT", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"])
        #expect(
            anomalies.features["color"]?.reasons.last?.description
                == "Examples contain values missing from the schema: green (1).")
        #expect(reasons(anomalies, "count") == ["INT_TYPE_SMALL_INT", "INT_TYPE_BIG_INT"])
        #expect(reasons(anomalies, "score") == ["FLOAT_TYPE_BIG_FLOAT", "FLOAT_TYPE_HAS_NAN"])
        #expect(reasons(anomalies, "gone") == ["SCHEMA_MISSING_COLUMN"])
        #expect(reasons(anomalies, "extra") == ["SCHEMA_NEW_COLUMN"])
        #expect(anomalies.dataset?.reasons.first?.type == "DATASET_LOW_NUM_EXAMPLES")
    }

    @Test func wrongTypes() throws {
        let anomalies = try check("color,count,score,gone,label\nred,1.5,x,1,1\n")
        #expect(reasons(anomalies, "count") == ["UNEXPECTED_DATA_TYPE"])
        #expect(anomalies.features["count"]?.reasons.first?.description == "Expected data of type: INT but got FLOAT.")
        #expect(reasons(anomalies, "score") == ["UNEXPECTED_DATA_TYPE"])
    }

    @Test func aColumnWithNoValueHasNoTypeToComplainAbout() throws {
        let rows = (0..<10).map { "\(["red", "blue"][$0 % 2]),,0.\($0),1,1" }.joined(separator: "\n")
        let anomalies = try check("color,count,score,gone,label\n" + rows + "\n")
        #expect(!reasons(anomalies, "count").contains("UNEXPECTED_DATA_TYPE"), "\(anomalies.features)")
    }

    @Test func servingDataNeedsNoLabelAndCleanDataHasNoAnomalies() throws {
        let rows = (0..<10).map { "\(["red", "blue"][$0 % 2]),\($0),0.\($0),1" }.joined(separator: "\n")
        let serving = try check("color,count,score,gone\n" + rows + "\n", environment: "SERVING")
        #expect(serving.isEmpty, "\(serving.features)")
        let training = try check("color,count,score,gone\n" + rows + "\n", environment: "TRAINING")
        #expect(reasons(training, "label") == ["SCHEMA_MISSING_COLUMN"])
    }
}
