// The bundle writer of `mlops release`, run alone on a folder, for bench/release/run.sh:
//
//   mlops-bundle-bench DIR OUT.tar.zst [LEVEL]
//
// Bundles every file below DIR as `model/<path>` with a manifest and provenance (unsigned),
// at zstd LEVEL (default: release.compression_level's default), and prints the identity.
import Foundation
import Release

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: mlops-bundle-bench DIR OUT.tar.zst [LEVEL]\n".utf8))
    exit(64)
}
let folder = URL(fileURLWithPath: arguments[1])
let output = URL(fileURLWithPath: arguments[2])
let level =
    arguments.count > 3
    ? Int(arguments[3]) ?? BundleWriter.defaultCompressionLevel : BundleWriter.defaultCompressionLevel
let names = (try FileManager.default.contentsOfDirectory(atPath: folder.path)).sorted()
let entries = names.map { BundleWriter.Entry("model/" + $0, .file(folder.appendingPathComponent($0))) }
let description = BundleWriter.Description(
    name: "bench", version: "1.0.0", time: 1_700_000_000,
    git: .init(commit: nil, branch: nil, remote: nil, dirty: false), data: .init(spans: [], sources: [], examples: nil),
    configSHA256: "", executions: [],
    gates: .init(modelBlessed: true, infraBlessed: true, metrics: [:], baselineMetrics: nil, baseline: nil, checks: []),
    externalParameters: [:], builder: CIBuilder(environment: [:]))
try? FileManager.default.removeItem(at: output)
let written = try BundleWriter(compressionLevel: level).write(entries, description: description, to: output)
print(written.identity)
