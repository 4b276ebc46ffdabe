import Foundation
import GitKit
import MLOpsCore
import MLOpsTestSupport
import Pipeline
import Testing

@Suite struct InitTests {
    let library: TemplateLibrary

    init() throws {
        library = try TemplateLibrary.locate(environment: [:], executable: nil)
    }

    @Test func writesTheTaxiProjectAndARepository() throws {
        let dir = try TemporaryDirectory()
        let target = dir.appending("project")
        let result = try ProjectInitializer(library: library).initialize(
            directory: target, template: "taxi", ciProviders: [], force: false)
        #expect(result.createdRepository)
        #expect(
            result.files == [
                ".gitignore", "DATA_SOURCES.md", "data/data.csv", "mlops.yaml", "schema/schema.pbtxt",
                "trainer/train.py",
            ])
        let repository = try Repository.open(at: target.path)
        #expect(try repository.head() == .unborn(branch: "main"))
        #expect(
            try String(contentsOf: target.appendingPathComponent(".gitignore"), encoding: .utf8).contains(".mlops/\n"))
        let config = try MLOpsConfig.load(from: target.appendingPathComponent("mlops.yaml"), root: target)
        #expect(config.pipeline.name == "taxi")
        // No staging folder is left behind.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: target.path).allSatisfy { !$0.hasPrefix(".mlops-init") }
        )
    }

    @Test func doesNotNestARepositoryInsideAnExistingOne() throws {
        let repo = try TestRepository()
        let sub = repo.directory.appending("models/penguins")
        let result = try ProjectInitializer(library: library).initialize(
            directory: sub, template: "penguins", ciProviders: [], force: false)
        #expect(!result.createdRepository)
        #expect(!FileManager.default.fileExists(atPath: sub.appendingPathComponent(".git").path))
        #expect(result.files.contains("serving/penguins_unlabelled.csv"))
    }

    @Test func refusesANonEmptyDirectoryWithoutForce() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mlops.yaml", "mine\n")
        try dir.write("notes.txt", "keep me\n")
        do {
            _ = try ProjectInitializer(library: library).initialize(
                directory: dir.url, template: "taxi", ciProviders: [], force: false)
            Issue.record("must refuse")
        } catch let error as InitError {
            #expect(error.exitStatus == .usage)
            #expect(error.message == "'\(dir.path)' is not empty; these files would be overwritten: mlops.yaml")
            #expect(error.hint?.contains("--force") == true)
        }
        #expect(try dir.read("mlops.yaml") == "mine\n")
        #expect(!dir.exists("data/data.csv"))
    }

    @Test func forceReplacesTemplateFilesAndKeepsOthers() throws {
        let dir = try TemporaryDirectory()
        try dir.write("mlops.yaml", "mine\n")
        try dir.write("notes.txt", "keep me\n")
        try dir.write(".gitignore", "*.pyc")
        _ = try ProjectInitializer(library: library).initialize(
            directory: dir.url, template: "taxi", ciProviders: [], force: true)
        #expect(try dir.read("mlops.yaml").contains("name: taxi"))
        #expect(try dir.read("notes.txt") == "keep me\n")
        #expect(try dir.read(".gitignore").hasPrefix("*.pyc\n"))
        #expect(try dir.read(".gitignore").contains(".mlops/"))
    }

    @Test func unknownTemplateSuggestsTheNearest() throws {
        let dir = try TemporaryDirectory()
        do {
            _ = try ProjectInitializer(library: library).initialize(
                directory: dir.url, template: "taxy", ciProviders: [], force: false)
            Issue.record("must fail")
        } catch let error as InitError {
            #expect(error.message == "there is no template named 'taxy'")
            #expect(error.hint == "did you mean 'taxi'? available: penguins, taxi")
        }
    }

    @Test func copiesCIFilesOfAProvider() throws {
        let ci = try TemporaryDirectory()
        try ci.write("github/.github/workflows/mlops.yml", "name: mlops\n")
        let custom = TemplateLibrary(templates: library.templates, ci: ci.url)
        let dir = try TemporaryDirectory()
        let result = try ProjectInitializer(library: custom).initialize(
            directory: dir.url, template: "penguins", ciProviders: ["github"], force: false)
        #expect(result.files.contains(".github/workflows/mlops.yml"))
        #expect(try dir.read(".github/workflows/mlops.yml") == "name: mlops\n")
        #expect(throws: InitError.self) {
            _ = try ProjectInitializer(library: custom).initialize(
                directory: dir.appending("other"), template: "taxi", ciProviders: ["jenkins"], force: false)
        }
    }

    @Test func unwritableTargetIsAnIOErrorAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        try dir.write("a-file", "x")
        do {
            _ = try ProjectInitializer(library: library).initialize(
                directory: dir.appending("a-file/project"), template: "taxi", ciProviders: [], force: false)
            Issue.record("must fail")
        } catch let error as InitError {
            #expect(error.exitStatus == .ioError)
            #expect(error.message.hasPrefix("cannot write to '\(dir.appending("a-file/project").path)'"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a-file"])
    }

    @Test func aFailureHalfwayPutsReplacedFilesBack() throws {
        let dir = try TemporaryDirectory()
        try dir.write("DATA_SOURCES.md", "mine\n")
        try dir.write("data", "a file where the template needs a folder\n")
        do {
            _ = try ProjectInitializer(library: library).initialize(
                directory: dir.url, template: "taxi", ciProviders: [], force: true)
            Issue.record("placing data/data.csv under a file named 'data' must fail")
        } catch let error as InitError {
            #expect(error.exitStatus == .ioError)
        }
        #expect(try dir.read("DATA_SOURCES.md") == "mine\n")
        #expect(try dir.read("data") == "a file where the template needs a folder\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["DATA_SOURCES.md", "data"])
    }
}
