import Foundation
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Tabular
import Testing

func table(_ text: String, _ options: CSVOptions = CSVOptions()) throws -> DataTable {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { try CSVReader.parse($0, file: "t.csv", options: options) }
}

func csvError(_ bytes: [UInt8], _ options: CSVOptions = CSVOptions()) -> CSVError? {
    do {
        _ = try bytes.withUnsafeBytes { try CSVReader.parse($0, file: "t.csv", options: options) }
        return nil
    } catch {
        return error as? CSVError
    }
}

func strings(_ column: Column?) -> [String?] {
    guard let column, case .bytes(let dictionary, let codes) = column.values else { return [] }
    return codes.map { $0 < 0 ? nil : dictionary[Int($0)] }
}

@Suite struct CSVReaderTests {
    @Test func rfc4180QuotingNewlinesCRLFAndBOM() throws {
        let text =
            "\u{FEFF}id,city,note\r\n1,\"New York, NY\",\"said \"\"hi\"\"\"\r\n2,Chicago,\"two\nlines\"\r\n3,,\"\"\r\n"
        let t = try table(text)
        #expect(t.columns.map(\.name) == ["id", "city", "note"])
        #expect(t.rowCount == 3)
        #expect(strings(t.column("city")) == ["New York, NY", "Chicago", nil])
        #expect(strings(t.column("note")) == ["said \"hi\"", "two\nlines", nil])
        #expect(t.column("id")?.type == .int)
    }

    @Test func typesAreInferredAndEmptyIsMissing() throws {
        let t = try table("i,f,s,m\n1,1.5,a,\n-2,2,b,\n,,,\n+3,1e3,c,\n")
        #expect(t.column("i")?.type == .int)
        #expect(t.column("f")?.type == .float)
        #expect(t.column("s")?.type == .bytes)
        #expect(t.column("m")?.type == .float, "a column with nothing in it is FLOAT")
        #expect(t.column("m")?.presentCount == 0)
        guard case .int(let ints)? = t.column("i")?.values, case .float(let floats)? = t.column("f")?.values else {
            Issue.record("i must be INT and f FLOAT")
            return
        }
        #expect(ints == [1, -2, 0, 3])
        #expect(t.column("i")?.present == [true, true, false, true])
        #expect(floats[3] == 1000 && floats[1] == 2)
    }

    @Test func typesArePromotedAndTextAfterNumbersKeepsItsSpelling() throws {
        let t = try table("n,code,late\n1,007,\n2,12,\n2.5,x1,9\n")
        guard case .float(let values)? = t.column("n")?.values else {
            Issue.record("n must be FLOAT")
            return
        }
        #expect(values == [1, 2, 2.5])
        #expect(t.column("code")?.type == .bytes)
        #expect(strings(t.column("code")) == ["007", "12", "x1"], "read again as text: 007 is not 7")
        #expect(t.column("late")?.type == .int)
        #expect(t.column("late")?.present == [false, false, true])
    }

    /// A file big enough to be parsed in parallel gives exactly the sequential result.
    @Test(.enabled(if: ProcessInfo.processInfo.activeProcessorCount > 1, "parallel parsing needs two cores"))
    func parallelParsingMatchesSequential() throws {
        var lines = ["id,value,label,code,late"]
        for row in 0..<260_000 {
            let value = row < 150_000 ? "\(row % 97)" : "\(row % 97).5"  // INT in the first chunk, FLOAT later
            let label = ["red", "green", "blue", "cyan"][row % 4] + (row > 250_000 ? "-late" : "")
            let code = row == 259_000 ? "X9" : "\(row % 13)"  // text only near the end: second pass
            let late = row < 120_000 ? "" : "\(row)"  // missing in the first chunk
            lines.append("\(row),\(value),\(label),\(code),\(late)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        #expect(text.utf8.count > 4 << 20)
        var sequentialOptions = CSVOptions()
        sequentialOptions.parallel = false
        let parallel = try table(text)
        let sequential = try table(text, sequentialOptions)
        #expect(parallel.rowCount == 260_000 && sequential.rowCount == 260_000)
        for (a, b) in zip(parallel.columns, sequential.columns) {
            #expect(a.name == b.name && a.type == b.type && a.present == b.present, "\(a.name)")
            switch (a.values, b.values) {
            case (.int(let x), .int(let y)): #expect(x == y, "\(a.name)")
            case (.float(let x), .float(let y)):
                #expect(zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(a.name)")
            case (.bytes, .bytes): #expect(strings(a) == strings(b), "\(a.name)")
            default: Issue.record("\(a.name): different storage")
            }
        }
        #expect(parallel.column("value")?.type == .float)
        #expect(parallel.column("code")?.type == .bytes)
        #expect(strings(parallel.column("code"))[259_000] == "X9")
        #expect(parallel.column("late")?.type == .int)

        // Errors and skipped rows deep in a later chunk name the right line.
        var broken = lines
        broken[240_000] = "1,2"
        let brokenText = broken.joined(separator: "\n") + "\n"
        #expect(csvError(Array(brokenText.utf8))?.line == 240_001)
        #expect(csvError(Array(brokenText.utf8), sequentialOptions)?.line == 240_001)
        var skip = CSVOptions()
        skip.onBadRows = .skip
        #expect(try table(brokenText, skip).skipped.map(\.line) == [240_001])
    }

    @Test func forcedTypesFromASchema() throws {
        var options = CSVOptions()
        options.types = ["code": .bytes, "x": .int]
        let t = try table("code,x\n007,1\n042,oops\n", options)
        #expect(strings(t.column("code")) == ["007", "042"])
        #expect(t.column("x")?.present == [true, false], "a value that is not an INT under a schema is missing")
    }

    @Test func nanInfinityAndOverflowAreFloatValues() throws {
        let t = try table("v\nnan\ninf\n-inf\n1e400\n0.5\n")
        guard case .float(let values)? = t.column("v")?.values else {
            Issue.record("v must be FLOAT")
            return
        }
        #expect(values[0].isNaN)
        #expect(values[1] == .infinity && values[2] == -.infinity && values[3] == .infinity)
        #expect(values[4] == 0.5)
    }

    @Test func numbersAreTheSameDoubleAsStrtod() throws {
        var generator = SplitMix64(seed: 42)
        var texts: [String] = [
            "0", "-0.0", "0.1", "3.14159265358979", "1.7976931348623157e308", "4.9e-324",
            "123456789012345678901234567890", "0.000000000000000000000001", "9007199254740993",
            "2.2250738585072011e-308", "1e22", "1e23", "-12.50", ".5", "5.", "1E-5",
        ]
        for _ in 0..<5000 {
            let digits = Int(generator.next() % 20) + 1
            var text = (0..<digits).map { _ in String(generator.next() % 10) }.joined()
            if generator.next() % 2 == 0 {
                text.insert(".", at: text.index(text.startIndex, offsetBy: Int(generator.next() % UInt64(digits))))
            }
            if generator.next() % 4 == 0 { text += "e\(Int(generator.next() % 60) - 30)" }
            if generator.next() % 3 == 0 { text = "-" + text }
            texts.append(text)
        }
        let csv = "v\n" + texts.joined(separator: "\n") + "\n"
        let t = try table(csv)
        guard case .float(let values)? = t.column("v")?.values else {
            Issue.record("v must be FLOAT")
            return
        }
        for (text, value) in zip(texts, values) {
            let expected = strtod(text, nil)
            #expect(value.bitPattern == expected.bitPattern, "\(text): \(value) vs strtod \(expected)")
        }
    }

    @Test func textAfterAClosingQuoteIsAnError() {
        let error = csvError(Array("a,b\n\"ab\"cd,1\n".utf8))
        #expect(error?.kind == .textAfterClosingQuote)
        #expect(error?.line == 2 && error?.field == 1)
    }

    @Test func inAOneColumnFileAnEmptyLineIsAMissingValue() throws {
        let t = try table("x\n1\n\n3\n")
        #expect(t.rowCount == 3)
        #expect(t.column("x")?.present == [true, false, true])
    }

    @Test func textWithSpacesIsNotANumber() throws {
        #expect(try table("v\n 12\n3\n").column("v")?.type == .bytes)
        #expect(try table("v\n0x1A\n3\n").column("v")?.type == .bytes)
    }

    @Test func otherDelimiters() throws {
        var options = CSVOptions()
        options.delimiter = UInt8(ascii: ";")
        let t = try table("a;b\n1,5;x\n", options)
        #expect(t.column("a")?.type == .bytes)
        #expect(strings(t.column("a")) == ["1,5"])
    }

    @Test func headerOnlyHasNoRows() throws {
        let t = try table("a,b\n")
        #expect(t.rowCount == 0 && t.columns.count == 2)
    }

    @Test func raggedRowsFailWithLineAndCountsOrAreSkipped() throws {
        let text = "a,b\n1,2\n3\n4,5,6\n7,8\n"
        let error = csvError(Array(text.utf8))
        #expect(error?.kind == .raggedRow(expected: 2, found: 1))
        #expect(
            error?.description
                == "t.csv:3: row has 1 field, the header has 2\n  hint: fix the row, or skip and count such rows (`data.on_bad_rows: skip`; `--on-bad-rows skip` for mlops infer)"
        )
        #expect(error?.exitStatus == .dataError)
        var options = CSVOptions()
        options.onBadRows = .skip
        let t = try table(text, options)
        #expect(t.rowCount == 2)
        #expect(
            t.skipped == [
                .init(line: 3, reason: "1 fields, the header has 2"),
                .init(line: 4, reason: "3 fields, the header has 2"),
            ])
    }

    @Test func unterminatedQuoteNamesWhereItOpened() {
        let error = csvError(Array("a,b\n1,2\n3,\"open\nmore\n".utf8))
        #expect(error?.kind == .unterminatedQuote)
        #expect(error?.line == 3 && error?.field == 2)
    }

    @Test func invalidUTF8InATextColumn() {
        let error = csvError(Array("name\nok\n".utf8) + [0x66, 0xFF, 0x6F, 0x0A])
        #expect(error?.kind == .invalidUTF8(column: "name"))
        #expect(error?.line == 3)
    }

    @Test func nulByte() {
        let error = csvError(Array("a\n1\n".utf8) + [0x32, 0x00, 0x0A])
        #expect(error?.kind == .nulByte)
        #expect(error?.line == 3)
    }

    @Test func aTenMegabyteFieldIsRefused() {
        let big = "a,b\n1,\"" + String(repeating: "x", count: 10 << 20) + "\"\n"
        let error = csvError(Array(big.utf8))
        #expect(error?.kind == .fieldTooLarge(limit: 1 << 20))
        #expect(error?.line == 2 && error?.field == 2)
    }

    @Test func headerProblems() {
        #expect(csvError([])?.kind == .empty)
        #expect(csvError(Array("\n".utf8))?.kind == .empty)
        #expect(csvError(Array("a,b,a\n1,2,3\n".utf8))?.kind == .duplicateHeader(name: "a", firstColumn: 1))
        #expect(csvError(Array("a,,c\n".utf8))?.kind == .emptyHeader(column: 2))
    }

    @Test func missingFileIsExit66() {
        do {
            _ = try CSVReader.read(path: "/nonexistent/data.csv")
            Issue.record("must fail")
        } catch {
            #expect(error.exitStatus == .noInput)
            #expect(error.file == "/nonexistent/data.csv")
        }
    }

    @Test func theTaxiSample() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("templates/taxi/data/data.csv").path
        let t = try CSVReader.read(path: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        #expect(t.rowCount == lines - 1)
        #expect(t.columns.count == 18)
        #expect(t.column("fare")?.type == .float)
        #expect(t.column("trip_start_hour")?.type == .int)
        #expect(t.column("payment_type")?.type == .bytes)
        #expect(t.column("company")?.type == .bytes)
        #expect(t.column("tips")?.presentCount == t.rowCount)
    }

    @Test func strictTypesRefuseAWrongTypeWithItsLineAndFieldOrSkipTheRow() throws {
        let text = "id,size,colour\n1,2.5,red\n2,big,blue\n3,4,\"green, light\"\n4,x,red\n"
        var options = CSVOptions()
        options.types = ["size": .float, "colour": .bytes]
        options.strictTypes = true
        let error = csvError(Array(text.utf8), options)
        #expect(error?.kind == .wrongType(column: "size", expected: .float, value: "big"))
        #expect(error?.line == 3 && error?.field == 2)
        #expect(error?.description.hasPrefix("t.csv:3:2: column 'size' must be a number, not 'big'") == true)
        // Skipped: the row's earlier columns are taken back, so every column keeps its rows.
        options.onBadRows = .skip
        options.recordRanges = true
        let t = try table(text, options)
        #expect(t.rowCount == 2)
        #expect(t.skipped.map(\.line) == [3, 5])
        #expect(t.skipped[0].reason == "column 'size' must be a number, not 'big'")
        guard case .int(let ids)? = t.column("id")?.values, case .float(let sizes)? = t.column("size")?.values else {
            Issue.record("unexpected types")
            return
        }
        #expect(ids == [1, 3] && sizes == [2.5, 4])
        // Each kept row's bytes as written, without the line end (a quoted last field included).
        let bytes = Array(text.utf8)
        #expect(t.records.map { String(decoding: bytes[$0], as: UTF8.self) } == ["1,2.5,red", "3,4,\"green, light\""])
        // Without strictTypes a wrong type under a schema is a missing value, as before.
        options.strictTypes = false
        #expect(try table(text, options).column("size")?.presentCount == 2)
    }

    @Test func onlyTheColumnsAskedForAreStoredAndRowsParseWithoutAHeader() throws {
        var options = CSVOptions()
        options.columns = ["b"]
        options.recordRanges = true
        let t = try table("a,b,c\n1,2,3\nx,4,y\n", options)
        #expect(t.columns.map(\.name) == ["b"])
        #expect(t.rowCount == 2)
        // A part of a file cut at a line end: its lines numbered from where it starts.
        let rows = Array("5,6,7\n8,9\n".utf8)
        let error = rows.withUnsafeBytes { buffer -> CSVError? in
            do {
                _ = try CSVReader.parseRows(buffer, names: ["a", "b", "c"], file: "t.csv", firstLine: 40)
                return nil
            } catch { return error as? CSVError }
        }
        #expect(error?.kind == .raggedRow(expected: 3, found: 2) && error?.line == 41)
        let parsed = try Array("5,6,7\n\n8,9,10\n".utf8).withUnsafeBytes { buffer in
            try CSVReader.parseRows(buffer, names: ["a", "b", "c"], file: "t.csv", firstLine: 1, options: options)
        }
        #expect(parsed.table.rowCount == 2 && parsed.lines == 3)
        #expect(parsed.table.records == [0..<5, 7..<13])
    }
}
