import Foundation
import Pipeline
import S3Kit
import Serving

extension CommandContext {
    /// The prediction log of `mlops serve` and `mlops infer`: `--log-predictions DIR` (`none`:
    /// off), else `serving.log` of this project's mlops.yaml (docs/monitoring.md).
    func predictionLog(flag: String?) throws -> PredictionLogSettings? {
        if flag == "none" { return nil }
        let root = try projectRoot()
        let file = root.appendingPathComponent(MLOpsConfig.fileName)
        let section =
            FileManager.default.fileExists(atPath: file.path)
            ? try MLOpsConfig.load(from: file, root: root).serving.log : nil
        guard let path = flag ?? section?.path else { return nil }
        var settings: PredictionLogSettings
        if path.lowercased().hasPrefix("s3://") {
            // Whole files wait in a spool under .mlops/ until they are uploaded.
            settings = PredictionLogSettings(folder: root.appendingPathComponent(".mlops/prediction-spool"))
            settings.remote = (try S3Settings.client(environment: environment), try S3Location(parsing: path))
        } else {
            settings = PredictionLogSettings(
                folder: URL(fileURLWithPath: path, relativeTo: flag == nil ? root : nil).standardizedFileURL)
        }
        if let section {
            settings.sampling = section.sample
            settings.exclude = Set(section.exclude)
            settings.maxFileBytes = section.rotateMB << 20
            settings.maxFileSeconds = Double(section.rotateSeconds)
        }
        return settings
    }
}
