import Foundation
import GitKit
import MLOpsCore

/// Where a change starts: the merge-base of HEAD with the base ref, and how that ref was chosen.
///
/// Order: `--base REF`; on CI, GitHub Actions' `GITHUB_BASE_REF` (pull requests), GitLab's
/// `CI_MERGE_REQUEST_DIFF_BASE_SHA`, else `CI_MERGE_REQUEST_TARGET_BRANCH_NAME`; `MLOPS_BASE`;
/// otherwise the default branch (`origin/HEAD`, else `main`, else `master`), so that on the
/// default branch itself only uncommitted work counts. A name is tried as a local branch,
/// then as `origin/NAME`, then as any revision git understands (`HEAD~3`, a tag, an id). When no base can be had (no commits yet, an unknown
/// ref, a base commit missing from a shallow clone, no common history), ``fallback`` says
/// why and everything counts as changed.
public struct ChangeBase: Sendable, Encodable {
    public enum Source: String, Sendable, Encodable {
        case flag = "--base"
        case githubBaseRef = "GITHUB_BASE_REF"
        case gitlabDiffBaseSHA = "CI_MERGE_REQUEST_DIFF_BASE_SHA"
        case gitlabTargetBranch = "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
        case mlopsBase = "MLOPS_BASE"
        case defaultBranch = "default branch"
    }

    /// The ref or commit asked for, as written.
    public let requested: String?
    public let source: Source?
    /// The full ref it resolved to (`refs/remotes/origin/main`), or the commit id for a SHA.
    public let resolvedRef: String?
    /// The tip of the base ref.
    public let baseCommit: ObjectID?
    /// The merge-base of HEAD with the base: where the change starts.
    public let mergeBase: ObjectID?
    /// Why everything counts as changed, when there is no usable base.
    public let fallback: String?
    /// What to do about the fallback.
    public let hint: String?

    enum CodingKeys: String, CodingKey {
        case requested, source, resolvedRef = "resolved_ref", baseCommit = "base_commit", mergeBase = "merge_base"
        case fallback, hint
    }

    /// One sentence on how the base was chosen, for people.
    public var explanation: String {
        if let fallback { return fallback + "; treating every path as changed" }
        let from =
            source.map { $0 == .flag ? "--base" : $0 == .defaultBranch ? "the default branch" : "$\($0.rawValue)" }
            ?? ""
        guard let mergeBase else { return "no base" }
        var text = "merge-base \(mergeBase.short) of HEAD and '\(requested ?? "?")' (from \(from)"
        if let resolvedRef, resolvedRef != requested { text += ", resolved as \(resolvedRef)" }
        text += ")"
        return text
    }

    /// Finds the base for HEAD in `repository`.
    public static func resolve(
        in repository: Repository, head: Head, explicit: String?, environment: [String: String]
    ) throws -> ChangeBase {
        guard let headCommit = head.commit else {
            return fallback(
                requested: explicit, source: explicit == nil ? nil : .flag,
                reason: "the repository has no commits yet", hint: "commit your files to compare against a base")
        }
        let (requested, source) = request(explicit: explicit, environment: environment, repository: repository)
        guard let requested, let source else {
            return fallback(
                requested: nil, source: nil, reason: "no base was given and there is no default branch (main, master)",
                hint: "pass --base REF or set MLOPS_BASE")
        }

        // A full commit id (GitLab's diff base SHA): present, or missing from a shallow clone.
        if let id = ObjectID(hex: requested) {
            guard repository.hasCommit(id) else {
                return fallback(
                    requested: requested, source: source,
                    reason: "base commit \(id.short) (from \(label(source))) is not in this clone"
                        + (repository.isShallow ? ", which is shallow" : ""),
                    hint: "fetch more history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0)")
            }
            return try merge(
                requested: requested, source: source, ref: id.hex, tip: id, head: headCommit, in: repository)
        }

        for candidate in candidates(for: requested) {
            let tip: ObjectID
            do {
                tip = try repository.resolveCommit(candidate)
            } catch {
                // Not this spelling (not found, or not a valid ref name): try the next one.
                if error.code == .notFound || isInvalidSpec(error) { continue }
                throw error
            }
            return try merge(
                requested: requested, source: source, ref: candidate, tip: tip, head: headCommit, in: repository)
        }
        let names = (try? repository.referenceNames()) ?? []
        let shortNames = names.map(shortName)
        let close = Suggestions.closest(to: requested, in: shortNames)
        return fallback(
            requested: requested, source: source,
            reason: "base '\(requested)' (from \(label(source))) does not exist in this repository"
                + (repository.isShallow ? " (a shallow clone)" : ""),
            hint: close.isEmpty
                ? "fetch the base branch (git fetch origin \(requested)) or pass an existing ref with --base"
                : "close matches: " + close.joined(separator: ", "))
    }

    private static func request(
        explicit: String?, environment: [String: String], repository: Repository
    ) -> (String?, Source?) {
        func value(_ key: String) -> String? {
            guard let value = environment[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        if let explicit, !explicit.isEmpty { return (explicit, .flag) }
        for source in environmentSources {
            if let ref = value(source.rawValue) { return (ref, source) }
        }
        if let branch = defaultBranch(in: repository) { return (branch, .defaultBranch) }
        return (nil, nil)
    }

    /// The CI variables that name a base, in the order they are tried.
    static let environmentSources: [Source] = [.githubBaseRef, .gitlabDiffBaseSHA, .gitlabTargetBranch, .mlopsBase]

    /// Whether the environment names a base (a pull or merge request's target, `MLOPS_BASE`).
    public static func isRequested(in environment: [String: String]) -> Bool {
        environmentSources.contains { !(environment[$0.rawValue]?.trimmingCharacters(in: .whitespaces) ?? "").isEmpty }
    }

    /// `origin/HEAD`'s branch, else `main`, else `master` (local or on origin).
    static func defaultBranch(in repository: Repository) -> String? {
        let names = Set((try? repository.referenceNames()) ?? [])
        if names.contains("refs/remotes/origin/HEAD"),
            let target = try? repository.symbolicTarget(of: "refs/remotes/origin/HEAD")
        {
            return shortName(target).replacingOccurrences(of: "origin/", with: "")
        }
        for branch in ["main", "master"]
        where names.contains("refs/heads/" + branch) || names.contains("refs/remotes/origin/" + branch) {
            return branch
        }
        return nil
    }

    /// Spellings to try, full ref names first so the report names the ref that was used;
    /// the name as given last (revisions like `HEAD~3`, `origin/main`, tags).
    private static func candidates(for name: String) -> [String] {
        name.hasPrefix("refs/") ? [name] : ["refs/heads/" + name, "refs/remotes/origin/" + name, name]
    }

    private static func merge(
        requested: String, source: Source, ref: String, tip: ObjectID, head: ObjectID, in repository: Repository
    ) throws -> ChangeBase {
        guard let base = try repository.mergeBase(head, tip) else {
            return fallback(
                requested: requested, source: source,
                reason: repository.isShallow
                    ? "HEAD and '\(requested)' have no common ancestor in this shallow clone"
                    : "HEAD and '\(requested)' share no history",
                hint: repository.isShallow
                    ? "fetch more history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0)" : nil)
        }
        return ChangeBase(
            requested: requested, source: source, resolvedRef: ref, baseCommit: tip, mergeBase: base, fallback: nil,
            hint: nil)
    }

    private static func fallback(requested: String?, source: Source?, reason: String, hint: String?) -> ChangeBase {
        ChangeBase(
            requested: requested, source: source, resolvedRef: nil, baseCommit: nil, mergeBase: nil, fallback: reason,
            hint: hint)
    }

    private static func label(_ source: Source) -> String {
        switch source {
        case .flag: "--base"
        case .defaultBranch: "the default branch"
        default: "$" + source.rawValue
        }
    }

    private static func isInvalidSpec(_ error: GitError) -> Bool {
        if case .other(let code) = error.code { return code == -12 || code == -1 }  // GIT_EINVALIDSPEC, generic
        return false
    }

    static func shortName(_ ref: String) -> String {
        for prefix in ["refs/heads/", "refs/remotes/", "refs/tags/"] where ref.hasPrefix(prefix) {
            return String(ref.dropFirst(prefix.count))
        }
        return ref
    }
}
