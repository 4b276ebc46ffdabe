import Foundation
import MLOpsTestSupport
import Pipeline
import Testing

/// The Tuner's search plan: grid and seeded random search over a search space.
@Suite struct SearchPlanTests {
    func space(_ dimensions: [(String, SearchDimension)]) -> OrderedPairs<SearchDimension> {
        OrderedPairs(dimensions.map { (name: $0.0, value: $0.1) })
    }

    @Test func theGridIsEveryCombinationWithTheLastDimensionFastest() {
        let plan = SearchPlan(
            space: space([
                ("max_depth", .int(min: 3, max: 5, log: false)), ("booster", .choice(["gbtree", "dart"])),
            ]), strategy: .grid, budget: 100, seed: 0)
        #expect(plan.gridSize == 6)
        #expect(
            plan.trials.map(SearchPlan.describe) == [
                "max_depth=3 booster=gbtree", "max_depth=3 booster=dart", "max_depth=4 booster=gbtree",
                "max_depth=4 booster=dart", "max_depth=5 booster=gbtree", "max_depth=5 booster=dart",
            ])
        // Wide ranges get five points, evenly or in log space.
        let wide = SearchPlan(
            space: space([
                ("max_depth", .int(min: 2, max: 22, log: false)), ("eta", .float(min: 0.001, max: 0.1, log: true)),
            ]), strategy: .grid, budget: 100, seed: 0)
        #expect(wide.gridSize == 25)
        #expect(
            wide.trials.prefix(5).map(SearchPlan.describe) == [
                "max_depth=2 eta=0.001", "max_depth=2 eta=0.00316228", "max_depth=2 eta=0.01",
                "max_depth=2 eta=0.0316228", "max_depth=2 eta=0.1",
            ])
        #expect(Set(wide.trials.map { $0[0].value }) == [.int(2), .int(7), .int(12), .int(17), .int(22)])
    }

    @Test func aGridOverTheBudgetIsSampledTheSameWayForTheSameSeed() {
        let dimensions = space([
            ("max_depth", .int(min: 1, max: 10, log: false)), ("min_child_weight", .int(min: 1, max: 10, log: false)),
        ])
        let plan = SearchPlan(space: dimensions, strategy: .grid, budget: 7, seed: 3)
        #expect(plan.gridSize == 100)
        #expect(plan.trials.count == 7)
        #expect(Set(plan.trials.map(SearchPlan.describe)).count == 7)
        let again = SearchPlan(space: dimensions, strategy: .grid, budget: 7, seed: 3)
        #expect(again.trials.map(SearchPlan.describe) == plan.trials.map(SearchPlan.describe))
        let other = SearchPlan(space: dimensions, strategy: .grid, budget: 7, seed: 4)
        #expect(other.trials.map(SearchPlan.describe) != plan.trials.map(SearchPlan.describe))
    }

    @Test func randomSearchIsSeededInBoundsAndNeverRepeatsAPoint() {
        let dimensions = space([
            ("max_depth", .int(min: 2, max: 40, log: true)), ("eta", .float(min: 0.01, max: 0.3, log: true)),
            ("subsample", .float(min: 0.5, max: 1, log: false)), ("tree_method", .choice(["hist", "approx"])),
        ])
        let plan = SearchPlan(space: dimensions, strategy: .random, budget: 200, seed: 11)
        #expect(plan.trials.count == 200)
        #expect(plan.gridSize == nil)
        #expect(Set(plan.trials.map(SearchPlan.describe)).count == 200)
        for point in plan.trials {
            guard case .int(let depth) = point[0].value, case .double(let eta) = point[1].value,
                case .double(let subsample) = point[2].value, case .string(let method) = point[3].value
            else {
                Issue.record("unexpected value types in \(SearchPlan.describe(point))")
                continue
            }
            #expect((2...40).contains(depth))
            #expect(eta >= 0.01 && eta <= 0.3)
            #expect(subsample >= 0.5 && subsample <= 1)
            #expect(["hist", "approx"].contains(method))
        }
        // Log scale: half of the draws fall below the geometric middle (≈ 0.055), not the arithmetic one.
        let below = plan.trials.filter { if case .double(let eta) = $0[1].value { eta < 0.0548 } else { false } }
        #expect((70...130).contains(below.count))
        let again = SearchPlan(space: dimensions, strategy: .random, budget: 200, seed: 11)
        #expect(again.trials.map(SearchPlan.describe) == plan.trials.map(SearchPlan.describe))
        // A space with two points gives two trials, not a budget of repeats.
        let small = SearchPlan(
            space: space([("booster", .choice(["gbtree", "gblinear"]))]), strategy: .random, budget: 10, seed: 0)
        #expect(Set(small.trials.map(SearchPlan.describe)) == ["booster=gbtree", "booster=gblinear"])
    }
}

/// `trainer.hyperparameters: {file: PATH}`: a plain mapping or the Tuner's saved result.
@Suite struct HyperparameterFileTests {
    @Test func aMappingOrTheTunersResultIsRead() throws {
        let dir = try TemporaryDirectory()
        _ = try dir.write("plain.yaml", "max_depth: 4\neta: 0.05\ntree_method: hist\n")
        let plain = try HyperparameterFile.load("plain.yaml", root: dir.url)
        #expect(plain.map(\.name) == ["max_depth", "eta", "tree_method"])
        #expect(plain.map(\.value) == [.int(4), .double(0.05), .string("hist")])
        _ = try dir.write(
            "best.json", #"{"best_trial": 2, "hyperparameters": {"eta": 0.1, "max_depth": 6}, "trials": []}"#)
        let saved = try HyperparameterFile.load("best.json", root: dir.url)
        #expect(saved.map(\.name) == ["eta", "max_depth"])
    }

    @Test func badFilesAreRefusedWithTheirLineAndKey() throws {
        let dir = try TemporaryDirectory()
        func problems(_ text: String) throws -> [String] {
            _ = try dir.write("h.yaml", text)
            do {
                _ = try HyperparameterFile.load("h.yaml", root: dir.url)
                return []
            } catch {
                return error.diagnostics.map { String($0.description.split(separator: "\n")[0]) }
            }
        }
        #expect(
            try problems("max_dept: 4\nnthread: 8\n") == [
                "h.yaml:1:1: unknown XGBoost parameter 'max_dept'",
                "h.yaml:2:1: 'nthread' is set by 'trainer.nthread', not in hyperparameters",
            ])
        #expect(try problems("eta: [0.1, 0.2]\n").first?.contains("'eta' must be a single value") == true)
        #expect(try problems("- 1\n- 2\n").first?.contains("must be a mapping of XGBoost parameters") == true)
        #expect(try problems("{eta: 0.1\n").first?.contains("h.yaml:2:1: invalid YAML") == true)
        #expect(throws: ConfigError.self) { try HyperparameterFile.load("absent.yaml", root: dir.url) }
    }

    @Test func theConfigurationChecksTheFileAndTheSearchSpace() throws {
        let dir = try TemporaryDirectory()
        let yaml = minimal + "trainer:\n  label: y\n  hyperparameters: {file: tuning/best.json}\n"
        #expect(
            problems(yaml, root: dir.url).first?.contains("hyperparameters file 'tuning/best.json' does not exist")
                == true)
        _ = try dir.write("tuning/best.json", "{}")
        #expect(problems(yaml, root: dir.url).isEmpty)
        let reserved =
            minimal
            + "trainer:\n  label: y\n  hyperparameters: from_tuner\ntuner:\n  search_space:\n    seed: {type: int, min: 1, max: 3}\n"
        #expect(problems(reserved).first?.contains("'seed' is set by 'trainer.seed', not searched") == true)
    }
}
