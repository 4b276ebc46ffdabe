internal import CXGBoost
import Foundation
import MLOpsCore

/// An XGBoost C API failure: the function, XGBoost's message (`XGBGetLastError`) and the object involved.
public struct XGBoostError: MLOpsError {
    public let function: String
    public let detail: String
    public let object: String

    public init(function: String, detail: String, object: String) {
        self.function = function
        self.detail = detail
        self.object = object
    }

    public var message: String { "xgboost: \(function) failed for \(object): \(detail)" }
    public var exitStatus: ExitStatus {
        switch function {
        case "XGBoosterLoadModel":
            FileManager.default.fileExists(atPath: object.trimmingCharacters(in: CharacterSet(charactersIn: "'")))
                ? .dataError : .noInput
        case "XGBoosterSaveModel": .ioError
        default: .dataError
        }
    }
}

/// The one place an XGBoost return code becomes a Swift error; reads the thread-local
/// `XGBGetLastError()` at once.
func check(_ rc: Int32, _ function: StaticString, object: @autoclosure () -> String) throws(XGBoostError) {
    guard rc != 0 else { return }
    var detail = "error \(rc)"
    if let text = XGBGetLastError() {
        detail = String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)
    }
    throw XGBoostError(function: "\(function)", detail: detail, object: object())
}

public enum LibXGBoost {
    /// The library's version, e.g. "1.7.4".
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        XGBoostVersion(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

/// A dense matrix of Float32 features for XGBoost, owning its `DMatrixHandle`. NaN means missing.
public final class DMatrix {
    // Owned; freed in deinit with XGDMatrixFree. A Booster that cached it keeps its own reference
    // inside XGBoost, and the Swift Booster also retains this object.
    let handle: DMatrixHandle
    public let rows: Int
    public let columns: Int

    /// Builds the matrix from row-major values (`rows * columns` of them).
    public init(values: [Float], rows: Int, columns: Int, threads: Int = 1) throws(XGBoostError) {
        guard rows >= 0, columns > 0, values.count == rows * columns else {
            throw XGBoostError(
                function: "XGDMatrixCreateFromMat_omp",
                detail: "\(values.count) values do not fill \(rows) rows × \(columns) columns", object: "matrix")
        }
        var out: DMatrixHandle?
        let rc = values.withUnsafeBufferPointer { buffer in
            XGDMatrixCreateFromMat_omp(
                buffer.baseAddress, bst_ulong(rows), bst_ulong(columns), Float.nan, &out, Int32(threads))
        }
        try check(rc, "XGDMatrixCreateFromMat_omp", object: "a \(rows)×\(columns) matrix")
        guard let out else {
            throw XGBoostError(function: "XGDMatrixCreateFromMat_omp", detail: "no handle", object: "matrix")
        }
        self.handle = out
        self.rows = rows
        self.columns = columns
    }

    deinit {
        XGDMatrixFree(handle)
    }

    /// Sets the training labels (one per row).
    public func setLabels(_ labels: [Float]) throws(XGBoostError) {
        try setFloatInfo("label", labels)
    }

    /// Sets per-row weights.
    public func setWeights(_ weights: [Float]) throws(XGBoostError) {
        try setFloatInfo("weight", weights)
    }

    /// The labels as stored in XGBoost.
    public func labels() throws(XGBoostError) -> [Float] {
        var length: bst_ulong = 0
        var pointer: UnsafePointer<Float>?
        try check(XGDMatrixGetFloatInfo(handle, "label", &length, &pointer), "XGDMatrixGetFloatInfo", object: "label")
        guard let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    /// Names the feature columns (saved into the model).
    public func setFeatureNames(_ names: [String]) throws(XGBoostError) {
        guard names.count == columns else {
            throw XGBoostError(
                function: "XGDMatrixSetStrFeatureInfo", detail: "\(names.count) names for \(columns) columns",
                object: "feature_name")
        }
        try withCStringArray(names) { pointers throws(XGBoostError) in
            try check(
                XGDMatrixSetStrFeatureInfo(handle, "feature_name", pointers, bst_ulong(names.count)),
                "XGDMatrixSetStrFeatureInfo", object: "feature_name")
        }
    }

    /// Cells that are not missing.
    public func nonMissingCount() throws(XGBoostError) -> Int {
        var count: bst_ulong = 0
        try check(XGDMatrixNumNonMissing(handle, &count), "XGDMatrixNumNonMissing", object: "matrix")
        return Int(count)
    }

    private func setFloatInfo(_ field: String, _ values: [Float]) throws(XGBoostError) {
        guard values.count == rows else {
            throw XGBoostError(
                function: "XGDMatrixSetFloatInfo", detail: "\(values.count) values for \(rows) rows", object: field)
        }
        let rc = values.withUnsafeBufferPointer {
            XGDMatrixSetFloatInfo(handle, field, $0.baseAddress, bst_ulong(rows))
        }
        try check(rc, "XGDMatrixSetFloatInfo", object: field)
    }
}

/// A gradient-boosted model, owning its `BoosterHandle`.
public final class Booster {
    // Owned; freed in deinit with XGBoosterFree.
    let handle: BoosterHandle
    // Matrices the booster caches; kept alive as long as the booster.
    private let cached: [DMatrix]
    // In-place prediction's matrix, made at its first use and reused.
    private var proxy: ProxyMatrix?

    /// A new, untrained booster with the given parameters (`objective`, `max_depth`, `eta`, …).
    public init(parameters: [(String, String)], cache: [DMatrix] = []) throws(XGBoostError) {
        var out: BoosterHandle?
        var handles: [DMatrixHandle?] = cache.map { $0.handle }
        let rc = handles.withUnsafeMutableBufferPointer {
            XGBoosterCreate($0.baseAddress, bst_ulong(cache.count), &out)
        }
        try check(rc, "XGBoosterCreate", object: "booster")
        guard let out else { throw XGBoostError(function: "XGBoosterCreate", detail: "no handle", object: "booster") }
        handle = out
        cached = cache
        for (name, value) in parameters {
            try setParameter(name, value)
        }
    }

    /// A booster loaded from a saved model (JSON or UBJSON, detected by XGBoost).
    public convenience init(modelData: Data) throws(XGBoostError) {
        try self.init(parameters: [])
        let rc = modelData.withUnsafeBytes { XGBoosterLoadModelFromBuffer(handle, $0.baseAddress, bst_ulong($0.count)) }
        try check(rc, "XGBoosterLoadModelFromBuffer", object: "a \(modelData.count)-byte model")
    }

    /// A booster loaded from a model file (`.json` or `.ubj`).
    public convenience init(contentsOf path: String) throws(XGBoostError) {
        try self.init(parameters: [])
        try check(XGBoosterLoadModel(handle, path), "XGBoosterLoadModel", object: "'\(path)'")
    }

    private init(handle: BoosterHandle, cached: [DMatrix]) {
        self.handle = handle
        self.cached = cached
    }

    deinit {
        XGBoosterFree(handle)
    }

    /// The first `rounds` boosting rounds as a booster of its own (what early stopping keeps).
    public func slice(rounds: Int) throws(XGBoostError) -> Booster { try slice(0..<rounds) }

    /// Boosting rounds `rounds` as a booster of its own.
    public func slice(_ rounds: Range<Int>) throws(XGBoostError) -> Booster {
        var out: BoosterHandle?
        let object = "rounds \(rounds.lowerBound)..<\(rounds.upperBound)"
        try check(
            XGBoosterSlice(handle, Int32(rounds.lowerBound), Int32(rounds.upperBound), 1, &out), "XGBoosterSlice",
            object: object)
        guard let out else { throw XGBoostError(function: "XGBoosterSlice", detail: "no handle", object: object) }
        return Booster(handle: out, cached: cached)
    }

    public func setParameter(_ name: String, _ value: String) throws(XGBoostError) {
        try check(
            XGBoosterSetParam(handle, name, value), "XGBoosterSetParam", object: "parameter '\(name)' = '\(value)'")
    }

    /// Names the model's features (saved in its JSON as `feature_names`).
    public func setFeatureNames(_ names: [String]) throws(XGBoostError) {
        try withCStringArray(names) { pointers throws(XGBoostError) in
            try check(
                XGBoosterSetStrFeatureInfo(handle, "feature_name", pointers, bst_ulong(names.count)),
                "XGBoosterSetStrFeatureInfo", object: "feature_name")
        }
    }

    /// One boosting round on `train`.
    public func update(iteration: Int, train: DMatrix) throws(XGBoostError) {
        try check(
            XGBoosterUpdateOneIter(handle, Int32(iteration), train.handle), "XGBoosterUpdateOneIter",
            object: "round \(iteration)")
    }

    /// The evaluation metrics after a round, e.g. `[("eval-auc", 0.93)]`, in XGBoost's order.
    public func evaluate(iteration: Int, on sets: [(name: String, matrix: DMatrix)]) throws(XGBoostError) -> [(
        String, Double
    )] {
        var handles: [DMatrixHandle?] = sets.map { $0.matrix.handle }
        var result: UnsafePointer<CChar>?
        let names = sets.map(\.name)
        try withCStringArray(names) { namePointers throws(XGBoostError) in
            let rc = handles.withUnsafeMutableBufferPointer {
                XGBoosterEvalOneIter(
                    handle, Int32(iteration), $0.baseAddress, namePointers, bst_ulong(sets.count), &result)
            }
            try check(rc, "XGBoosterEvalOneIter", object: "round \(iteration)")
        }
        guard let result else { return [] }
        // Format: "[3]\ttrain-logloss:0.51\teval-logloss:0.55"
        let text = String(decoding: UnsafeRawBufferPointer(start: result, count: strlen(result)), as: UTF8.self)
        return text.split(separator: "\t").dropFirst().compactMap { field in
            guard let colon = field.lastIndex(of: ":"), let value = Double(field[field.index(after: colon)...]) else {
                return nil
            }
            return (String(field[..<colon]), value)
        }
    }

    /// Predictions for every row (probabilities for binary:logistic, `rows × classes` for softprob).
    public func predict(_ matrix: DMatrix, outputMargin: Bool = false) throws(XGBoostError) -> [Float] {
        var length: bst_ulong = 0
        var pointer: UnsafePointer<Float>?
        try check(
            XGBoosterPredict(handle, matrix.handle, outputMargin ? 1 : 0, 0, 0, &length, &pointer), "XGBoosterPredict",
            object: "a \(matrix.rows)-row matrix")
        guard let pointer else { return [] }
        // The buffer belongs to the booster and is overwritten by the next call: copy it now.
        return Array(UnsafeBufferPointer(start: pointer, count: Int(length)))
    }

    /// Predictions for `rows` rows of row-major `values` (NaN for missing), without building a
    /// DMatrix (XGBoost's in-place prediction through one reused proxy matrix): the same numbers
    /// as ``predict(_:outputMargin:)`` for the same rows, at less cost per call, which a served
    /// request of one row notices. Not safe to call from two threads at once.
    public func predict(values: [Float], rows: Int, columns: Int) throws(XGBoostError) -> [Float] {
        guard rows > 0 else { return [] }
        guard columns > 0, values.count == rows * columns else {
            throw XGBoostError(
                function: "XGBoosterPredictFromDense",
                detail: "\(values.count) values do not fill \(rows) rows × \(columns) columns", object: "matrix")
        }
        var shape: UnsafePointer<bst_ulong>?
        var dimensions: bst_ulong = 0
        var pointer: UnsafePointer<Float>?
        let config =
            #"{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false, "#
            + #""cache_id": 0, "missing": NaN}"#
        if proxy == nil { proxy = try ProxyMatrix() }
        let matrix = proxy?.handle
        let rc = values.withUnsafeBufferPointer { buffer in
            let address = UInt(bitPattern: buffer.baseAddress)
            let interface =
                #"{"data": [\#(address), true], "shape": [\#(rows), \#(columns)], "typestr": "<f4", "version": 3}"#
            return XGBoosterPredictFromDense(handle, interface, config, matrix, &shape, &dimensions, &pointer)
        }
        try check(rc, "XGBoosterPredictFromDense", object: "\(rows) rows")
        guard let pointer, let shape else { return [] }
        let count = (0..<Int(dimensions)).reduce(1) { $0 * Int(shape[$1]) }
        // The buffer belongs to the booster and is overwritten by the next call: copy it now.
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Raw margins (before the objective's transformation, base score included) from the trees
    /// of `rounds` only: `predictMargins(m, rounds: r..<r+1)` is what round `r` adds.
    public func predictMargins(_ matrix: DMatrix, rounds: Range<Int>) throws(XGBoostError) -> [Float] {
        var shape: UnsafePointer<bst_ulong>?
        var dimensions: bst_ulong = 0
        var pointer: UnsafePointer<Float>?
        let config =
            #"{"type": 1, "training": false, "iteration_begin": \#(rounds.lowerBound), "#
            + #""iteration_end": \#(rounds.upperBound), "strict_shape": false}"#
        try check(
            XGBoosterPredictFromDMatrix(handle, matrix.handle, config, &shape, &dimensions, &pointer),
            "XGBoosterPredictFromDMatrix", object: "rounds \(rounds.lowerBound)..<\(rounds.upperBound)")
        guard let pointer, let shape else { return [] }
        let count = (0..<Int(dimensions)).reduce(1) { $0 * Int(shape[$1]) }
        // The buffer belongs to the booster and is overwritten by the next call: copy it now.
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// The model serialized in XGBoost's JSON (or UBJSON) format.
    public func serialized(format: String = "json") throws(XGBoostError) -> Data {
        var length: bst_ulong = 0
        var pointer: UnsafePointer<CChar>?
        try check(
            XGBoosterSaveModelToBuffer(handle, "{\"format\": \"\(format)\"}", &length, &pointer),
            "XGBoosterSaveModelToBuffer", object: "model")
        guard let pointer else { return Data() }
        return Data(bytes: pointer, count: Int(length))
    }

    /// Saves the model; the format follows the extension (`.json` → JSON, `.ubj` → UBJSON).
    public func save(to path: String) throws(XGBoostError) {
        try check(XGBoosterSaveModel(handle, path), "XGBoosterSaveModel", object: "'\(path)'")
    }

    /// Feature count the model expects.
    public func featureCount() throws(XGBoostError) -> Int {
        var count: bst_ulong = 0
        try check(XGBoosterGetNumFeature(handle, &count), "XGBoosterGetNumFeature", object: "model")
        return Int(count)
    }

    /// Rounds boosted so far.
    public func boostedRounds() throws(XGBoostError) -> Int {
        var rounds: Int32 = 0
        try check(XGBoosterBoostedRounds(handle, &rounds), "XGBoosterBoostedRounds", object: "model")
        return Int(rounds)
    }
}

/// Calls `body` with a C array of C strings that live for the duration of the call.
private func withCStringArray<R>(
    _ strings: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) throws(XGBoostError) -> R
) throws(XGBoostError) -> R {
    // strdup'd copies, freed when the call returns.
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return try pointers.withUnsafeMutableBufferPointer { (buffer) throws(XGBoostError) -> R in
        guard let base = buffer.baseAddress else {
            throw XGBoostError(function: "withCStringArray", detail: "no buffer", object: "strings")
        }
        return try body(base)
    }
}

/// XGBoost's proxy DMatrix: no data of its own, it points at the caller's array during one
/// in-place prediction. Reusing one spares XGBoost building its context (and reading the
/// cgroup CPU quota files) on every call.
final class ProxyMatrix {
    // Owned; freed in deinit with XGDMatrixFree.
    let handle: DMatrixHandle

    init() throws(XGBoostError) {
        var out: DMatrixHandle?
        try check(XGProxyDMatrixCreate(&out), "XGProxyDMatrixCreate", object: "a proxy matrix")
        guard let out else {
            throw XGBoostError(function: "XGProxyDMatrixCreate", detail: "no handle", object: "a proxy matrix")
        }
        handle = out
    }

    deinit {
        XGDMatrixFree(handle)
    }
}
