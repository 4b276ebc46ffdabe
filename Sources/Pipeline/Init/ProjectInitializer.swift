import Foundation
import GitKit
import MLOpsCore

/// Why `mlops init` could not write a project.
public enum InitError: MLOpsError {
    case unknownTemplate(String, available: [String])
    case unknownCIProvider(String, available: [String])
    case templatesNotFound(searched: [String])
    case directoryNotEmpty(String, conflicts: [String])
    case notWritable(String, detail: String)

    public var message: String {
        switch self {
        case .unknownTemplate(let name, _): "there is no template named '\(name)'"
        case .unknownCIProvider(let name, _): "there are no CI files for provider '\(name)'"
        case .templatesNotFound: "the project templates of mlops were not found"
        case .directoryNotEmpty(let path, let conflicts):
            "'\(path)' is not empty"
                + (conflicts.isEmpty
                    ? ""
                    : "; these files would be overwritten: " + conflicts.prefix(5).joined(separator: ", ")
                        + (conflicts.count > 5 ? ", …" : ""))
        case .notWritable(let path, let detail): "cannot write to '\(path)': \(detail)"
        }
    }

    public var hint: String? {
        switch self {
        case .unknownTemplate(let name, let available), .unknownCIProvider(let name, let available):
            if available.isEmpty { return "none are installed" }
            let nearest = Suggestions.nearest(to: name, in: available).map { "did you mean '\($0)'? " } ?? ""
            return nearest + "available: " + available.joined(separator: ", ")
        case .templatesNotFound(let searched):
            return
                "set MLOPS_TEMPLATES to the templates/ folder of the mlops source tree (searched: \(searched.joined(separator: ", ")))"
        case .directoryNotEmpty:
            return "choose an empty or new directory, or pass --force to write the template files over existing ones"
        case .notWritable:
            return "check the directory's permissions, or choose another directory"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .unknownTemplate, .unknownCIProvider, .directoryNotEmpty: .usage
        case .templatesNotFound: .noInput
        case .notWritable: .ioError
        }
    }
}

/// Where the templates and CI files that ship with mlops are.
public struct TemplateLibrary: Sendable {
    /// `templates/`: one folder per project template.
    public let templates: URL
    /// `ci/`: one folder per CI provider.
    public let ci: URL

    public init(templates: URL, ci: URL) {
        self.templates = templates
        self.ci = ci
    }

    /// Finds the library: `MLOPS_TEMPLATES` (and `MLOPS_CI_TEMPLATES`), then
    /// `<prefix>/share/mlops/` beside an installed binary, then the source tree this binary was built from.
    public static func locate(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: URL? = Bundle.main.executableURL
    ) throws(InitError) -> TemplateLibrary {
        var candidates: [(URL, URL)] = []
        if let override = environment["MLOPS_TEMPLATES"], !override.isEmpty {
            let templates = URL(fileURLWithPath: override)
            let ci =
                environment["MLOPS_CI_TEMPLATES"].map { URL(fileURLWithPath: $0) }
                ?? templates.deletingLastPathComponent().appendingPathComponent("ci")
            candidates.append((templates, ci))
        }
        if let executable {
            let share = executable.resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("share/mlops")
            candidates.append((share.appendingPathComponent("templates"), share.appendingPathComponent("ci")))
        }
        // The source tree: Sources/Pipeline/Init/ProjectInitializer.swift → the package root.
        let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append((sourceRoot.appendingPathComponent("templates"), sourceRoot.appendingPathComponent("ci")))
        for (templates, ci) in candidates where FileManager.default.fileExists(atPath: templates.path) {
            return TemplateLibrary(templates: templates, ci: ci)
        }
        throw InitError.templatesNotFound(searched: candidates.map(\.0.path))
    }

    /// Template names: folders of `templates/` that hold an `mlops.yaml`.
    public var templateNames: [String] { Self.folders(in: templates, containing: MLOpsConfig.fileName) }
    /// CI providers: folders of `ci/`.
    public var ciProviders: [String] { Self.folders(in: ci, containing: nil) }

    private static func folders(in directory: URL, containing file: String?) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            let path = directory.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                return false
            }
            return file.map { FileManager.default.fileExists(atPath: path + "/" + $0) } ?? true
        }.sorted()
    }
}

/// Writes a new project from a template: `mlops.yaml`, data, schema, `.gitignore`, CI files,
/// and a git repository when the directory is not already inside one.
public struct ProjectInitializer {
    public struct Result: Sendable, Encodable {
        public let directory: String
        public let template: String
        public let files: [String]
        public let ciProviders: [String]
        public let createdRepository: Bool

        enum CodingKeys: String, CodingKey {
            case directory, template, files, ciProviders = "ci_providers", createdRepository = "created_repository"
        }
    }

    public let library: TemplateLibrary

    public init(library: TemplateLibrary) {
        self.library = library
    }

    /// Writes the project. Nothing is written unless everything can be: files are staged in a
    /// temporary folder inside `directory` first and moved into place at the end.
    public func initialize(directory: URL, template: String, ciProviders: [String], force: Bool) throws -> Result {
        let templates = library.templateNames
        guard templates.contains(template) else { throw InitError.unknownTemplate(template, available: templates) }
        for provider in ciProviders where !library.ciProviders.contains(provider) {
            throw InitError.unknownCIProvider(provider, available: library.ciProviders)
        }

        // What will be written, as (relative destination, source file).
        var plan: [(String, URL)] = try Self.files(under: library.templates.appendingPathComponent(template))
        for provider in ciProviders {
            plan += try Self.files(under: library.ci.appendingPathComponent(provider))
        }
        plan.sort { $0.0 < $1.0 }

        let fileManager = FileManager.default
        let path = directory.path
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw InitError.notWritable(path, detail: "it is a file, not a directory")
            }
            let existing = ((try? fileManager.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != ".git" }
            if !existing.isEmpty && !force {
                let conflicts = plan.map(\.0).filter {
                    fileManager.fileExists(atPath: directory.appendingPathComponent($0).path)
                }
                throw InitError.directoryNotEmpty(path, conflicts: conflicts)
            }
        } else {
            do { try fileManager.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw InitError.notWritable(path, detail: Self.reason(error))
            }
        }
        guard fileManager.isWritableFile(atPath: path) else {
            throw InitError.notWritable(path, detail: "permission denied")
        }

        // Stage everything, then move into place. Files that --force replaces are first moved
        // to a backup folder; on any failure (a file, or creating the repository) placed files
        // are removed and the backups put back, so the directory is as it was.
        let staging = directory.appendingPathComponent(".mlops-init-\(ProcessInfo.processInfo.processIdentifier)")
        let backup = staging.appendingPathComponent(".replaced")
        var placed: [URL] = []
        var replaced: [(original: URL, saved: URL)] = []
        let createdRepository = !Self.isInsideRepository(path)
        do {
            defer { try? fileManager.removeItem(at: staging) }
            do {
                try fileManager.createDirectory(at: backup, withIntermediateDirectories: true)
                for (relative, source) in plan {
                    let staged = staging.appendingPathComponent(relative)
                    try fileManager.createDirectory(
                        at: staged.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try fileManager.copyItem(at: source, to: staged)
                }
                let gitignore = staging.appendingPathComponent(".gitignore")
                try Self.gitignoreContents(existing: directory.appendingPathComponent(".gitignore"))
                    .write(to: gitignore, atomically: false, encoding: .utf8)
                plan.append((".gitignore", gitignore))
                for (index, (relative, _)) in plan.enumerated() {
                    let staged = staging.appendingPathComponent(relative)
                    let target = directory.appendingPathComponent(relative)
                    try fileManager.createDirectory(
                        at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    if fileManager.fileExists(atPath: target.path) {
                        let saved = backup.appendingPathComponent(String(index))
                        try Self.move(target, to: saved)
                        replaced.append((target, saved))
                    }
                    try Self.move(staged, to: target)
                    placed.append(target)
                }
                if createdRepository {
                    _ = try Repository.create(at: path, initialBranch: "main")
                }
            } catch {
                for url in placed { try? fileManager.removeItem(at: url) }
                for (original, saved) in replaced { try? Self.move(saved, to: original) }
                if createdRepository { try? fileManager.removeItem(at: directory.appendingPathComponent(".git")) }
                throw error
            }
        } catch let error as InitError {
            throw error
        } catch let error as GitError {
            throw error
        } catch {
            throw InitError.notWritable(path, detail: Self.reason(error))
        }

        return Result(
            directory: path, template: template, files: plan.map(\.0).sorted(), ciProviders: ciProviders,
            createdRepository: createdRepository)
    }

    /// rename(2): atomic within one file system, replacing nothing (targets were moved aside first).
    private static func move(_ source: URL, to target: URL) throws {
        guard rename(source.path, target.path) == 0 else {
            throw InitError.notWritable(target.path, detail: String(cString: strerror(errno)))
        }
    }

    /// Whether `path` is inside a git work tree (any error other than "no repository" counts as inside,
    /// so an existing repository is never shadowed by a new one).
    static func isInsideRepository(_ path: String) -> Bool {
        do {
            _ = try Repository.discover(from: path)
            return true
        } catch {
            return error.code != .notARepository
        }
    }

    /// `.gitignore` with `.mlops/` (the artifact store), keeping an existing file's lines.
    static func gitignoreContents(existing: URL) -> String {
        var text = (try? String(contentsOf: existing, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if !lines.contains(".mlops/") && !lines.contains(".mlops") {
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += "# mlops artifacts, metadata store and reports (see docs/config.md)\n.mlops/\n"
        }
        return text
    }

    /// Regular files under `root`, as (relative path, URL), skipping editor and OS litter.
    static func files(under root: URL) throws -> [(String, URL)] {
        guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        else {
            throw InitError.templatesNotFound(searched: [root.path])
        }
        let rootPath = root.standardizedFileURL.path
        var files: [(String, URL)] = []
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(rootPath + "/") else { continue }
            let relative = String(path.dropFirst(rootPath.count + 1))
            if relative.hasSuffix(".DS_Store") || relative.hasSuffix("~") { continue }
            files.append((relative, url))
        }
        return files
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileWriteNoPermissionError {
            return "permission denied"
        }
        return nsError.localizedDescription
    }
}
