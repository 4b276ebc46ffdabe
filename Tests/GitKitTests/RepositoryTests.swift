import Foundation
import GitKit
import MLOpsCore
import MLOpsTestSupport
import Testing

@Suite struct RepositoryTests {
    @Test func emptyRepositoryHasUnbornHead() throws {
        let repo = try TestRepository()
        #expect(repo.repository.isEmpty)
        #expect(try repo.repository.head() == .unborn(branch: "main"))
        #expect(
            repo.repository.workingDirectory == URL(fileURLWithPath: repo.path).resolvingSymlinksInPath().path
                || repo.repository.workingDirectory == repo.path)
    }

    @Test func sameStepsGiveSameCommitIDs() throws {
        func build() throws -> ObjectID {
            let repo = try TestRepository()
            try repo.write("data/a.csv", "x,y\n1,2\n")
            return try repo.commitAll("add data")
        }
        let first = try build()
        let second = try build()
        #expect(first == second)
    }

    @Test func commitTimeAndConfigValues() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "one\n")
        let first = try repo.commitAll("one")
        try repo.write("a.txt", "two\n")
        let second = try repo.commitAll("two")
        #expect(try repo.repository.commitTime(second) - repo.repository.commitTime(first) == 60)
        #expect(try repo.repository.configValue("mlops.test.unset") == nil)
        #expect(throws: GitError.self) {
            try repo.repository.commitTime(ObjectID(hex: String(repeating: "1", count: 40))!)
        }
    }

    @Test func headBranchAndDetached() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "one\n")
        let c1 = try repo.commitAll("one")
        #expect(try repo.repository.head() == .branch(name: "main", commit: c1))
        try repo.write("a.txt", "two\n")
        let c2 = try repo.commitAll("two")
        try repo.repository.checkout(detachedAt: c1)
        #expect(try repo.repository.head() == .detached(commit: c1))
        #expect(try repo.directory.read("a.txt") == "one\n")
        #expect(try repo.repository.resolveCommit("main") == c2)
        #expect(try repo.repository.resolveCommit("main~1") == c1)
    }

    @Test func discoverFromSubfolder() throws {
        let repo = try TestRepository()
        try repo.write("deep/er/file.txt", "x")
        let found = try Repository.discover(from: repo.directory.appending("deep/er").path)
        #expect(found.workingDirectory?.hasSuffix(URL(fileURLWithPath: repo.path).lastPathComponent) == true)
    }

    @Test func notARepositoryIsNamedWithAHint() throws {
        let dir = try TemporaryDirectory()
        do {
            _ = try Repository.open(at: dir.path)
            Issue.record("opening a plain folder must fail")
        } catch {
            #expect(error.code == .notARepository)
            #expect(error.exitStatus == .noInput)
            #expect(error.message == "'\(dir.path)' is not inside a git repository")
            #expect(error.hint?.contains("mlops init") == true)
        }
    }

    @Test(.enabled(if: getuid() == 0, "changing a repository's owner needs root"))
    func repositoryOwnedByAnotherUserNamesTheFix() throws {
        let repo = try TestRepository()
        try repo.write("a", "a")
        try repo.commitAll("a")
        // Hand the repository to "nobody" (uid 65534); opening it as root trips libgit2's ownership check.
        for path in [repo.path, repo.path + "/.git"] { #expect(chown(path, 65534, 65534) == 0) }
        do {
            _ = try Repository.open(at: repo.path)
            Issue.record("libgit2's ownership check must refuse the repository")
        } catch {
            #expect(error.code == .unsafeOwnership)
            #expect(error.hint?.contains("git config --global --add safe.directory") == true)
            #expect(error.exitStatus == .ioError)
        }
    }

    @Test func unknownRevisionIsNotFound() throws {
        let repo = try TestRepository()
        try repo.write("a", "a")
        try repo.commitAll("a")
        do {
            _ = try repo.repository.resolveCommit("no-such-branch")
            Issue.record("must fail")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.function == "git_revparse_single")
            #expect(error.object == "no-such-branch")
            #expect(!error.detail.isEmpty)
        }
    }

    @Test func mergeBaseAndTreeDiffWithRenames() throws {
        let repo = try TestRepository()
        let body = (0..<50).map { "line \($0) of a file long enough for rename detection" }.joined(separator: "\n")
        try repo.write("src/model.py", body)
        try repo.write("README", "readme")
        let base = try repo.commitAll("base")
        try repo.repository.createBranch("feature", at: base)
        try repo.repository.checkout(branch: "feature")
        try repo.remove("src/model.py")
        try repo.write("src/trainer.py", body)
        try repo.remove("README")
        try repo.write("data/new.csv", "a\n1\n")
        let feature = try repo.commitAll("feature work")
        try repo.repository.checkout(branch: "main")
        try repo.write("main.txt", "main only")
        let main = try repo.commitAll("main work")

        #expect(try repo.repository.mergeBase(main, feature) == base)
        let changes = try repo.repository.changes(from: base, to: feature)
        #expect(
            changes.contains(
                FileChange(
                    status: .renamed, path: "src/trainer.py", oldPath: "src/model.py",
                    newID: changes.first { $0.path == "src/trainer.py" }?.newID)))
        #expect(changes.contains { $0.status == .deleted && $0.path == "README" })
        #expect(changes.contains { $0.status == .added && $0.path == "data/new.csv" })
        #expect(changes.count == 3)
        let everything = try repo.repository.changes(from: nil, to: base)
        #expect(Set(everything.map(\.path)) == ["README", "src/model.py"])
        #expect(everything.allSatisfy { $0.status == .added })
    }

    @Test func workingTreeChangesCoverStagedUnstagedAndUntracked() throws {
        let repo = try TestRepository()
        try repo.write(".gitignore", "ignored/\n")
        try repo.write("tracked.txt", "v1\n")
        try repo.write("gone.txt", "bye\n")
        let head = try repo.commitAll("init")
        try repo.write("tracked.txt", "v2\n")  // unstaged modification
        try repo.remove("gone.txt")  // unstaged deletion
        try repo.write("staged.txt", "new\n")
        try repo.repository.stage("staged.txt")  // staged addition
        try repo.write("dir with space/ünïcode.txt", "u\n")  // untracked, odd name
        try repo.write("ignored/x.txt", "i\n")  // ignored: never listed
        let changes = try repo.repository.workingTreeChanges(from: head)
        let byPath = Dictionary(uniqueKeysWithValues: changes.map { ($0.path, $0.status) })
        #expect(byPath["tracked.txt"] == .modified)
        #expect(byPath["gone.txt"] == .deleted)
        #expect(byPath["staged.txt"] == .added)
        #expect(byPath["dir with space/ünïcode.txt"] == .untracked)
        #expect(byPath["ignored/x.txt"] == nil)
        #expect(try repo.repository.stagedChanges(from: head).map(\.path) == ["staged.txt"])
        let trackedOnly = try repo.repository.workingTreeChanges(from: head, includeUntracked: false)
        #expect(!trackedOnly.contains { $0.status == .untracked })
    }

    @Test func aFileReplacedByASymlinkIsOneTypeChange() throws {
        let repo = try TestRepository()
        try repo.write("a.txt", "a\n")
        try repo.write("b.txt", "b\n")
        try repo.commitAll("files")
        try repo.remove("b.txt")
        #expect(symlink("a.txt", repo.directory.appending("b.txt").path) == 0)
        let changes = try repo.repository.unstagedChanges()
        #expect(changes == [FileChange(status: .typeChanged, path: "b.txt")])
    }

    @Test func blobIDsComeFromTreeAndIndexWithoutHashing() throws {
        let repo = try TestRepository()
        try repo.write("data/a.csv", "x,y\n1,2\n")
        let head = try repo.commitAll("data")
        let fromTree = try repo.repository.blobID(at: "data/a.csv", in: head)
        let fromIndex = try repo.repository.indexBlobID(at: "data/a.csv")
        let hashed = try repo.repository.hashFile(at: repo.directory.appending("data/a.csv").path)
        #expect(fromTree != nil)
        #expect(fromTree == fromIndex)
        #expect(fromTree == hashed)
        // git's blob id of "x,y\n1,2\n" (git hash-object), independent of libgit2.
        #expect(fromTree?.hex == gitBlobID("x,y\n1,2\n"))
        #expect(try repo.repository.blobID(at: "missing.csv", in: head) == nil)
        #expect(try repo.repository.contents(of: "data/a.csv", in: head) == Data("x,y\n1,2\n".utf8))
        try repo.write("data/a.csv", "changed\n")
        #expect(try repo.repository.hashFile(at: repo.directory.appending("data/a.csv").path) != fromTree)
    }

    @Test func remoteURLsLoseTheirCredentials() throws {
        let repo = try TestRepository()
        #expect(try repo.repository.remoteURL() == nil)
        try repo.repository.addRemote("origin", url: "https://ci-bot:s3cret@git.example.com/team/model.git")
        #expect(try repo.repository.remoteURL() == "https://git.example.com/team/model.git")
        #expect(Repository.strippingCredentials("git@github.com:team/model.git") == "git@github.com:team/model.git")
        #expect(Repository.strippingCredentials("https://host/x") == "https://host/x")
    }

    @Test func referencesAndShallowFlag() throws {
        let repo = try TestRepository()
        try repo.write("a", "a")
        let c = try repo.commitAll("a")
        try repo.repository.setReference("refs/remotes/origin/main", to: c)
        #expect(try repo.repository.referenceNames() == ["refs/heads/main", "refs/remotes/origin/main"])
        #expect(!repo.repository.isShallow)
        #expect(repo.repository.hasCommit(c))
        let unknown = try #require(ObjectID(hex: String(repeating: "ab", count: 20)))
        #expect(!repo.repository.hasCommit(unknown))
    }
}

/// git's blob id: SHA-1 of "blob <size>\0<content>", computed here without git or libgit2.
func gitBlobID(_ content: String) -> String {
    let bytes = Array("blob \(content.utf8.count)\0".utf8) + Array(content.utf8)
    return SHA1.hex(bytes)
}

/// A minimal SHA-1 for the test's independent check (not used by mlops itself).
enum SHA1 {
    static func hex(_ message: [UInt8]) -> String {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8((bitLength >> UInt64(shift)) & 0xFF)) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 80)
            for i in 0..<16 {
                w[i] = (0..<4).reduce(UInt32(0)) { ($0 << 8) | UInt32(data[chunk + i * 4 + $1]) }
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = (x << 1) | (x >> 31)
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) =
                    i < 20
                    ? ((b & c) | (~b & d), 0x5A82_7999)
                    : i < 40
                        ? (b ^ c ^ d, 0x6ED9_EBA1)
                        : i < 60 ? ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC) : (b ^ c ^ d, 0xCA62_C1D6)
                let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, temp)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
        }
        return h.map { String(format: "%08x", $0) }.joined()
    }
}
