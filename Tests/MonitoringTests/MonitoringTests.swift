import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@testable import Monitoring

/// The prediction log reader, the distances against statistics and the label join, through
/// the library.
@Suite struct MonitoringTests {
    @Test func logTimesAreUTCMillisecondsAndBadOnesAreRefused() throws {
        #expect(PredictionLogReader.parseTime(Array("1970-01-01T00:00:00Z".utf8)) == 0)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for text in ["2026-12-07T02:11:10.123Z", "2000-02-29T23:59:59.999Z", "2100-03-01T00:00:00.000Z"] {
            let expected = try #require(formatter.date(from: text))
            #expect(PredictionLogReader.time(text) == expected, "\(text)")
        }
        #expect(
            PredictionLogReader.fileStart("predictions-20261207T021110Z-host-12-0.jsonl")
                == PredictionLogReader.time("2026-12-07T02:11:10Z"))
        for bad in ["2026-13-01T00:00:00Z", "2026-12-07T02:11:10", "yesterday", "2026-12-07T25:00:00Z", ""] {
            #expect(PredictionLogReader.time(bad) == nil, "\(bad)")
        }
        let window = TimeWindow(from: Date(timeIntervalSince1970: 3600), to: Date(timeIntervalSince1970: 7200))
        #expect(
            window.previous == TimeWindow(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 3600)))
        #expect(TimeWindow.format(Date(timeIntervalSince1970: 0.25)) == "1970-01-01T00:00:00.250Z")
    }

    /// A log line as `mlops serve` writes it.
    static func line(
        _ time: String, _ id: String, identity: String = "sha256:aa", features: String, predictions: String,
        rows: Int
    ) -> String {
        #"{"time":"\#(time)","request_id":"\#(id)","model":"m","version":"1.0.0","identity":"\#(identity)","rows":\#(rows),"features":{\#(features)},"predictions":{\#(predictions)}}"#
    }

    @Test func theReaderKeepsOneModelsWholeFilesInTheirWindowsAndCountsTheRest() throws {
        let temporary = try TemporaryDirectory()
        let folder = temporary.url
        let lines = [
            Self.line(
                "1970-01-01T00:00:10.000Z", "early", features: #""fare":[1.5,null],"company":["A","B"],"hour":[3,4]"#,
                predictions: #""probability":[0.2,0.9],"predicted_class":[0,1]"#, rows: 2),
            Self.line(
                "1970-01-01T00:01:10.000Z", "late", features: #""fare":["cheap"],"hour":[2.5]"#,
                predictions: #""probability":[0.4],"predicted_class":[0]"#, rows: 1),
            Self.line(
                "1970-01-01T00:01:20.000Z", "other", identity: "sha256:bb", features: #""fare":[1]"#,
                predictions: #""probability":[0.4]"#, rows: 1),
            Self.line(
                "1970-01-01T00:01:30.000Z", "short", features: #""fare":[1]"#, predictions: #""probability":[]"#,
                rows: 1),
            "not json",
            Self.line(
                "1970-01-01T00:03:00.000Z", "after", features: #""fare":[9]"#, predictions: #""probability":[0.5]"#,
                rows: 1),
        ]
        try (lines.joined(separator: "\n") + "\n").write(
            to: folder.appendingPathComponent("predictions-19700101T000000Z-h-1-0.jsonl"), atomically: true,
            encoding: .utf8)
        // Being written (hidden), and not a log file: never read.
        let hidden = Self.line(
            "1970-01-01T00:01:40.000Z", "hidden", features: #""fare":[1]"#, predictions: #""probability":[0.5]"#,
            rows: 1)
        try hidden.write(
            to: folder.appendingPathComponent(".predictions-19700101T000100Z-h-1-1.jsonl.partial"), atomically: true,
            encoding: .utf8)
        try hidden.write(to: folder.appendingPathComponent("notes.jsonl"), atomically: true, encoding: .utf8)
        let window = TimeWindow(from: Date(timeIntervalSince1970: 60), to: Date(timeIntervalSince1970: 120))
        let (rows, summary) = try PredictionLogReader.read(
            .folder(folder), identity: "sha256:aa", windows: [window, window.previous],
            types: [("fare", .float), ("company", .bytes), ("hour", .int)])
        #expect(summary.files == 1 && summary.lines == 6)
        #expect(summary.malformed == 2, "\(summary.malformedExamples)")
        #expect(
            summary.malformedExamples.contains {
                $0.hasSuffix("-h-1-0.jsonl:4: 'predictions.probability' is not a list of 1 values")
            })
        #expect(summary.malformedExamples.contains { $0.contains("-h-1-0.jsonl:5: not JSON") })
        #expect(summary.otherModels == ["sha256:bb (1.0.0)": 1] && summary.outside == 1)
        // A text where a number was trained, a fraction where an integer was: counted, missing.
        #expect(summary.typeMismatches == ["fare": 1, "hour": 1])
        let current = rows[0]
        #expect(current.rowCount == 1 && current.requests == 1 && current.requestIDs == ["late"])
        #expect(current.features.column("fare")?.presentCount == 0)
        #expect(current.features.column("company")?.presentCount == 0)
        let before = rows[1]
        #expect(before.rowCount == 2 && before.indexInRequest == [0, 1] && before.requestIDs == ["early", "early"])
        #expect(Distribution.numbers(try #require(before.features.column("fare"))) == [1.5])
        #expect(Distribution.valueCounts(try #require(before.features.column("company"))) == ["A": 1, "B": 1])
        #expect(
            Distribution.valueCounts(try #require(before.predictions.column("predicted_class"))) == ["0": 1, "1": 1])

        // Cut into pieces of a few lines, parsed at once on all cores: the same rows, in the same
        // order, and the same findings.
        let (pieced, piecedSummary) = try PredictionLogReader.read(
            .folder(folder), identity: "sha256:aa", windows: [window, window.previous],
            types: [("fare", .float), ("company", .bytes), ("hour", .int)], pieceBytes: 200)
        #expect(piecedSummary == summary)
        for (one, other) in zip(rows, pieced) {
            #expect(one.requestIDs == other.requestIDs && one.indexInRequest == other.indexInRequest)
            #expect(
                Distribution.numbers(try #require(one.features.column("fare")))
                    == Distribution.numbers(try #require(other.features.column("fare"))))
            #expect(
                Distribution.valueCounts(try #require(one.predictions.column("predicted_class")))
                    == Distribution.valueCounts(try #require(other.predictions.column("predicted_class"))))
        }

        // A folder with no log file at all is the wrong folder, not a quiet window.
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        #expect(throws: FileError.self) {
            try PredictionLogReader.read(.folder(empty), identity: "x", windows: [window], types: [])
        }
        #expect(throws: FileError.self) {
            try PredictionLogReader.read(
                .folder(folder.appendingPathComponent("missing")), identity: "x", windows: [window], types: [])
        }
    }

    @Test func aSampleOfTheTrainingDataIsNearItAndAShiftIsFar() throws {
        var random = SplitMix64(seed: 3)
        func fares(_ count: Int, scale: Double = 1) -> [Double] {
            (0..<count).map { _ in (5 + 40 * random.unit() * random.unit()) * scale }
        }
        let training = StatisticsGenerator.numeric(fares(20_000))
        let same = try #require(ReferenceDistance.numeric(feature: "fare", reference: training, values: fares(2_000)))
        let tripled = try #require(
            ReferenceDistance.numeric(feature: "fare", reference: training, values: fares(2_000, scale: 3)))
        #expect(same.distance < 0.01, "\(same.distance)")
        #expect(tripled.distance > 0.3, "\(tripled.distance)")
        // Values beyond the training range count in the end buckets, in full.
        #expect(tripled.eval.last ?? 0 > 0.3 && same.eval.last ?? 1 < 0.01)
        #expect(abs(same.train.reduce(0, +) - 1) < 1e-9 && abs(same.eval.reduce(0, +) - 1) < 1e-9)

        let kinds = (0..<10_000).map { index -> String? in ["Cash", "Card", "Card", "Mobile", nil][index % 5] }
        let table = DataTable(file: "t", columns: [Column(name: "payment", texts: kinds)], rowCount: kinds.count)
        let reference = try #require(StatisticsGenerator.statistics(of: table, name: "train").feature("payment"))
        let sample = Column(name: "payment", texts: Array(kinds.prefix(500)))
        let close = try #require(
            ReferenceDistance.categorical(feature: "payment", reference: reference, column: sample))
        #expect(close.distance < 1e-9)
        // No cash, and a kind training never saw.
        let changed = Column(name: "payment", texts: (0..<400).map { ["Card", "Card", "Mobile", "Crypto"][$0 % 4] })
        let far = try #require(ReferenceDistance.categorical(feature: "payment", reference: reference, column: changed))
        #expect(abs(far.distance - 0.25) < 1e-9, "\(far.distance)")
        #expect(far.buckets == .categorical(values: ["Card", "Cash", "Mobile", "(other)"]) && far.eval.last == 0.25)
        // A column left out of the log (serving.log.exclude) has no value: not measured.
        let excluded = Column(name: "payment", texts: [String?](repeating: nil, count: 300))
        #expect(ReferenceDistance.categorical(feature: "payment", reference: reference, column: excluded) == nil)
    }

    @Test func labelsJoinByRequestAndRowWithTheirProblemsCounted() throws {
        let temporary = try TemporaryDirectory()
        let folder = temporary.url
        let logged = LoggedRows(
            features: DataTable(file: "l", columns: [Column(name: "fare", numbers: [1, 2, 3])], rowCount: 3),
            predictions: DataTable(
                file: "l", columns: [Column(name: "probability", numbers: [0.1, 0.8, 0.6])], rowCount: 3),
            requestIDs: ["a", "b", "b"], indexInRequest: [0, 0, 1], requests: 2)
        let jsonl = folder.appendingPathComponent("labels.jsonl")
        try """
        {"request_id": "b", "row": 1, "label": 1}
        {"request_id": "a", "label": 0}

        {"request_id": "a", "label": 1}
        {"request_id": "zz", "label": 1}
        {"label": 1}
        [1, 2]
        {"request_id": "b", "row": -1, "label": 1}
        """.write(to: jsonl, atomically: true, encoding: .utf8)
        let join = try LabelJoin.join(file: jsonl, logged: logged)
        #expect(join.rows == [2, 0])
        #expect(join.columns.map(\.name) == ["label"] && Distribution.numbers(join.columns[0]) == [1, 0])
        #expect(join.summary.records == 4 && join.summary.joined == 2 && join.summary.duplicates == 1)
        #expect(join.summary.unmatched == 1 && join.summary.malformed == 3, "\(join.summary)")
        #expect(join.summary.malformedExamples.first?.hasSuffix("labels.jsonl:6: no 'request_id'") == true)

        let csv = folder.appendingPathComponent("labels.csv")
        try "request_id,species\nb,Adelie\nb,\"Gentoo\"\n\"a\",Chinstrap,extra\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let fromCSV = try LabelJoin.join(file: csv, logged: logged)
        #expect(fromCSV.rows == [1] && fromCSV.summary.duplicates == 1 && fromCSV.summary.malformed == 1)
        #expect(Distribution.valueCounts(fromCSV.columns[0]) == ["Adelie": 1])

        // A client that reuses its ids: which row a label is for cannot be told.
        let reused = LoggedRows(
            features: logged.features, predictions: logged.predictions, requestIDs: ["a", "a", "b"],
            indexInRequest: [0, 0, 0], requests: 3)
        let ambiguous = try LabelJoin.join(file: jsonl, logged: reused)
        #expect(ambiguous.summary.ambiguous == 2 && ambiguous.rows == [], "\(ambiguous.summary)")
        let noRecords = folder.appendingPathComponent("none.jsonl")
        try "{\"id\": 1, \"label\": 0}\n[]\n".write(to: noRecords, atomically: true, encoding: .utf8)
        #expect(throws: LabelJoin.ReadError.self) { try LabelJoin.join(file: noRecords, logged: logged) }

        let noID = folder.appendingPathComponent("bad.csv")
        try "id,label\n1,0\n".write(to: noID, atomically: true, encoding: .utf8)
        #expect(throws: LabelJoin.ReadError.self) { try LabelJoin.join(file: noID, logged: logged) }
    }
}
