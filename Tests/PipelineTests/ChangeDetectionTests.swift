import Foundation
import GitKit
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Testing

let changeConfig = """
    pipeline: {name: demo}
    data: {sources: ["data/*.csv"]}
    schema: schema/schema.pbtxt
    transform:
      derive: {label: "y > 0"}
    trainer:
      label: label
      command: python trainer/train.py
    evaluation:
      thresholds:
        - {metric: auc, lower_bound: 0.7}

    """

/// A repository with mlops.yaml, data, schema and trainer code committed on main.
func makeProject() throws -> (TestRepository, ObjectID) {
    let repo = try TestRepository()
    try repo.write("mlops.yaml", changeConfig)
    try repo.write("data/train.csv", "x,y\n1,2\n3,4\n")
    try repo.write("schema/schema.pbtxt", "feature { name: \"x\" type: INT }\n")
    try repo.write("trainer/train.py", "print('train')\n")
    try repo.write("README.md", "demo\n")
    let base = try repo.commitAll("project")
    return (repo, base)
}

func detect(_ repo: TestRepository, base: String? = nil, environment: [String: String] = [:]) throws -> ChangeReport {
    let root = URL(fileURLWithPath: try #require(repo.repository.workingDirectory))
    let config = try MLOpsConfig.load(from: root.appendingPathComponent("mlops.yaml"), root: root)
    return try ChangeDetector(repository: repo.repository, config: config).detect(base: base, environment: environment)
}

func affected(_ report: ChangeReport) -> [String] { report.affected.map(\.component.rawValue) }

@Suite struct ChangeDetectionTests {
    @Test func factsOfACleanBranch() throws {
        let (repo, base) = try makeProject()
        try repo.repository.addRemote("origin", url: "https://bot:token@example.com/team/demo.git")
        let report = try detect(repo)
        #expect(report.repository.commit == base)
        #expect(report.repository.branch == "main")
        #expect(!report.repository.detached)
        #expect(!report.repository.dirty)
        #expect(report.repository.remoteURL == "https://example.com/team/demo.git")
        #expect(report.base.source == .defaultBranch)
        #expect(report.base.mergeBase == base)
        #expect(report.paths.isEmpty)
        #expect(report.affected.isEmpty)
    }

    @Test func everyStageWithStatusAndClass() throws {
        let (repo, _) = try makeProject()
        let body = (0..<40).map { "line \($0) of the readme, long enough to detect a rename" }.joined(separator: "\n")
        try repo.write("README.md", body)
        let base = try repo.commitAll("longer readme")
        try repo.repository.createBranch("feature", at: base)
        try repo.repository.checkout(branch: "feature")
        try repo.remove("README.md")
        try repo.write("docs/README.md", body)
        try repo.write("data/train.csv", "x,y\n1,2\n3,5\n")
        try repo.commitAll("move readme, change data")  // committed: rename + modification
        try repo.write("trainer/model.py", "print('model')\n")
        try repo.repository.stage("trainer/model.py")  // staged addition
        try repo.write("schema/schema.pbtxt", "feature { name: \"x\" type: FLOAT }\n")  // unstaged
        try repo.write("data/new drop/ünï.csv", "x,y\n5,6\n")  // untracked, spaces and non-ASCII

        let report = try detect(repo, base: "main")
        #expect(report.base.source == .flag)
        #expect(report.base.mergeBase == base)
        #expect(report.repository.dirty)
        let byPath = Dictionary(uniqueKeysWithValues: report.paths.map { ($0.path, $0) })
        #expect(byPath["docs/README.md"]?.status == .renamed)
        #expect(byPath["docs/README.md"]?.oldPath == "README.md")
        #expect(byPath["docs/README.md"]?.classes == [.other])
        #expect(byPath["data/train.csv"]?.stages == [.committed])
        #expect(byPath["data/train.csv"]?.classes == [.data])
        #expect(byPath["trainer/model.py"]?.stages == [.staged])
        #expect(byPath["trainer/model.py"]?.status == .added)
        #expect(byPath["schema/schema.pbtxt"]?.stages == [.unstaged])
        #expect(byPath["schema/schema.pbtxt"]?.classes == [.schema])
        #expect(byPath["data/new drop/ünï.csv"]?.status == .untracked)
        #expect(byPath["data/new drop/ünï.csv"]?.classes == [.other], "data/*.csv does not reach into subfolders")
        #expect(report.paths.count == 5)
    }

    @Test(arguments: [
        ("threshold", ["Evaluator"]),
        ("trainer code", ["Trainer", "Evaluator", "InfraValidator"]),
        (
            "data",
            ["ExampleGen", "StatisticsGen", "ExampleValidator", "Transform", "Trainer", "Evaluator", "InfraValidator"]
        ),
        ("schema", ["ImportSchemaGen", "ExampleValidator", "Transform", "Trainer", "Evaluator", "InfraValidator"]),
        ("release", [String]()),
        ("readme", [String]()),
    ])
    func changesAffectTheirComponentsAndWhatFollows(change: String, expected: [String]) throws {
        let (repo, _) = try makeProject()
        switch change {
        case "threshold": try repo.write("mlops.yaml", changeConfig.replacingOccurrences(of: "0.7", with: "0.8"))
        case "trainer code": try repo.write("trainer/train.py", "print('better')\n")
        case "data": try repo.write("data/train.csv", "x,y\n1,2\n")
        case "schema": try repo.write("schema/schema.pbtxt", "feature { name: \"x\" type: FLOAT }\n")
        case "release": try repo.write("mlops.yaml", changeConfig + "release: {channels: [production]}\n")
        default: try repo.write("README.md", "changed\n")
        }
        let report = try detect(repo)
        #expect(affected(report) == expected)
        if change == "threshold" {
            #expect(report.configSections == ["evaluation"])
            #expect(report.affected.first?.reasons == ["mlops.yaml: 'evaluation' changed"])
        }
    }

    @Test func movingDataOutOfItsFolderIsADataChange() throws {
        let (repo, base) = try makeProject()
        try repo.repository.createBranch("move", at: base)
        try repo.repository.checkout(branch: "move")
        try repo.remove("data/train.csv")
        try repo.write("archive/train.csv", "x,y\n1,2\n3,4\n")
        try repo.commitAll("archive the data")
        try repo.write("archive/train.csv", "x,y\n1,2\n3,4\n5,6\n")  // and modified afterwards
        let report = try detect(repo, base: "main")
        let moved = try #require(report.paths.first { $0.path == "archive/train.csv" })
        #expect(moved.oldPath == "data/train.csv", "the rename's origin survives a later change")
        #expect(moved.classes == [.data])
        #expect(affected(report).first == "ExampleGen")
    }

    @Test func symlinksAreFingerprintedByTheirTarget() throws {
        let (repo, _) = try makeProject()
        try FileManager.default.createDirectory(
            at: repo.directory.appending("elsewhere"), withIntermediateDirectories: true)
        #expect(symlink("../elsewhere", repo.directory.appending("data/linked.csv").path) == 0)  // a link to a folder
        #expect(symlink("missing.csv", repo.directory.appending("data/dangling.csv").path) == 0)
        let report = try detect(repo)
        #expect(report.fingerprints["data"]?.fileCount == 3)
    }

    @Test func anotherConfigFileAffectsEverything() throws {
        let (repo, _) = try makeProject()
        try repo.write("mlops.yaml", changeConfig + "paths: {config: [mlops.yaml, configs/**]}\n")
        try repo.write("configs/hp.yaml", "eta: 0.1\n")
        try repo.commitAll("config files")
        try repo.write("configs/hp.yaml", "eta: 0.2\n")
        let report = try detect(repo)
        #expect(affected(report).count == 8)
        #expect(report.affected.first?.reasons == ["config changed: configs/hp.yaml"])
    }

    @Test func ciVariablesChooseTheBaseInOrder() throws {
        let (repo, base) = try makeProject()
        try repo.repository.createBranch("release", at: base)
        try repo.write("data/train.csv", "x,y\n9,9\n")
        let second = try repo.commitAll("more data")
        try repo.repository.setReference("refs/remotes/origin/stable", to: base)
        try repo.repository.createBranch("topic", at: second)
        try repo.repository.checkout(branch: "topic")
        try repo.write("data/train.csv", "x,y\n7,7\n")
        try repo.commitAll("topic work")

        let github = try detect(repo, environment: ["GITHUB_BASE_REF": "release", "MLOPS_BASE": "main"])
        #expect(github.base.source == .githubBaseRef)
        #expect(github.base.resolvedRef == "refs/heads/release")
        #expect(github.base.mergeBase == base)

        let gitlabSHA = try detect(
            repo,
            environment: [
                "CI_MERGE_REQUEST_DIFF_BASE_SHA": second.hex, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "release",
            ])
        #expect(gitlabSHA.base.source == .gitlabDiffBaseSHA)
        #expect(gitlabSHA.base.mergeBase == second)

        let gitlabBranch = try detect(repo, environment: ["CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "stable"])
        #expect(gitlabBranch.base.source == .gitlabTargetBranch)
        #expect(gitlabBranch.base.resolvedRef == "refs/remotes/origin/stable")
        #expect(gitlabBranch.base.mergeBase == base)

        let mlopsBase = try detect(repo, environment: ["MLOPS_BASE": "main"])
        #expect(mlopsBase.base.source == .mlopsBase)
        #expect(mlopsBase.base.mergeBase == second)

        let flag = try detect(repo, base: "release", environment: ["GITHUB_BASE_REF": "main"])
        #expect(flag.base.source == .flag)
        #expect(flag.base.mergeBase == base)
    }

    @Test func theDefaultBranchIsWhatOriginHEADPointsAt() throws {
        let (repo, base) = try makeProject()
        try repo.repository.setReference("refs/remotes/origin/trunk", to: base)
        try repo.repository.setSymbolicReference("refs/remotes/origin/HEAD", to: "refs/remotes/origin/trunk")
        try repo.repository.createBranch("feature", at: base)
        try repo.repository.checkout(branch: "feature")
        try repo.write("data/train.csv", "x,y\n0,0\n")
        try repo.commitAll("feature")
        let report = try detect(repo)
        #expect(report.base.source == .defaultBranch)
        #expect(report.base.requested == "trunk")
        #expect(report.base.resolvedRef == "refs/remotes/origin/trunk")
        #expect(report.base.mergeBase == base)
    }

    @Test func unknownBaseFallsBackAndNamesCloseMatches() throws {
        let (repo, _) = try makeProject()
        let report = try detect(repo, base: "mian")
        #expect(report.base.fallback == "base 'mian' (from --base) does not exist in this repository")
        #expect(report.base.hint == "close matches: main")
        #expect(report.paths.allSatisfy { $0.stages.contains(.assumed) })
        #expect(report.paths.count == 5)
        #expect(affected(report).first == "ExampleGen")
        #expect(affected(report).count == 8)
    }

    @Test func emptyRepositoryFallsBack() throws {
        let repo = try TestRepository()
        try repo.write("mlops.yaml", changeConfig)
        try repo.write("schema/schema.pbtxt", "x")
        let report = try detect(repo, base: "main")
        #expect(report.base.fallback == "the repository has no commits yet")
        #expect(report.repository.commit == nil)
        #expect(report.paths.map(\.path).sorted() == ["mlops.yaml", "schema/schema.pbtxt"])
        #expect(report.paths.allSatisfy { $0.stages == [.untracked] })
    }

    @Test func detachedHeadAsCIChecksOut() throws {
        let (repo, base) = try makeProject()
        try repo.write("data/train.csv", "x,y\n0,0\n")
        let head = try repo.commitAll("data")
        try repo.repository.checkout(detachedAt: head)
        let report = try detect(repo, environment: ["GITHUB_BASE_REF": "main"])
        #expect(report.repository.detached)
        #expect(report.repository.branch == nil)
        #expect(report.base.mergeBase == head, "main is at HEAD")
        let fromBase = try detect(repo, base: base.hex)
        #expect(fromBase.paths.map(\.path) == ["data/train.csv"])
    }

    @Test func shallowCloneWithoutTheBaseCommit() throws {
        let (repo, first) = try makeProject()
        try repo.write("data/train.csv", "x,y\n0,0\n")
        let second = try repo.commitAll("second")
        try repo.write("data/train.csv", "x,y\n0,1\n")
        try repo.commitAll("third")
        // Make it a shallow clone cut at `second`: its parent's objects are gone.
        try "\(second.hex)\n".write(
            toFile: repo.repository.gitDirectory + "/shallow", atomically: true, encoding: .utf8)
        let object = repo.repository.gitDirectory + "/objects/" + first.hex.prefix(2) + "/" + first.hex.dropFirst(2)
        try FileManager.default.removeItem(atPath: object)
        let reopened = try Repository.open(at: repo.path)
        #expect(reopened.isShallow)
        let root = URL(fileURLWithPath: repo.path)
        let config = try MLOpsConfig.load(from: root.appendingPathComponent("mlops.yaml"), root: root)
        let report = try ChangeDetector(repository: reopened, config: config)
            .detect(base: nil, environment: ["CI_MERGE_REQUEST_DIFF_BASE_SHA": first.hex])
        #expect(
            report.base.fallback
                == "base commit \(first.short) (from $CI_MERGE_REQUEST_DIFF_BASE_SHA) is not in this clone, which is shallow"
        )
        #expect(report.base.hint?.contains("fetch-depth: 0") == true)
        #expect(report.repository.shallow)
    }

    @Test func submoduleIsOnePathNotDescended() throws {
        let (repo, _) = try makeProject()
        let signature = Signature(
            name: "sub", email: "sub@mlops.invalid", time: Date(timeIntervalSince1970: 1_700_000_000))
        try repo.repository.addSubmodule(url: "https://example.com/lib.git", path: "vendor/lib") { sub in
            try Data("v1\n".utf8).write(to: URL(fileURLWithPath: repo.directory.appending("vendor/lib/lib.py").path))
            try sub.stageAll()
            try sub.commit(message: "lib v1", author: signature)
        }
        try repo.commitAll("add submodule")
        #expect(try repo.repository.indexEntries().first { $0.path == "vendor/lib" }?.isSubmodule == true)
        // A new commit inside the submodule: the superproject sees one changed path.
        let sub = try Repository.open(at: repo.directory.appending("vendor/lib").path)
        try Data("v2\n".utf8).write(to: URL(fileURLWithPath: repo.directory.appending("vendor/lib/lib.py").path))
        try sub.stageAll()
        try sub.commit(message: "lib v2", author: signature)
        let report = try detect(repo)
        let vendor = report.paths.filter { $0.path.hasPrefix("vendor") }
        #expect(vendor.map(\.path) == ["vendor/lib"])
        #expect(vendor.first?.submodule == true)
        #expect(vendor.first?.status == .modified)
    }

    @Test func nestedRepositoryIsOnePathNotDescended() throws {
        let (repo, _) = try makeProject()
        let nested = try Repository.create(at: repo.directory.appending("vendor/lib").path)
        _ = nested
        try repo.write("vendor/lib/inner.py", "x")
        let report = try detect(repo)
        let vendor = report.paths.filter { $0.path.hasPrefix("vendor") }
        #expect(vendor.map(\.path) == ["vendor/lib"])
        #expect(vendor.first?.submodule == true)
    }
}

@Suite struct FingerprintTests {
    @Test func committedFilesUseTheirBlobIDWithoutHashing() throws {
        let (repo, base) = try makeProject()
        let unstaged = try repo.repository.unstagedChanges()
        let fingerprinter = try Fingerprinter(repository: repo.repository, unstaged: unstaged)
        let blob = try #require(try repo.repository.blobID(at: "data/train.csv", in: base))
        #expect(try fingerprinter.fingerprint(of: "data/train.csv")?.value == "git:" + blob.hex)
        #expect(try fingerprinter.fingerprint(of: "no/such/file") == nil)
    }

    @Test func modifiedAndUntrackedFilesAreHashedWithSHA256() throws {
        let (repo, _) = try makeProject()
        try repo.write("data/train.csv", "abc")
        try repo.write("data/extra.csv", "abc")
        let fingerprinter = try Fingerprinter(
            repository: repo.repository, unstaged: try repo.repository.unstagedChanges())
        let sha256abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        #expect(try fingerprinter.fingerprint(of: "data/train.csv")?.value == sha256abc)
        #expect(try fingerprinter.fingerprint(of: "data/extra.csv")?.value == sha256abc)
        let set = try fingerprinter.fingerprint(patterns: ["data/*.csv"])
        #expect(set.fileCount == 2)
    }

    @Test func gitLFSPointersYieldTheirOID() throws {
        let repo = try TestRepository()
        let oid = String(repeating: "4d7a", count: 16)
        try repo.write(".gitattributes", "*.bin filter=lfs diff=lfs merge=lfs -text\n")
        try repo.write("model.bin", "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 123456789\n")
        try repo.commitAll("lfs")
        let fingerprinter = try Fingerprinter(
            repository: repo.repository, unstaged: try repo.repository.unstagedChanges())
        #expect(try fingerprinter.fingerprint(of: "model.bin")?.value == "sha256:" + oid)
    }

    @Test func setFingerprintsAreStableAcrossCheckoutLocations() throws {
        let (one, _) = try makeProject()
        let (two, _) = try makeProject()
        #expect(one.path != two.path)
        let a = try Fingerprinter(repository: one.repository, unstaged: []).fingerprint(patterns: [
            "data/*.csv", "trainer/**",
        ])
        let b = try Fingerprinter(repository: two.repository, unstaged: []).fingerprint(patterns: [
            "data/*.csv", "trainer/**",
        ])
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fileCount == 2)
        try two.write("trainer/train.py", "changed")
        let c = try Fingerprinter(repository: two.repository, unstaged: try two.repository.unstagedChanges())
            .fingerprint(patterns: ["data/*.csv", "trainer/**"])
        #expect(c.fingerprint != a.fingerprint)
    }
}

@Suite struct PathGlobTests {
    @Test(arguments: [
        ("data/*.csv", "data/a.csv", true), ("data/*.csv", "data/sub/a.csv", false),
        ("data/**/*.csv", "data/sub/a.csv", true),
        ("data/**/*.csv", "data/a.csv", true), ("**/*.py", "a/b/c.py", true), ("*.py", "src/x.py", false),
        ("trainer", "trainer/train.py", true), ("trainer/", "trainer/x/y.py", true),
        ("data/span-*/*.csv", "data/span-3/a.csv", true),
        ("mlops.yaml", "mlops.yaml", true), ("mlops.yaml", "other/mlops.yaml", false),
        ("data/[ab].csv", "data/c.csv", false),
    ])
    func matches(pattern: String, path: String, expected: Bool) {
        #expect(PathGlob(pattern).matches(path) == expected)
    }
}
