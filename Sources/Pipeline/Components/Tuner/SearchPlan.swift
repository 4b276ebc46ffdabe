import Foundation
import MLOpsCore

/// The Tuner's trials: points of a search space chosen by grid or by seeded random search.
/// The same space, strategy, budget and seed give the same trials on every machine.
///
/// Grid: a `choice` contributes its values; an `int` range of at most 10 values all of them,
/// a wider one 5 evenly spaced values (in log space with `log: true`), rounded; a `float`
/// range 5 evenly spaced values. Points are ordered with the last dimension varying fastest;
/// a grid larger than the budget is sampled (seeded) down to the budget, in grid order.
///
/// Random: each dimension drawn uniformly (a `log` one uniformly in log space); floats keep
/// 6 significant digits; a point drawn twice is drawn again, so a small space gives fewer
/// trials than the budget rather than repeats.
public struct SearchPlan: Sendable {
    public typealias Point = [(name: String, value: ParameterValue)]

    public let trials: [Point]
    /// The number of grid points (grid search only).
    public let gridSize: Int?

    static let gridSteps = 5
    static let fullIntRange = 10

    public init(
        space: OrderedPairs<SearchDimension>, strategy: SearchStrategy, budget: Int, seed: Int
    ) {
        var random = SplitMix64(seed: UInt64(seed))
        let dimensions = space.pairs
        switch strategy {
        case .grid:
            let axes = dimensions.map { Self.gridValues($0.value) }
            // Saturating: a grid past Int.max points is only ever sampled.
            let size = axes.reduce(1) {
                $0.multipliedReportingOverflow(by: max($1.count, 1)).overflow ? .max : $0 * max($1.count, 1)
            }
            var indices: [Int]
            if size <= budget {
                indices = Array(0..<size)
            } else {
                var chosen = Set<Int>()
                while chosen.count < budget { chosen.insert(random.int(in: 0...(size - 1))) }
                indices = chosen.sorted()
            }
            trials = indices.map { index in
                var rest = index
                var point: Point = []
                for (dimension, axis) in zip(dimensions, axes).reversed() {
                    point.append((dimension.name, axis[rest % axis.count]))
                    rest /= axis.count
                }
                return point.reversed()
            }
            gridSize = size
        case .random:
            var seen = Set<String>()
            var points: [Point] = []
            var draws = 0
            while points.count < budget, draws < budget * 20 {
                draws += 1
                let point: Point = dimensions.map { ($0.name, Self.draw($0.value, &random)) }
                if seen.insert(Self.describe(point)).inserted { points.append(point) }
            }
            trials = points
            gridSize = nil
        }
    }

    /// `max_depth=6 eta=0.1`
    public static func describe(_ point: Point) -> String {
        point.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }

    static func gridValues(_ dimension: SearchDimension) -> [ParameterValue] {
        switch dimension {
        case .choice(let values):
            return values.map(ParameterValue.init(text:))
        case .int(let low, let high, let log):
            if high - low + 1 <= fullIntRange { return (low...high).map { .int($0) } }
            var values: [Int] = []
            for step in 0..<gridSteps {
                let value = Int(
                    interpolate(Double(low), Double(high), Double(step) / Double(gridSteps - 1), log: log).rounded())
                if values.last != value { values.append(min(max(value, low), high)) }
            }
            return values.map { .int($0) }
        case .float(let low, let high, let log):
            var values: [Double] = []
            for step in 0..<gridSteps {
                let value = min(
                    max(rounded(interpolate(low, high, Double(step) / Double(gridSteps - 1), log: log)), low), high)
                if values.last != value { values.append(value) }
            }
            return values.map { .double($0) }
        }
    }

    static func draw(_ dimension: SearchDimension, _ random: inout SplitMix64) -> ParameterValue {
        switch dimension {
        case .choice(let values):
            return ParameterValue(text: values[random.int(in: 0...(values.count - 1))])
        case .int(let low, let high, let log):
            guard log else { return .int(random.int(in: low...high)) }
            // Uniform in log space over [low, high + 1), floored: each integer's share is its log width.
            let value = Int(interpolate(Double(low), Double(high) + 1, random.unit(), log: true).rounded(.down))
            return .int(min(max(value, low), high))
        case .float(let low, let high, let log):
            return .double(min(max(rounded(interpolate(low, high, random.unit(), log: log)), low), high))
        }
    }

    static func interpolate(_ low: Double, _ high: Double, _ fraction: Double, log: Bool) -> Double {
        log
            ? Foundation.exp(Foundation.log(low) + fraction * (Foundation.log(high) - Foundation.log(low)))
            : low + fraction * (high - low)
    }

    /// 6 significant digits: readable in reports and in the saved hyperparameters.
    static func rounded(_ value: Double) -> Double { Double(String(format: "%.6g", value)) ?? value }
}
