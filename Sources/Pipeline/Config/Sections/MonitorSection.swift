import Foundation
import MLOpsCore
import Yams

// The `monitor` section of mlops.yaml (docs/monitoring.md): what `mlops monitor` reads by
// default and the thresholds of its own checks. Skew and drift thresholds are the gate's
// (`gates.skew`, `gates.drift`, the schema's comparators), so production is held to what the
// gate held the data to.

public struct MonitorSection: ConfigSection {
    /// The window read when neither `--since` nor `--from`/`--to` is given, as `24h`, `30m`,
    /// `7d` or seconds.
    public var window: String
    /// A window with fewer logged rows is not measured: its checks are skipped, not failed.
    public var minRows: Int
    /// The largest distance between the served predictions' distribution and the eval split's
    /// (Jensen-Shannon divergence for probabilities and predictions, L-infinity for the class).
    public var predictions: Double

    public enum Key: String, ConfigKey {
        case window
        case minRows = "min_rows"
        case predictions
    }
    typealias CodingKeys = Key

    init(_ f: Fields<Key>) {
        window = f.string(.window, default: "24h")
        minRows = f.int(.minRows, default: 100, in: 1...1_000_000_000)
        predictions = f.double(.predictions, default: 0.1, in: 0...1)
        if let node = f.value(.window), Self.seconds(window) == nil {
            f.reader.report(
                node, f.keyPath(.window), "monitor.window '\(window)' is not a duration",
                hint: "write a number with s, m, h or d, e.g. 24h")
        }
    }

    /// Seconds in `30s`, `15m`, `24h`, `7d` or a bare number of seconds; nil when it is not
    /// a positive duration.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit = 1.0
        if let last = number.last, let scale = units[last] {
            unit = scale
            number = number.dropLast()
        }
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        return value * unit
    }
}
