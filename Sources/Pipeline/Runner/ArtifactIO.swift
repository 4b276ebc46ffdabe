import Foundation
import MLOpsCore

/// How mlops writes an artifact's JSON: key-sorted, indented, NaN and infinities as strings.
public let artifactEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return encoder
}()

/// A JSON file of an artifact, decoded as mlops writes it (NaN and infinities as strings).
public func readArtifactJSON<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T {
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        throw ArtifactError(path: url.path, detail: "cannot be read: \((error as NSError).localizedDescription)")
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    do {
        return try decoder.decode(type, from: data)
    } catch {
        throw ArtifactError(path: url.path, detail: "is not what mlops wrote there (\(error))")
    }
}

/// An artifact in `.mlops` that is missing or damaged.
public struct ArtifactError: MLOpsError {
    public let path: String
    public let detail: String
    public var message: String { "artifact file '\(path)' \(detail)" }
    public var hint: String? { "run again with --no-cache to rebuild it, or remove .mlops to start afresh" }
    public var exitStatus: ExitStatus { .ioError }
}
