import ArchiveKit
import Foundation
import MLOpsCore
import MLOpsTestSupport
import Testing

@Suite struct ArchiveTests {
    let files: [(String, Data)] = [
        ("manifest.json", Data(#"{"name":"taxi"}"#.utf8)),
        ("model/model.json", Data(repeating: 0x41, count: 50_000)),
        ("schema/schéma.pbtxt", Data("feature { name: \"fare\" }\n".utf8)),
    ]

    func write(_ path: String, _ compression: ArchiveCompression, order: [(String, Data)]) throws {
        let writer = try ArchiveWriter(path: path, compression: compression)
        try writer.addDirectory("model")
        for (name, data) in order.sorted(by: { $0.0 < $1.0 }) { try writer.addFile(name, data: data) }
        try writer.finish()
    }

    @Test(arguments: [ArchiveCompression.zstd(level: 19), .gzip(level: 6), .none])
    func sameInputsGiveSameBytes(compression: ArchiveCompression) throws {
        let dir = try TemporaryDirectory()
        try write(dir.appending("a.tar").path, compression, order: files)
        Thread.sleep(forTimeInterval: 1.1)  // a timestamp leaking in would differ now
        try write(dir.appending("b.tar").path, compression, order: files.reversed())
        let a = try Data(contentsOf: dir.appending("a.tar"))
        let b = try Data(contentsOf: dir.appending("b.tar"))
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test func roundTripKeepsNamesDataAndFixedMetadata() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("bundle.tar.zst").path
        try write(path, .zstd(level: 19), order: files)
        let reader = try ArchiveReader(path: path)
        var seen: [String: Data] = [:]
        var kinds: [String: ArchiveEntry.Kind] = [:]
        while let entry = try reader.next() {
            kinds[entry.path] = entry.kind
            #expect(entry.modificationTime == 0)
            #expect(entry.userID == 0 && entry.groupID == 0)
            #expect(entry.owner == "root")
            if entry.kind == .file {
                #expect(entry.permissions == 0o644)
                seen[entry.path] = try reader.readData(limit: 1 << 20)
            }
        }
        #expect(reader.filters.first == "zstd")
        try reader.close()
        #expect(kinds["model"] == .directory)
        for (name, data) in files { #expect(seen[name] == data, "\(name) did not round-trip") }
    }

    @Test func readingPastTheSizeLimitIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("big.tar.gz").path
        try write(path, .gzip(), order: files)
        let reader = try ArchiveReader(path: path)
        while let entry = try reader.next() {
            if entry.path == "model/model.json" { break }
        }
        do {
            _ = try reader.readData(limit: 1000)
            Issue.record("reading 50 kB with a 1 kB limit must fail")
        } catch {
            #expect(error.code == .tooLarge(limit: 1000))
            #expect(error.entry == "model/model.json")
            #expect(error.exitStatus == .dataError)
        }
    }

    @Test func aFileThatIsNotAnArchiveIsAnErrorNotACrash() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("garbage.tar.zst", String(repeating: "not an archive ", count: 100)).path
        // libarchive reads the first block at open: the error may come from init or from next().
        #expect(throws: ArchiveError.self) {
            let reader = try ArchiveReader(path: path)
            _ = try reader.next()
        }
    }

    @Test func truncatedArchiveFails() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("t.tar.zst").path
        try write(path, .zstd(level: 3), order: files)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(throws: ArchiveError.self) {
            let reader = try ArchiveReader(path: path)
            while let entry = try reader.next() { if entry.kind == .file { _ = try reader.readData(limit: 1 << 20) } }
        }
    }

    @Test func missingArchiveIsExit66() throws {
        do {
            _ = try ArchiveReader(path: "/nonexistent/bundle.tar.zst")
            Issue.record("must fail")
        } catch {
            #expect(error.code == .missing)
            #expect(error.exitStatus == .noInput)
            #expect(error.message.contains("/nonexistent/bundle.tar.zst"))
        }
    }

    @Test func writerRefusesUseAfterFinish() throws {
        let dir = try TemporaryDirectory()
        let writer = try ArchiveWriter(path: dir.appending("x.tar").path, compression: .none)
        try writer.finish()
        try writer.finish()  // idempotent
        #expect(throws: ArchiveError.self) { try writer.addFile("late.txt", data: Data("x".utf8)) }
    }

    @Test func aDroppedUnfinishedWriterLeavesNoCompleteArchive() throws {
        let dir = try TemporaryDirectory()
        let path = dir.appending("dropped.tar").path
        do {
            let writer = try ArchiveWriter(path: path, compression: .none)
            try writer.addFile("model.json", data: Data(repeating: 0x41, count: 10_000))
            // dropped here without finish()
        }
        // No end-of-archive marker was written: reading it through must fail, not succeed quietly.
        #expect(throws: ArchiveError.self) {
            let reader = try ArchiveReader(path: path)
            while let entry = try reader.next() { if entry.kind == .file { _ = try reader.readData(limit: 1 << 20) } }
            try reader.close()
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            if size % 512 != 0 || size < 10_000 + 1024 + 512 {
                throw ArchiveError(code: .closed, function: "test", detail: "incomplete", archive: path)
            }
        }
    }

    @Test func aFailedEntryAbandonsTheArchive() throws {
        let dir = try TemporaryDirectory()
        let writer = try ArchiveWriter(path: dir.appending("x.tar.zst").path, compression: .zstd(level: 3))
        #expect(throws: ArchiveError.self) { try writer.addFile("gone.bin", contentsOf: dir.appending("no-such-file")) }
        // Nothing more can be added, and finish() has nothing left to close.
        #expect(throws: ArchiveError.self) { try writer.addFile("late.txt", data: Data("x".utf8)) }
    }

    @Test func unwritableDestinationFailsAtOpen() throws {
        #expect(throws: ArchiveError.self) {
            _ = try ArchiveWriter(path: "/nonexistent-dir/x.tar.zst", compression: .zstd())
        }
    }

    @Test func streamsFilesFromDisk() throws {
        let dir = try TemporaryDirectory()
        let source = try dir.write("model.bin", String(repeating: "0123456789", count: 300_000))
        let path = dir.appending("s.tar.zst").path
        let writer = try ArchiveWriter(path: path, compression: .zstd(level: 3))
        try writer.addFile("model.bin", contentsOf: source)
        try writer.finish()
        let reader = try ArchiveReader(path: path)
        let entry = try reader.next()
        #expect(entry?.size == 3_000_000)
        #expect(try reader.readData(limit: 10_000_000) == Data(contentsOf: source))
    }
}
