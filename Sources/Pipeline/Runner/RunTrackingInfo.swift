import Foundation
import MLOpsCore
import Metadata

/// What a run records for tracking before any component runs: the effective settings of the
/// components in it, flattened with dots as MLflow shows parameters (`trainer.rounds`,
/// `trainer.max_depth`, `evaluation.min_slice_size`), and tags naming where it ran (docs/tracking.md).
public enum RunTrackingInfo {
    /// The `mlops.yaml` section each component runs with.
    static let sections: [(Component, String)] = [
        (.exampleGen, "data"), (.transform, "transform"), (.tuner, "tuner"), (.trainer, "trainer"),
        (.evaluator, "evaluation"), (.infraValidator, "infra"),
    ]

    /// The settings of the sections whose components are in the run, with every default filled
    /// in. The trainer's inline hyperparameters are `trainer.NAME` (as MLflow's XGBoost
    /// autologging names them), not `trainer.hyperparameters.NAME`.
    public static func params(config: MLOpsConfig, components: [Component]) throws -> [String: String] {
        let present = Set(components)
        var params: [String: String] = [:]
        for (component, section) in sections where present.contains(component) {
            let flat: [String: String]
            switch component {
            case .exampleGen: flat = try TrackingKey.flatten(config.data, prefix: section)
            case .transform: flat = try TrackingKey.flatten(config.transform, prefix: section)
            case .tuner: flat = try config.tuner.map { try TrackingKey.flatten($0, prefix: section) } ?? [:]
            case .trainer: flat = try config.trainer.map(trainerParams) ?? [:]
            case .evaluator: flat = try config.evaluation.map { try TrackingKey.flatten($0, prefix: section) } ?? [:]
            case .infraValidator: flat = try TrackingKey.flatten(config.infra, prefix: section)
            default: flat = [:]
            }
            params.merge(flat) { first, _ in first }
        }
        return params
    }

    private static func trainerParams(_ trainer: TrainerSection) throws -> [String: String] {
        var flat = try TrackingKey.flatten(trainer, prefix: "trainer")
        if case .inline(let pairs) = trainer.hyperparameters {
            for key in flat.keys where key.hasPrefix("trainer.hyperparameters.") { flat[key] = nil }
            for (name, value) in pairs.pairs { flat["trainer.\(name)"] = value.description }
        }
        return flat
    }

    /// Where and by whom the run was made: the commit, branch, whether the tree was dirty, the
    /// base compared with, the CI run's page, the user, the command and the mlops version.
    public static func tags(
        snapshot: RepositorySnapshot, pipeline: String, command: String, base: String? = nil,
        environment: [String: String]
    ) -> [String: String] {
        tags(
            commit: snapshot.commit, branch: snapshot.branch, dirty: snapshot.dirty, pipeline: pipeline,
            command: command, base: base, environment: environment)
    }

    /// ``tags(snapshot:pipeline:command:base:environment:)`` from the values themselves (`dirty`
    /// nil when it was not looked at).
    public static func tags(
        commit: String?, branch: String?, dirty: Bool?, pipeline: String, command: String, base: String?,
        environment: [String: String]
    ) -> [String: String] {
        var tags: [String: String] = [
            "mlops.command": command, "mlops.pipeline": pipeline, "mlops.version": MLOpsVersion.current,
        ]
        tags["git.dirty"] = dirty.map { String($0) }
        tags["git.commit"] = commit
        tags["git.branch"] = branch
        tags["git.base"] = base
        if let url = ciURL(environment) { tags["ci.url"] = url }
        let user = [environment["GITHUB_ACTOR"], environment["GITLAB_USER_LOGIN"], environment["USER"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        tags["user"] = user
        return tags
    }

    /// The CI run's page: GitHub Actions' run, or GitLab's pipeline.
    static func ciURL(_ environment: [String: String]) -> String? {
        if let server = environment["GITHUB_SERVER_URL"], let repository = environment["GITHUB_REPOSITORY"],
            let run = environment["GITHUB_RUN_ID"], !server.isEmpty, !repository.isEmpty, !run.isEmpty
        {
            return "\(server)/\(repository)/actions/runs/\(run)"
        }
        if let url = environment["CI_PIPELINE_URL"], !url.isEmpty { return url }
        return nil
    }
}
