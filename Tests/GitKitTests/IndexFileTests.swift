import Crypto
import Foundation
import MLOpsTestSupport
import Testing

@testable import GitKit

/// mlops reads `.git/index` itself for status; it must read exactly what libgit2 reads, in
/// every format version, and refuse (so libgit2 answers) anything damaged or unmodelled.
@Suite struct IndexFileTests {
    private func repositoryWithOddPaths() throws -> TestRepository {
        let repo = try TestRepository()
        // Shared prefixes exercise format 4's path compression; a long path needs the full
        // 12-bit name length; odd bytes and deep folders round it out.
        try repo.write("a.txt", "1\n")
        try repo.write("a/b.txt", "2\n")
        try repo.write("a/b/c.txt", "3\n")
        try repo.write("a/bb/c.txt", "4\n")
        try repo.write("dir with space/ünïcode ✓.txt", "5\n")
        try repo.write(String(repeating: "long-folder-name/", count: 14) + "file.txt", "6\n")
        for number in 0..<40 { try repo.write("many/file\(number).csv", "\(number)\n") }
        #expect(symlink("a.txt", repo.directory.appending("link").path) == 0)
        try repo.commitAll("odd paths")
        return repo
    }

    private var indexPath: (TestRepository) -> String { { $0.repository.gitDirectory + "/index" } }

    @Test(arguments: [UInt32(2), 3, 4])
    func readsWhatLibgit2ReadsInEveryVersion(version: UInt32) throws {
        let repo = try repositoryWithOddPaths()
        try repo.repository.rewriteIndex(version: version)
        let file = try #require(IndexFile.read(at: indexPath(repo)))
        let reference = try repo.repository.libgit2IndexEntries()
        #expect(file.entries.count == reference.count)
        #expect(try repo.repository.indexEntries() == reference)
        #expect(file.entries.contains { $0.mode == 0o120000 })
        // Stat data are read too: every path is proved unchanged against the work tree
        // except those written in the index's own timestamp tick.
        #expect(file.entries.allSatisfy { $0.size > 0 && $0.inode > 0 })
    }

    @Test func theCacheTreeRootIsTheCommittedTreeUntilSomethingIsStaged() throws {
        let repo = try repositoryWithOddPaths()
        let head = try #require(try repo.repository.head().commit)
        let file = try #require(IndexFile.read(at: indexPath(repo)))
        #expect(file.cacheTreeRoot == (try repo.repository.treeID(of: head)))
        try repo.write("a/new.txt", "staged\n")
        try repo.repository.stage("a/new.txt")
        #expect(try #require(IndexFile.read(at: indexPath(repo))).cacheTreeRoot == nil)
        #expect(try repo.repository.status(against: head).staged.map(\.path) == ["a/new.txt"])
    }

    @Test func aDamagedIndexIsNotScanned() throws {
        let repo = try repositoryWithOddPaths()
        let url = URL(fileURLWithPath: indexPath(repo))
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count / 2] ^= 0x40  // a flipped bit: the checksum no longer matches
        try Data(bytes).write(to: url)
        #expect(IndexFile.read(at: url.path) == nil)
        // The scan stands aside; libgit2 answers from the index as it reads it.
        #expect(try repo.repository.preloadedChanges(includeUntracked: true) == nil)
        // Cut short: also not read.
        try Data(bytes.prefix(bytes.count / 3)).write(to: url)
        #expect(IndexFile.read(at: url.path) == nil)
    }

    /// The index with an extension added before its checksum, the checksum recomputed (or
    /// zeroed, as `index.skipHash` does).
    private func withExtension(_ signature: String, _ payload: [UInt8], in bytes: [UInt8], zeroHash: Bool = false)
        -> [UInt8]
    {
        var body = Array(bytes.dropLast(20))
        body += Array(signature.utf8)
        let size = UInt32(payload.count)
        body += [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)]
        body += payload
        return body + (zeroHash ? [UInt8](repeating: 0, count: 20) : Array(Insecure.SHA1.hash(data: body)))
    }

    @Test func extensionsGitMayWriteAreReadOrRefused() throws {
        let repo = try repositoryWithOddPaths()
        let url = URL(fileURLWithPath: indexPath(repo))
        let original = [UInt8](try Data(contentsOf: url))
        let count = try #require(IndexFile.read(at: url.path)).entries.count

        // An optional extension mlops does not know (capital first letter) is skipped.
        try Data(withExtension("ZZZZ", [1, 2, 3], in: original)).write(to: url)
        #expect(IndexFile.read(at: url.path)?.entries.count == count)
        // index.skipHash: a zero checksum is not checked.
        try Data(withExtension("ZZZZ", [], in: original, zeroHash: true)).write(to: url)
        #expect(IndexFile.read(at: url.path)?.entries.count == count)
        // A split index ("link") keeps entries elsewhere: not modelled, libgit2 decides.
        try Data(withExtension("link", [UInt8](repeating: 0, count: 20), in: original)).write(to: url)
        #expect(IndexFile.read(at: url.path) == nil)
    }

    @Test func noIndexFileIsAnEmptyIndex() throws {
        let repo = try TestRepository()
        let file = try #require(IndexFile.read(at: indexPath(repo)))
        #expect(file.entries.isEmpty)
        #expect(file.cacheTreeRoot == nil)
    }
}
