import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@Suite struct TransformTests {
    static let templateRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("templates/taxi")

    func taxi() throws -> (config: MLOpsConfig, table: DataTable) {
        let config = try MLOpsConfig.load(
            from: Self.templateRoot.appendingPathComponent("mlops.yaml"), root: Self.templateRoot)
        var options = CSVOptions()
        options.types = ["payment_type": .bytes, "company": .bytes]
        let table = try CSVReader.read(
            path: Self.templateRoot.appendingPathComponent("data/data.csv").path, options: options)
        return (config, table)
    }

    @Test func theTaxiTransformFitsAndGivesTheSameBitsForOneRowAsForTheBatch() throws {
        let (config, table) = try taxi()
        let train = table.rows(Array(0..<10000))
        let eval = table.rows(Array(10000..<10600))
        let transform = try FittedTransform.fit(config.transform, label: config.trainer?.label, on: train)
        #expect(transform.label == "big_tipper")
        let names = transform.featureNames
        #expect(!names.contains("tips") && !names.contains("big_tipper") && !names.contains("trip_start_timestamp"))
        #expect(names.contains("fare") && names.contains("payment_type") && names.contains("company"))
        #expect(transform.inputs.first { $0.name == "tips" }?.trainingOnly == true)

        let batch = try transform.apply(to: eval)
        #expect(batch.features.count == 600 * names.count)
        let label = try #require(batch.label)
        #expect(label.allSatisfy { $0 == 0 || $0 == 1 || $0.isNaN })
        for row in 0..<600 {
            let single = try transform.apply(to: eval.rows([row]))
            let expected = batch.features[(row * names.count)..<((row + 1) * names.count)]
            #expect(single.features.map(\.bitPattern) == expected.map(\.bitPattern), "row \(row)")
        }

        // The fitted transform round-trips through its JSON and gives the same features.
        let data = try JSONEncoder().encode(transform)
        let decoded = try JSONDecoder().decode(FittedTransform.self, from: data)
        #expect(decoded == transform)
        #expect(try decoded.apply(to: eval).features.map(\.bitPattern) == batch.features.map(\.bitPattern))
    }

    @Test func aServedRowNeedsNoTrainingOnlyColumns() throws {
        let (config, table) = try taxi()
        let transform = try FittedTransform.fit(config.transform, label: "big_tipper", on: table.rows(Array(0..<5000)))
        let row = table.rows([42])
        let serving = DataTable(
            file: "request", columns: row.columns.filter { $0.name != "tips" }, rowCount: 1)
        let served = try transform.apply(to: serving)
        let trained = try transform.apply(to: row)
        #expect(served.features.map(\.bitPattern) == trained.features.map(\.bitPattern))
        #expect(served.label == nil || served.label?.allSatisfy(\.isNaN) == true)
        let missing = DataTable(
            file: "request", columns: row.columns.filter { $0.name != "fare" }, rowCount: 1)
        #expect(throws: TransformError.self) { try transform.apply(to: missing) }
    }

    @Test func analyzersAreFittedOnTheTrainSplitAndStepsAreExact() throws {
        let train = try table("x,word\n1,a\n2,b\n3,a\n,c\n10,a\n")
        var section = try MLOpsConfig.parse(
            yaml: minimal + """
                transform:
                  features:
                    x: [{fill_missing: median}, zscore]
                    word: [{vocabulary: {top_k: 1, oov_buckets: 2}}, one_hot]

                """, file: "mlops.yaml", root: nil
        ).transform
        let transform = try FittedTransform.fit(section, label: nil, on: train)
        // The median of 1, 2, 3, 10 (rank ⌊(4−1)/2⌋ = 1) is 2; then mean and std of 1,2,3,2,10.
        let xs = [1.0, 2, 3, 2, 10]
        let mean = xs.reduce(0, +) / 5
        let std = (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5).squareRoot()
        #expect(transform.features[0].steps == [.fillNumber(2), .zscore(mean: mean, std: std)])
        #expect(transform.featureNames == ["x", "word=a", "word=oov0", "word=oov1"])
        let applied = try transform.apply(to: try table("x,word\n,a\n4,zzz\n"))
        #expect(applied.features[0] == Float((2 - mean) / std))
        #expect(Array(applied.features[1...3]) == [1, 0, 0])
        #expect(applied.features[5...7].reduce(0, +) == 1)  // an unknown word lands in one OOV bucket

        section.features = OrderedPairs([
            ("x", [.vocabulary(topK: nil, oovBuckets: 1, minFrequency: 1, allowNumbers: false)])
        ])
        #expect(throws: TransformError(.vocabularyOnNumbers(feature: "x"))) {
            try FittedTransform.fit(section, label: nil, on: train)
        }
        // Allowed, the numbers are categories (ties in byte order); an unseen one is out of vocabulary.
        section.features = OrderedPairs([
            ("x", [.vocabulary(topK: nil, oovBuckets: 1, minFrequency: 1, allowNumbers: true), .oneHot])
        ])
        let codes = try FittedTransform.fit(section, label: nil, on: train)
        #expect(codes.featureNames.prefix(5) == ["x=1.0", "x=10.0", "x=2.0", "x=3.0", "x=oov0"])
        let coded = try codes.apply(to: try table("x,word\n10,a\n7,a\n"))
        let width = codes.featureNames.count
        #expect(Array(coded.features[0..<5]) == [0, 1, 0, 0, 0])
        #expect(Array(coded.features[width..<(width + 5)]) == [0, 0, 0, 0, 1])
        section.features = OrderedPairs([("word", [.zscore])])
        #expect(throws: TransformError(.textStep(feature: "word", step: "zscore"))) {
            try FittedTransform.fit(section, label: nil, on: train)
        }
    }

    @Test func aTextColumnGivesTheSameFeaturesByDistinctValueAsRowByRow() throws {
        // `word` is read dictionary-encoded (its steps run once per distinct value); `copy`,
        // derived from it, is a plain column of values (its steps run row by row).
        let steps = "[{fill_missing: {constant: b}}, {vocabulary: {top_k: 2, oov_buckets: 2}}, one_hot]"
        let section = try MLOpsConfig.parse(
            yaml: minimal + """
                transform:
                  derive:
                    copy: word
                  features:
                    word: \(steps)
                    copy: \(steps)

                """, file: "mlops.yaml", root: nil
        ).transform
        let fitted = try FittedTransform.fit(
            section, label: nil, on: try table("word\na\nb\n\na\nc\nd\na\n"))
        let applied = try fitted.apply(to: try table("word\nd\n\nzz\na\nc\nb\n"))
        let width = fitted.featureNames.count
        #expect(width == 8, "\(fitted.featureNames)")
        for row in 0..<6 {
            let features = applied.features[(row * width)..<((row + 1) * width)]
            #expect(Array(features.prefix(4)) == Array(features.suffix(4)), "row \(row)")
            #expect(features.prefix(4).reduce(0, +) == 1)
        }
    }

    @Test func aTextLabelIsIndexedInByteOrder() throws {
        let train = try table("x,species\n1,Gentoo\n2,Adelie\n3,Chinstrap\n4,Adelie\n")
        let section = try MLOpsConfig.parse(yaml: minimal, file: "mlops.yaml", root: nil).transform
        let transform = try FittedTransform.fit(section, label: "species", on: train)
        #expect(transform.labelValues == ["Adelie", "Chinstrap", "Gentoo"])
        #expect(transform.featureNames == ["x"])
        let applied = try transform.apply(to: try table("x,species\n5,Chinstrap\n6,Emperor\n7,\n"))
        let label = try #require(applied.label)
        #expect(label[0] == 1 && label[1].isNaN && label[2].isNaN)  // an unknown class is missing
    }

    @Test func stepsAreWrittenAsInMlopsYaml() throws {
        let steps: [FittedTransform.Step] = [
            .fillNumber(2), .fillText("1"), .zscore(mean: 1, std: 2), .scale(min: 0, max: 4), .log1p,
            .clip(min: nil, max: 3), .bucketize(boundaries: [1, 2]), .vocabulary(values: ["a"], oovBuckets: 1),
            .oneHot(size: 2),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(steps), as: UTF8.self)
        #expect(
            text
                == #"[{"fill_missing":2},{"fill_missing":{"text":"1"}},{"zscore":{"mean":1,"std":2}},"#
                + #"{"scale_to_0_1":{"max":4,"min":0}},"log1p",{"clip":{"max":3}},{"bucketize":{"boundaries":[1,2]}},"#
                + #"{"vocabulary":{"oov_buckets":1,"values":["a"]}},{"one_hot":{"size":2}}]"#)
        #expect(try JSONDecoder().decode([FittedTransform.Step].self, from: Data(text.utf8)) == steps)
    }

    @Test func badColumnsAndExpressionsAreNamed() throws {
        let train = try table("tips,fare,payment_type\n1,5,Cash\n")
        func failure(_ yaml: String, label: String? = nil) throws -> TransformError? {
            let section = try MLOpsConfig.parse(yaml: minimal + yaml, file: "mlops.yaml", root: nil).transform
            do {
                _ = try FittedTransform.fit(section, label: label, on: train)
                return nil
            } catch { return error }
        }
        let typo = try failure("transform:\n  features:\n    fares: [zscore]\n")
        #expect(typo?.message == "transform.features names 'fares', which is not a column of the data")
        #expect(typo?.hint == "did you mean 'fare'?")
        let typed = try failure("transform:\n  derive:\n    bad: payment_type * 2\n")
        #expect(typed?.message == "transform.derive.bad: column 1: '*' needs numbers, but payment_type is text")
        #expect(typed?.exitStatus == .configError)
        let label = try failure("transform:\n  derive:\n    y: tips > 0.2 * fare\n", label: "why")
        #expect(label?.message == "trainer.label names 'why', which is not a column of the data")
    }
}
