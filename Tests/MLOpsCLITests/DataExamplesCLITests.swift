import Foundation
import MLOpsTestSupport
import Testing

@Suite struct DataExamplesCLITests {
    /// A project made by `mlops init` with its spans laid out as {SPAN} folders.
    func project() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let initialised = try MLOpsProcess.run(["init", dir.url.path])
        #expect(initialised.status == 0, "\(initialised.stderr)")
        let taxi = try dir.read("data/data.csv")
        let lines = taxi.split(separator: "\n", omittingEmptySubsequences: false)
        // Span 1: the first 3,000 rows; span 2: the next 6,000 in two files.
        let header = String(lines[0])
        _ = try dir.write(
            "data/span-1/part-0.csv", ([header] + lines[1...3000].map(String.init)).joined(separator: "\n") + "\n")
        _ = try dir.write(
            "data/span-2/part-0.csv", ([header] + lines[3001...6000].map(String.init)).joined(separator: "\n") + "\n")
        _ = try dir.write(
            "data/span-2/part-1.csv", ([header] + lines[6001...9000].map(String.init)).joined(separator: "\n") + "\n")
        try FileManager.default.removeItem(at: dir.appending("data/data.csv"))
        let config = try dir.read("mlops.yaml").replacingOccurrences(
            of: #"sources: ["data/*.csv"]"#, with: #"sources: ["data/span-{SPAN}/*.csv"]"#)
        _ = try dir.write("mlops.yaml", config)
        return dir
    }

    @Test func latestSpanSplitsSixTwoTwoAndStatsArePerSplit() throws {
        let dir = try project()
        let result = try MLOpsProcess.run(["data", "examples"], in: dir.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("span 2 (2 files): 6000 rows"))
        #expect(result.stdout.contains("split by whole-row hash (fnv1a64+splitmix64), train 6 : eval 2 : test 2"))
        let json = try MLOpsProcess.run(["data", "examples", "--json", "--span", "1..2"], in: dir.url)
        #expect(json.status == 0, "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["schema"] as? String == "mlops.examples/v1")
        let examples = try #require((document["result"] as? [String: Any])?["examples"] as? [String: Any])
        #expect(examples["rows"] as? Int == 9000)
        let splits = try #require(examples["splits"] as? [[String: Any]])
        let rows = splits.compactMap { $0["rows"] as? Int }
        #expect(rows.reduce(0, +) == 9000)
        #expect(abs(rows[0] - 5400) < 250 && abs(rows[1] - 1800) < 200 && abs(rows[2] - 1800) < 200, "\(rows)")

        let stats = try MLOpsProcess.run(["data", "stats", "--json", ".mlops/examples"], in: dir.url)
        #expect(stats.status == 0, "\(stats.stderr)")
        let statsDocument = try #require(
            try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        let datasets = try #require((statsDocument["result"] as? [String: Any])?["datasets"] as? [[String: Any]])
        #expect(datasets.compactMap { $0["name"] as? String } == ["train", "eval", "test"])
        #expect(datasets.compactMap { $0["num_examples"] as? Int } == rows)
    }

    @Test func partitionColumnAndBadInput() throws {
        let dir = try project()
        let partitioned = try MLOpsProcess.run(
            ["data", "examples", "--partition-column", "company", "--splits", "train=3,eval=1,test=1", "-o", "out"],
            in: dir.url)
        #expect(partitioned.status == 0, "\(partitioned.stderr)")
        #expect(partitioned.stdout.contains("hash of column 'company'"))
        #expect(partitioned.stdout.contains("out/test.examples"))

        let typo = try MLOpsProcess.run(["data", "examples", "--partition-column", "compnay"], in: dir.url)
        #expect(typo.status == 65)
        #expect(typo.stderr.contains("data/span-2/part-0.csv:1: the header has no column 'compnay'"))
        #expect(typo.stderr.contains("did you mean 'company'?"))

        let badSplits = try MLOpsProcess.run(["data", "examples", "--splits", "train=2"], in: dir.url)
        #expect(badSplits.status == 64)
        let noSpan = try MLOpsProcess.run(["data", "examples", "--span", "7"], in: dir.url)
        #expect(noSpan.status == 66)
        #expect(noSpan.stderr.contains("no span 7 among the data files (spans found: 1, 2)"))

        _ = try dir.write("mine/keep.txt", "mine")
        let foreign = try MLOpsProcess.run(["data", "examples", "-o", "mine"], in: dir.url)
        #expect(foreign.status == 74)
        #expect(foreign.stderr.contains("exists and is not an ExampleGen output"))
        #expect(try dir.read("mine/keep.txt") == "mine")

        _ = try dir.write("data/span-3/part-0.csv", "trip_miles,fare\n1.5,\"7\n")
        let broken = try MLOpsProcess.run(["data", "examples", "-o", "out"], in: dir.url)
        #expect(broken.status == 65)
        #expect(broken.stderr.contains("data/span-3/part-0.csv:2:"))
        // The earlier output is untouched and nothing half-written is left beside it.
        #expect(dir.exists("out/test.examples"))
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".out") }
        #expect(siblings.isEmpty)
    }
}

@Suite struct ProgressBarCLITests {
    @Test func aProgressBarIsDrawnOnATerminalAndNowhereElse() throws {
        let dir = try TemporaryDirectory()
        var text = "id,value,name\n"
        for row in 0..<300_000 { text += "\(row),\(row % 97).25,name-\(row % 13)\n" }
        let file = try dir.write("big.csv", text)
        #expect(text.utf8.count > 4 << 20)

        // script(1) runs mlops on a pseudo-terminal, as a user at a terminal would.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "'\(MLOpsProcess.binary.path)' data stats '\(file.path)'", "/dev/null"]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "CI")
        environment["TERM"] = "xterm"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let terminal = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(terminal.contains("MB/s"), "no progress drawn: \(terminal.prefix(300))")
        #expect(terminal.contains("\r\u{1B}[2K"))
        #expect(terminal.contains("300000 rows"))

        // In CI and in pipes: no bar.
        let plain = try MLOpsProcess.run(["data", "stats", file.path])
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains("MB/s") && !plain.stdout.contains("MB/s"))
    }
}
