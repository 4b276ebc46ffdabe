import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

@Suite struct SplitHashTests {
    @Test func fnv1aMatchesThePublishedTestVectors() {
        func hash(_ text: String) -> UInt64 { Array(text.utf8).withUnsafeBytes { SplitHash.fnv1a($0) } }
        #expect(hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(hash("foobar") == 0x8594_4171_f739_67e8)
    }

    /// Golden values from an independent implementation of the documented hash (Python), so a
    /// change to the split of existing data cannot go unnoticed.
    @Test func wholeRowHashesAndBucketsAreTheDocumentedOnes() throws {
        var options = CSVOptions()
        options.rowHash = .wholeRow
        let t = try table("x,y\n1,a\n2,b\n3,c\n4,d\n5,e\n6,f\n", options)
        #expect(
            t.rowHashes == [
                0xd55c_6ff1_69ee_4b15, 0x2cda_b00a_afca_cdb1, 0xd604_f003_1402_1689, 0xa67c_2fd9_5c94_0e1d,
                0x246e_2fd0_8612_e1f5, 0x7e94_2fe9_ce30_f7c9,
            ])
        #expect(t.rowHashes.map { SplitHash.bucket($0, of: 3) } == [0, 2, 0, 2, 2, 2])
    }

    @Test func quotingAndLineEndsDoNotChangeARowsHash() throws {
        var options = CSVOptions()
        options.rowHash = .wholeRow
        let plain = try table("x,y\n1,say hi\n", options)
        let quoted = try table("x,y\r\n\"1\",\"say hi\"\r\n", options)
        #expect(plain.rowHashes == quoted.rowHashes)
        let escaped = try table("x,y\n1,\"a \"\"b\"\"\"\n", options)
        let expected = Array("1".utf8).withUnsafeBytes { first in
            let afterFirst = (SplitHash.fnv1a(first) ^ 0x1F) &* SplitHash.prime
            return (Array("a \"b\"".utf8).withUnsafeBytes { SplitHash.fnv1a($0, afterFirst) } ^ 0x1F) &* SplitHash.prime
        }
        #expect(escaped.rowHashes == [expected])
    }

    @Test func aPartitionColumnKeepsEqualValuesTogether() throws {
        var options = CSVOptions()
        options.rowHash = .column("user")
        var text = "user,value\n"
        for row in 0..<3000 { text += "u\(row % 50),\(row)\n" }
        let t = try table(text, options)
        let rows = ExampleGen.assign(t, splits: [("train", 2), ("eval", 1)])
        guard case .bytes(let dictionary, let codes) = t.columns[0].values else {
            Issue.record("user should be text")
            return
        }
        let users = codes.map { dictionary[Int($0)] }
        let trainUsers = Set(rows[0].map { users[$0] })
        let evalUsers = Set(rows[1].map { users[$0] })
        #expect(trainUsers.isDisjoint(with: evalUsers))
        #expect(trainUsers.count + evalUsers.count == 50)
        #expect(rows[0].count + rows[1].count == 3000)
    }

    @Test func wholeRowSplitFollowsTheWeights() throws {
        var options = CSVOptions()
        options.rowHash = .wholeRow
        var text = "a,b\n"
        var random = SplitMix64(seed: 7)
        for row in 0..<30000 { text += "\(row),\(random.next() % 1000)\n" }
        let t = try table(text, options)
        let rows = ExampleGen.assign(t, splits: [("train", 2), ("eval", 1)])
        // 2:1 of 30,000 is 20,000 : 10,000; a fair hash stays within a few standard deviations (~82).
        #expect(abs(rows[0].count - 20000) < 500)
        #expect(rows[0].count + rows[1].count == 30000)
        #expect(rows.flatMap { $0 }.sorted() == Array(0..<30000))
        let missing = try #require(csvErrorFor("a,b\n1,2\n", hash: .column("c")))
        #expect(missing.message == "the header has no column 'c'")
        #expect(missing.exitStatus == .dataError)
    }

    func csvErrorFor(_ text: String, hash: SplitHash.Key) -> CSVError? {
        var options = CSVOptions()
        options.rowHash = hash
        return csvError(Array(text.utf8), options)
    }
}

@Suite struct SpanPatternTests {
    @Test func placeholdersInTheWrongPlaceAreRefused() {
        #expect(SpanPattern.problem("data/span-{SPAN}/*.csv") == nil)
        #expect(SpanPattern.problem("data/{SPAN}/v{VERSION}/*.csv") == nil)
        #expect(SpanPattern.problem("data/**/{SPAN}.csv") == "has {SPAN} or {VERSION} after '**'")
        #expect(SpanPattern.problem("data/{SPAN}/{SPAN}.csv") == "has {SPAN} more than once")
        #expect(SpanPattern.problem("data/v{VERSION}/*.csv") == "has {VERSION} without {SPAN}")
    }

    @Test func latestSpanIsNumericAndTheHighestVersionWins() throws {
        let dir = try TemporaryDirectory()
        for path in [
            "data/span-2/v1/a.csv", "data/span-2/v3/a.csv", "data/span-2/v3/b.csv", "data/span-10/v1/a.csv",
            "data/span-9/v1/a.csv", "data/span-9/v1/notes.txt", "data/other/a.csv",
        ] {
            _ = try dir.write(path, "x\n1\n")
        }
        let patterns = ["data/span-{SPAN}/v{VERSION}/*.csv"]
        let latest = try SpanResolver.resolve(patterns: patterns, selection: .latest, root: dir.url)
        #expect(latest == [SpanFiles(span: 10, version: 1, files: ["data/span-10/v1/a.csv"])])
        let two = try SpanResolver.resolve(patterns: patterns, selection: .single(2), root: dir.url)
        #expect(two == [SpanFiles(span: 2, version: 3, files: ["data/span-2/v3/a.csv", "data/span-2/v3/b.csv"])])
        let range = try SpanResolver.resolve(patterns: patterns, selection: .range(3, 10), root: dir.url)
        #expect(range.map(\.span) == [9, 10])
        let all = try SpanResolver.resolve(patterns: patterns, selection: .all, root: dir.url)
        #expect(all.map(\.span) == [2, 9, 10])
        #expect(throws: ExampleGenError(.spanNotFound(selection: "4", available: [2, 9, 10]))) {
            try SpanResolver.resolve(patterns: patterns, selection: .single(4), root: dir.url)
        }
        #expect(throws: ExampleGenError(.noFiles(patterns: ["nothing/*.csv"]))) {
            try SpanResolver.resolve(patterns: ["nothing/*.csv"], selection: .latest, root: dir.url)
        }
        let plain = try SpanResolver.resolve(patterns: ["data/other/*.csv"], selection: .latest, root: dir.url)
        #expect(plain == [SpanFiles(span: 0, version: nil, files: ["data/other/a.csv"])])
        #expect(throws: ExampleGenError(.spanWithoutPlaceholder(selection: "3"))) {
            try SpanResolver.resolve(patterns: ["data/other/*.csv"], selection: .single(3), root: dir.url)
        }
    }
}

@Suite struct ExamplesFileTests {
    static let text = "id,score,city,empty\n1,0.5,Chicago,\n2,,\"New York, NY\",\n,1e400,,\n4,-0.25,Chicago,\n"

    @Test func aTableRoundTripsWholeAndBySelectedRows() throws {
        let dir = try TemporaryDirectory()
        let original = try table(Self.text)
        let url = dir.appending("t.examples")
        try ExamplesFile.write(original, rows: nil, split: "train", to: url)
        let back = try ExamplesFile.read(url)
        #expect(back.rowCount == 4)
        #expect(back.columns.map(\.name) == ["id", "score", "city", "empty"])
        #expect(back.columns.map(\.type) == [.int, .float, .bytes, .float])
        #expect(back.columns.map(\.present) == original.columns.map(\.present))
        guard case .int(let ids) = back.columns[0].values, case .float(let scores) = back.columns[1].values else {
            Issue.record("wrong value kinds")
            return
        }
        #expect(ids == [1, 2, 0, 4])
        #expect(scores[0] == 0.5 && scores[1].isNaN && scores[2] == .infinity && scores[3] == -0.25)
        #expect(strings(back.columns[2]) == ["Chicago", "New York, NY", nil, "Chicago"])
        #expect(try ExamplesFile.header(of: url).split == "train")
        // Blocks start on 64-byte boundaries, so the arrays can be used in place when mapped.
        for column in try ExamplesFile.header(of: url).columns {
            #expect(column.values.offset % 64 == 0 && column.validity.offset % 64 == 0)
        }

        let subset = dir.appending("s.examples")
        try ExamplesFile.write(original, rows: [3, 1], split: "eval", to: subset)
        let picked = try ExamplesFile.read(subset)
        #expect(picked.rowCount == 2)
        #expect(strings(picked.columns[2]) == ["Chicago", "New York, NY"])
        #expect(picked.columns[1].present == [true, false])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
        #expect(names.sorted() == ["s.examples", "t.examples"])
    }

    @Test func damagedFilesAreRefusedWithTheReason() throws {
        let dir = try TemporaryDirectory()
        let url = dir.appending("t.examples")
        try ExamplesFile.write(try table(Self.text), rows: nil, split: "train", to: url)
        let good = try Data(contentsOf: url)

        func failure(_ bytes: Data) -> ExamplesFileError? {
            let damaged = dir.appending("d.examples")
            try? bytes.write(to: damaged)
            do {
                _ = try ExamplesFile.read(damaged)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure(Data("id,score\n1,2\n".utf8))?.detail == "not an mlops examples file (no MLOPSEXM magic)")
        #expect(failure(good.prefix(good.count / 2))?.kind == .corrupt)
        var newer = good
        newer[8] = 2
        #expect(failure(newer)?.kind == .newerVersion)
        #expect(failure(newer)?.exitStatus == .dataError)
        // A code outside the dictionary: the first code of 'city' set to 1000.
        let header = try ExamplesFile.header(of: url)
        let city = try #require(header.columns.first { $0.name == "city" })
        var badCode = good
        badCode.replaceSubrange(
            city.values.offset..<(city.values.offset + 4),
            with: withUnsafeBytes(of: Int32(1000).littleEndian) { Data($0) })
        #expect(failure(badCode)?.detail.contains("row 0 of 'city' has code 1000") == true)
        // A block pointing past the end of the file.
        let headerLength = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self) })
        var headerText = String(decoding: good[16..<(16 + headerLength)], as: UTF8.self)
        headerText = headerText.replacingOccurrences(
            of: "\"offset\":\(city.values.offset)", with: "\"offset\":99999999")
        var badOffset = good
        badOffset.replaceSubrange(16..<(16 + headerText.utf8.count), with: Data(headerText.utf8))
        #expect(failure(badOffset)?.detail == "the codes of 'city' lies outside the file")
        #expect(failure(Data())?.kind == .corrupt)
        // Counts that would overflow the size arithmetic are refused, not trusted.
        for (field, huge) in [
            ("\"rows\":4", "\"rows\":9223372036854775807"), ("\"count\":", "\"count\":2305843009213693952,\"x\":"),
        ] {
            var text = String(decoding: good[16..<(16 + headerLength)], as: UTF8.self)
            guard let range = text.range(of: field) else { continue }
            text.replaceSubrange(range, with: huge)
            var hostile = good
            let bytes = Data(text.utf8)
            hostile.replaceSubrange(12..<16, with: withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { Data($0) })
            hostile.replaceSubrange(16..<(16 + headerLength), with: bytes)
            #expect(failure(hostile)?.kind == .corrupt, "\(huge)")
        }
        #expect(throws: ExamplesFileError.self) { try ExamplesFile.read(dir.appending("nope.examples")) }
    }
}

@Suite struct ExampleGenTests {
    @Test func filesOfASpanAreJoinedWithOneTypePerColumn() throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("data/span-1/a.csv", "id,code,score\n1,7,1\n2,8,2\n")
        _ = try dir.write("data/span-1/b.csv", "id,code,score\n3,007,2.5\n4,x9,\n")
        let spans = try SpanResolver.resolve(patterns: ["data/span-{SPAN}/*.csv"], selection: .latest, root: dir.url)
        let (t, _) = try ExampleGen.read(spans: spans, root: dir.url, options: ExampleGen.Options())
        #expect(t.rowCount == 4)
        #expect(t.columns.map(\.type) == [.int, .bytes, .float])
        // Text in one file made the column text everywhere, with the numbers as written.
        #expect(strings(t.column("code")) == ["7", "8", "007", "x9"])
        #expect(t.rowHashes.count == 4)
    }

    @Test func filesWithOtherColumnsAreRefused() throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("data/a.csv", "id,code\n1,7\n")
        _ = try dir.write("data/b.csv", "id,kode\n3,8\n")
        let spans = try SpanResolver.resolve(patterns: ["data/*.csv"], selection: .latest, root: dir.url)
        #expect(
            throws: ExampleGenError(
                .headerMismatch(file: "data/b.csv", firstFile: "data/a.csv", missing: ["code"], extra: ["kode"]))
        ) {
            try ExampleGen.read(spans: spans, root: dir.url, options: ExampleGen.Options())
        }
    }

    @Test func theOutputFolderIsReplacedOnlyWhenEverythingIsWritten() throws {
        let dir = try TemporaryDirectory()
        var text = "id,value\n"
        for row in 0..<300 { text += "\(row),\(row * 3)\n" }
        _ = try dir.write("data/a.csv", text)
        let output = dir.appending(".mlops/examples")
        let spans = try SpanResolver.resolve(patterns: ["data/*.csv"], selection: .latest, root: dir.url)
        let result = try ExampleGen.run(spans: spans, root: dir.url, output: output, options: ExampleGen.Options())
        #expect(result.rows == 300)
        #expect(result.splits.map(\.name) == ["train", "eval"])
        #expect(result.splits.map(\.rows).reduce(0, +) == 300)
        let train = try ExamplesFile.read(output.appendingPathComponent("train.examples"))
        let eval = try ExamplesFile.read(output.appendingPathComponent("eval.examples"))
        #expect(train.rowCount == result.splits[0].rows && eval.rowCount == result.splits[1].rows)
        // The same input splits the same way again, byte for byte.
        let first = try Data(contentsOf: output.appendingPathComponent("train.examples"))
        _ = try ExampleGen.run(spans: spans, root: dir.url, output: output, options: ExampleGen.Options())
        #expect(try Data(contentsOf: output.appendingPathComponent("train.examples")) == first)

        // A broken file: the run fails, the previous output stays, no staging folder is left.
        _ = try dir.write("data/b.csv", "id,value\n1,\"unterminated\n")
        let broken = try SpanResolver.resolve(patterns: ["data/*.csv"], selection: .latest, root: dir.url)
        #expect(throws: CSVError(.unterminatedQuote, file: "data/b.csv", line: 2, field: 2)) {
            try ExampleGen.run(spans: broken, root: dir.url, output: output, options: ExampleGen.Options())
        }
        #expect(try Data(contentsOf: output.appendingPathComponent("train.examples")) == first)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appending(".mlops").path)
        #expect(leftovers == ["examples"])
    }
}
