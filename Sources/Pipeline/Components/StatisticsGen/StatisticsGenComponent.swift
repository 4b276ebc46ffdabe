import Foundation
import MLOpsCore
import TFMetadata
import Tabular

/// Statistics of every split (the artifact StatisticsGen writes).
public struct StatisticsList: Sendable, Codable, Equatable {
    public let datasets: [DatasetStatistics]
    public static let fileName = "statistics.json"

    public init(datasets: [DatasetStatistics]) { self.datasets = datasets }

    static func read(_ artifact: ResolvedArtifact) throws -> StatisticsList {
        try readArtifactJSON(StatisticsList.self, artifact.url.appendingPathComponent(fileName))
    }
}

/// StatisticsGen: statistics per split (output `statistics`): `statistics.json`, and for TFX's
/// tools each split's TFMD `DatasetFeatureStatisticsList` in `Split-NAME/FeatureStats.pb`.
public struct StatisticsGenComponent: PipelineComponent {
    public struct Parameters: Codable, Hashable, Sendable {
        public let buckets: Int
        public let topValues: Int
    }

    public let id = Component.statisticsGen
    public let version = "2"
    public let parameters = Parameters(
        buckets: StatisticsGenerator.buckets, topValues: StatisticsGenerator.topValueCount)
    public let inputs = Component.statisticsGen.bindings()
    public let outputs = Component.statisticsGen.outputs

    public init() {}

    public func readPaths(root: URL) throws -> [String] { [] }

    public func execute(_ context: ExecutionContext) throws -> ExecutorOutput {
        var datasets: [DatasetStatistics] = []
        for (name, url) in try exampleSplits(try context.input("examples")) {
            datasets.append(StatisticsGenerator.statistics(of: try ExamplesFile.read(url), name: name))
        }
        let folder = context.output("statistics")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let list = StatisticsList(datasets: datasets)
        try AtomicFile.write(
            try artifactEncoder.encode(list), to: folder.appendingPathComponent(StatisticsList.fileName))
        for dataset in list.tfmd.datasets {
            var one = TFMD_DatasetFeatureStatisticsList()
            one.datasets = [dataset]
            let file = folder.appendingPathComponent(StatisticsList.tfxFile(split: dataset.name))
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(try TFMDEncoding.binary(one), to: file)
        }
        let features = datasets.first?.features.count ?? 0
        return ExecutorOutput(summary: "\(datasets.count) splits, \(features) features")
    }

}
