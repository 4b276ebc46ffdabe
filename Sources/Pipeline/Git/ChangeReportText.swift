import Foundation
import GitKit
import MLOpsCore

extension ChangeReport {
    /// What `mlops changes` finds in `repository`'s work tree: the work-tree status is read
    /// on a second thread while mlops.yaml is parsed (it needs no configuration); `timings`
    /// hears how long each phase took.
    public static func detect(
        in repository: Repository, base: String?, environment: [String: String],
        timings: ([(String, Double)]) -> Void = { _ in }
    ) throws -> ChangeReport {
        let root = try Project.workTree(of: repository)
        // Only the second thread uses the repository until it is joined.
        let status = BackgroundWork { [repository = UncheckedRepository(repository)] in
            try repository.value.status(against: try repository.value.head().commit)
        }
        let config: MLOpsConfig
        do {
            config = try MLOpsConfig.load(from: root.appendingPathComponent(MLOpsConfig.fileName), root: root)
        } catch {
            _ = try? status.result()
            throw error
        }
        return try ChangeDetector(repository: repository, config: config)
            .detect(base: base, environment: environment, status: try status.result(), timings: timings)
    }

    /// The report as `mlops changes` prints it: repository, base, paths by class, the
    /// affected components and why, the fingerprints of the declared path sets.
    public func print(on console: Console) {
        let report = self
        let facts = report.repository
        var position = facts.detached ? "detached HEAD" : "on \(facts.branch ?? "(no branch)")"
        position += facts.commit.map { " at \($0.short)" } ?? " (no commits yet)"
        if facts.dirty { position += ", dirty" }
        if facts.shallow { position += ", shallow clone" }
        console.line(
            label("repository") + facts.root + "  " + position + (facts.remoteURL.map { "  remote " + $0 } ?? ""))
        console.line(label("base") + (report.base.fallback.map { "none: " + $0 } ?? report.base.explanation))

        if report.paths.isEmpty {
            console.line(label("changes") + "none")
        } else {
            console.line(label("changes") + "\(report.paths.count) path\(report.paths.count == 1 ? "" : "s")")
            let width = min(60, report.paths.map { display($0).count }.max() ?? 0)
            for pathClass in PathClass.allCases {
                let paths = report.paths(in: pathClass)
                guard !paths.isEmpty else { continue }
                console.line("  " + console.style("\(pathClass.rawValue) (\(paths.count))", .cyan))
                for path in paths {
                    var line =
                        "    " + letter(path.status) + "  "
                        + display(path).padding(
                            toLength: max(width, display(path).count), withPad: " ", startingAt: 0)
                    line += "  " + path.stages.map(\.rawValue).joined(separator: ", ")
                    if path.submodule { line += "  (submodule, not descended)" }
                    if pathClass == .config, !report.configSections.isEmpty, path.path == MLOpsConfig.fileName {
                        line += "  sections: " + report.configSections.joined(separator: ", ")
                    }
                    console.line(line)
                }
            }
        }

        if report.affected.isEmpty {
            console.line(label("affected") + "none: no pipeline component reads what changed")
        } else {
            console.line(label("affected") + report.affected.map(\.component.rawValue).joined(separator: ", "))
            let width = report.affected.map(\.component.rawValue.count).max() ?? 0
            for item in report.affected {
                let name = item.component.rawValue.padding(toLength: width, withPad: " ", startingAt: 0)
                let reasons =
                    item.reasons.prefix(3).joined(separator: "; ")
                    + (item.reasons.count > 3 ? "; and \(item.reasons.count - 3) more" : "")
                console.line("  " + name + "  " + console.style(reasons, .dim))
            }
        }

        console.line(label("fingerprints"))
        for name in ["data", "code", "config", "schema"] {
            guard let set = report.fingerprints[name] else { continue }
            let files = "\(set.fileCount) file\(set.fileCount == 1 ? "" : "s")"
            console.line(
                "  " + name.padding(toLength: 7, withPad: " ", startingAt: 0) + set.fingerprint.value + "  " + files
                    + "  " + set.patterns.joined(separator: " "))
        }
    }

    private func label(_ text: String) -> String { text.padding(toLength: 12, withPad: " ", startingAt: 0) }

    private func display(_ path: ChangedPath) -> String {
        path.oldPath.map { "\(path.path) ← \($0)" } ?? path.path
    }

    private func letter(_ status: FileChange.Status) -> String {
        switch status {
        case .added: "A"
        case .modified: "M"
        case .deleted: "D"
        case .renamed: "R"
        case .copied: "C"
        case .typeChanged: "T"
        case .untracked: "?"
        case .conflicted: "U"
        }
    }
}

/// A repository handed to one other thread while the caller leaves it alone (libgit2 handles
/// must not be used by two threads at once); ``BackgroundWork/result()`` is the hand-back.
private struct UncheckedRepository: @unchecked Sendable {
    let value: Repository
    init(_ value: Repository) { self.value = value }
}
