import Foundation
import MLOpsTestSupport
import Testing

@testable import GitKit

/// The preloaded work-tree scan must give exactly libgit2's whole-tree answer; these tests
/// build odd work trees and compare the two strategies, and check which paths the scan
/// proved unchanged on its own.
@Suite struct WorkTreeScanTests {
    /// Files written an hour ago, so the index's stat records are not "racily clean" and
    /// the scan can prove them unchanged without libgit2.
    private func backdate(_ repo: TestRepository) throws {
        let root = repo.directory.url
        let past = Date().addingTimeInterval(-3600)
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            if url.pathComponents.contains(".git") { continue }
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: url.path)
        }
    }

    private func sorted(_ changes: [FileChange]) -> [FileChange] {
        changes.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Both strategies, with and without untracked files, must agree.
    private func expectSameAnswer(_ repo: TestRepository, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for untracked in [true, false] {
            let fast = try repo.repository.unstagedChanges(includeUntracked: untracked, strategy: .preloaded)
            let full = try repo.repository.unstagedChanges(includeUntracked: untracked, strategy: .libgit2)
            #expect(sorted(fast) == sorted(full), "includeUntracked: \(untracked)", sourceLocation: sourceLocation)
        }
    }

    private func manyFiles(_ repo: TestRepository) throws {
        try repo.write(".gitignore", "ignored/\n*.log\n!keep.log\nbuild/\n")
        try repo.write("src/sub/.gitignore", "*.tmp\n")
        for folder in ["src", "src/sub", "src/sub/deeper", "data", "dir with space", "ünïcode"] {
            for number in 0..<5 {
                try repo.write("\(folder)/file\(number).txt", "\(folder) \(number)\n")
            }
        }
        try repo.write("src/a.b", "sorts between src/a and src/a/b\n")
        try repo.write("src/a/b.txt", "nested\n")
        try repo.write("keep.log", "kept despite *.log\n")
        try repo.write("top.txt", "top\n")
        #expect(symlink("top.txt", repo.directory.appending("link.txt").path) == 0)
    }

    @Test func aCleanTreeIsProvedUnchangedWithoutLibgit2() throws {
        let repo = try TestRepository()
        try manyFiles(repo)
        try backdate(repo)
        try repo.commitAll("files")
        let outcome = try #require(try repo.repository.preloadedChanges(includeUntracked: true))
        #expect(outcome.changes.isEmpty)
        #expect(outcome.delegated.isEmpty)
        try expectSameAnswer(repo)
    }

    @Test func modifiedDeletedAndUntrackedPathsMatchLibgit2() throws {
        let repo = try TestRepository()
        try manyFiles(repo)
        // A tracked file inside an ignored folder (forced in, as `git add -f` does).
        try repo.write("build/tracked.txt", "forced\n")
        try backdate(repo)
        try repo.commitAll("files")
        try repo.repository.stage("build/tracked.txt")
        try repo.commitAll("forced")

        try repo.write("src/file0.txt", "same size?\n")  // modified, different size
        try repo.write("src/sub/file1.txt", "src/sub X\n")  // modified, same size
        try repo.remove("data/file2.txt")  // deleted
        try repo.remove("src/sub/deeper")  // a whole tracked folder deleted
        try repo.write("src/new.txt", "untracked in a tracked folder\n")
        try repo.write("src/sub/scratch.tmp", "ignored by src/sub/.gitignore\n")
        try repo.write("fresh/one.txt", "untracked folder\n")
        try repo.write("fresh/deep/two.txt", "untracked folder, deeper\n")
        try repo.write("fresh/debug.log", "ignored inside an untracked folder\n")
        try repo.write("ignored/x.txt", "ignored folder\n")
        try repo.write("build/new.txt", "untracked in a tracked but ignored folder\n")
        try repo.write("dir with space/ñew file.txt", "odd name\n")
        try FileManager.default.createDirectory(
            at: repo.directory.appending("empty/inner"), withIntermediateDirectories: true)
        try repo.remove("top.txt")
        #expect(symlink("link.txt", repo.directory.appending("top.txt").path) == 0)  // file → symlink
        try repo.remove("link.txt")
        try repo.write("link.txt", "now a file\n")  // symlink → file
        #expect(chmod(repo.directory.appending("keep.log").path, 0o755) == 0)  // mode change
        #expect(mkfifo(repo.directory.appending("src/pipe").path, 0o644) == 0)  // never listed

        let outcome = try #require(try repo.repository.preloadedChanges(includeUntracked: true))
        // Deletions and size changes are decided from stat data alone (as libgit2 decides
        // them); only same-size edits, type and mode changes went to libgit2.
        #expect(Set(outcome.delegated) == ["src/sub/file1.txt", "top.txt", "link.txt", "keep.log"])
        let byPath = Dictionary(outcome.changes.map { ($0.path, $0.status) }, uniquingKeysWith: { a, _ in a })
        #expect(byPath["src/new.txt"] == .untracked)
        #expect(byPath["fresh/deep/two.txt"] == .untracked)
        #expect(byPath["build/new.txt"] == nil)
        #expect(byPath["src/sub/scratch.tmp"] == nil)
        #expect(byPath["src/pipe"] == nil)
        #expect(byPath["src/sub/deeper/file3.txt"] == .deleted)
        try expectSameAnswer(repo)
    }

    @Test func aNestedRepositoryIsOnePath() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "a\n")
        try backdate(repo)
        try repo.commitAll("a")
        _ = try Repository.create(at: repo.directory.appending("vendor/other").path)
        try repo.write("vendor/other/inside.txt", "not ours\n")
        let outcome = try #require(try repo.repository.preloadedChanges(includeUntracked: true))
        #expect(outcome.changes == [FileChange(status: .untracked, path: "vendor/other", isSubmodule: true)])
        try expectSameAnswer(repo)
    }

    @Test func shapesTheScanDoesNotModelGoToLibgit2() throws {
        // A tracked folder replaced by a file, and a tracked file replaced by a folder.
        let repo = try TestRepository()
        try repo.write("folder/inside.txt", "x\n")
        try repo.write("file.txt", "y\n")
        try backdate(repo)
        try repo.commitAll("shapes")
        try repo.remove("folder")
        try repo.write("folder", "now a file\n")
        try repo.remove("file.txt")
        try repo.write("file.txt/child.txt", "now a folder\n")
        #expect(try repo.repository.preloadedChanges(includeUntracked: true) == nil)
        try expectSameAnswer(repo)
    }

    @Test func racilyCleanFilesAreDecidedByContent() throws {
        // Written in the same instant as the index: stat data cannot prove them unchanged.
        let repo = try TestRepository()
        try repo.write("a.txt", "aaaa\n")
        try repo.write("b.txt", "bbbb\n")
        try repo.commitAll("racy")
        try repo.write("a.txt", "AAAA\n")  // same size, maybe the same timestamp tick
        let outcome = try #require(try repo.repository.preloadedChanges(includeUntracked: true))
        #expect(outcome.changes.map(\.path) == ["a.txt"])
        #expect(outcome.changes.map(\.status) == [.modified])
        try expectSameAnswer(repo)
    }

    @Test func anEmptyRepositoryListsEveryFileAsUntracked() throws {
        let repo = try TestRepository()
        try repo.write("one.txt", "1\n")
        try repo.write("two/three.txt", "3\n")
        let outcome = try #require(try repo.repository.preloadedChanges(includeUntracked: true))
        #expect(outcome.changes.map(\.path) == ["one.txt", "two/three.txt"])
        try expectSameAnswer(repo)
    }

    /// Random edits, round after round, on a tree of folders: after each round both
    /// strategies must give the same answer. Seeded, so a failure replays.
    @Test func randomEditsGiveLibgit2sAnswer() throws {
        let repo = try TestRepository()
        try repo.write(".gitignore", "*.tmp\nscratch/\n")
        var random = SplitMix64(seed: 20_261_123)
        func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
        let folders = ["", "a/", "a/b/", "a/b/c/", "d/", "d e/", "ü/"]
        var files: [String] = []
        for folder in folders {
            for number in 0..<6 {
                let path = "\(folder)f\(number).txt"
                try repo.write(path, "\(path)\n")
                files.append(path)
            }
        }
        try backdate(repo)
        try repo.commitAll("tree")
        for round in 0..<25 {
            for _ in 0..<(1 + pick(4)) {
                let path = files[pick(files.count)]
                let url = repo.directory.appending(path)
                switch pick(9) {
                case 0: try? repo.write(path, "changed \(round)\n")  // another size
                case 1:  // the same size, new content
                    if let text = try? String(contentsOf: url, encoding: .utf8) {
                        try repo.write(path, String(text.reversed()))
                    }
                case 2: try? repo.remove(path)
                case 3: try repo.write(folders[pick(folders.count)] + "new\(round).txt", "new\n")
                case 4: try repo.write(folders[pick(folders.count)] + "junk\(round).tmp", "ignored\n")
                case 5: try repo.write("scratch/\(round)/x.txt", "ignored folder\n")
                case 6: _ = chmod(url.path, pick(2) == 0 ? 0o755 : 0o644)
                case 7:  // touched: new stat data, same content
                    try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: url.path)
                default: try repo.write("fresh\(round)/deep/\(round).txt", "untracked folder\n")
                }
            }
            try expectSameAnswer(repo)
            if round % 5 == 4 {
                try backdate(repo)
                try repo.commitAll("round \(round)")
                files = try repo.repository.indexEntries().map(\.path).filter { !$0.hasPrefix(".") }
                try expectSameAnswer(repo)
            }
        }
    }

    @Test func stagedChangesUseTheCacheTreeOnlyWhenItMatches() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "a\n")
        let first = try repo.commitAll("a")
        #expect(try repo.repository.stagedChanges(from: first).isEmpty)
        try repo.write("b.txt", "b\n")
        let second = try repo.commitAll("b")
        // The index (cache-tree complete) matches the second commit, not the first.
        #expect(try repo.repository.stagedChanges(from: second).isEmpty)
        #expect(try repo.repository.stagedChanges(from: first).map(\.path) == ["b.txt"])
        try repo.write("c.txt", "c\n")
        try repo.repository.stage("c.txt")
        #expect(try repo.repository.stagedChanges(from: second).map(\.path) == ["c.txt"])
        try repo.remove("c.txt")
        try repo.repository.stage("c.txt")  // unstaged again: the cache-tree is now incomplete
        #expect(try repo.repository.stagedChanges(from: second).isEmpty)
    }
}
