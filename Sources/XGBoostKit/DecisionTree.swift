import Foundation

/// One regression tree of a gbtree model, read from XGBoost's UBJSON model format, that
/// predicts the way XGBoost's CPU predictor does: at each split, a missing (NaN) value takes
/// the default branch, else `value < condition` goes left; a leaf's value is its
/// `split_conditions` entry.
///
/// Only numerical splits are read (a tree with categorical splits is refused), and every
/// child and feature index is checked, so a damaged model cannot send a walk out of bounds.
public struct DecisionTree: Sendable, Equatable {
    let left: [Int32]
    let right: [Int32]
    let feature: [Int32]
    let condition: [Float]
    let defaultLeft: [UInt8]
    /// Values per row the tree was checked against: every split's feature is below it.
    public let features: Int

    /// The trees of boosting round `round` (several with `num_parallel_tree`), or nil when
    /// they are not numerical-split trees over `features` columns. Throws for a booster
    /// XGBoost cannot slice by round (gblinear).
    public static func trees(of booster: Booster, round: Int, features: Int) throws(XGBoostError) -> [DecisionTree]? {
        let model = try booster.slice(round..<(round + 1)).serialized(format: "ubj")
        return model.withUnsafeBytes { bytes in parse(bytes, features: features) }
    }

    /// Adds each row's leaf value to `margins`; `values` holds the rows, `features` values each.
    public func addPredictions(_ values: UnsafeBufferPointer<Float>, to margins: UnsafeMutableBufferPointer<Float>) {
        precondition(values.count >= margins.count * features, "each row needs \(features) values")
        left.withUnsafeBufferPointer { left in
            right.withUnsafeBufferPointer { right in
                feature.withUnsafeBufferPointer { feature in
                    condition.withUnsafeBufferPointer { condition in
                        defaultLeft.withUnsafeBufferPointer { defaultLeft in
                            for row in 0..<margins.count {
                                let base = row * features
                                var node = 0
                                while left[node] >= 0 {
                                    let value = values[base + Int(feature[node])]
                                    let goLeft = value.isNaN ? defaultLeft[node] != 0 : value < condition[node]
                                    node = Int(goLeft ? left[node] : right[node])
                                }
                                margins[row] += condition[node]
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Reading UBJSON

    static func parse(_ bytes: UnsafeRawBufferPointer, features: Int) -> [DecisionTree]? {
        var reader = TypedArrays(bytes: bytes)
        guard let lefts = reader.all("left_children"), let rights = reader.all("right_children"),
            let indices = reader.all("split_indices"), let conditions = reader.all("split_conditions"),
            let defaults = reader.all("default_left"), let types = reader.all("split_type"),
            !lefts.isEmpty,
            [rights.count, indices.count, conditions.count, defaults.count, types.count].allSatisfy({
                $0 == lefts.count
            })
        else { return nil }
        var trees: [DecisionTree] = []
        for index in lefts.indices {
            let left = lefts[index].integers.map { Int32(clamping: $0) }
            let right = rights[index].integers.map { Int32(clamping: $0) }
            let feature = indices[index].integers.map { Int32(clamping: $0) }
            let count = left.count
            guard count > 0, right.count == count, feature.count == count, conditions[index].floats.count == count,
                defaults[index].integers.count == count, types[index].integers.allSatisfy({ $0 == 0 })
            else { return nil }
            // From the root, every node is reached once (a tree: no cycle, no shared child),
            // an inner node has two children in range and a known feature, a leaf has -1 for both.
            var reached = [Bool](repeating: false, count: count)
            var pending = [0]
            while let node = pending.popLast() {
                guard !reached[node] else { return nil }
                reached[node] = true
                if left[node] == -1 {
                    guard right[node] == -1 else { return nil }
                } else {
                    guard (0..<Int32(count)).contains(left[node]), (0..<Int32(count)).contains(right[node]),
                        feature[node] >= 0, feature[node] < features
                    else { return nil }
                    pending += [Int(left[node]), Int(right[node])]
                }
            }
            trees.append(
                DecisionTree(
                    left: left, right: right, feature: feature, condition: conditions[index].floats,
                    defaultLeft: defaults[index].integers.map { $0 != 0 ? 1 : 0 }, features: features))
        }
        return trees
    }
}

/// Finds the strongly typed arrays (`[$<type>#<count>…`) that follow a key in UBJSON bytes.
private struct TypedArrays {
    struct Values {
        var integers: [Int64] = []
        var floats: [Float] = []
    }

    let bytes: UnsafeRawBufferPointer

    /// Every array under `key`, in order; nil when one cannot be read.
    func all(_ key: String) -> [Values]? {
        let name = Array(key.utf8)
        var found: [Values] = []
        var position = 0
        while let start = find(name, from: position) {
            position = start + name.count
            guard let values = array(at: &position) else { return nil }
            found.append(values)
        }
        return found
    }

    private func find(_ name: [UInt8], from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        var position = start
        while position + name.count <= bytes.count {
            guard let hit = memchr(base + position, Int32(name[0]), bytes.count - position) else { return nil }
            let offset = base.distance(to: UnsafeRawPointer(hit))
            if offset + name.count <= bytes.count, memcmp(base + offset, name, name.count) == 0 { return offset }
            position = offset + 1
        }
        return nil
    }

    private func integer(_ type: UInt8, at position: inout Int) -> Int64? {
        let width: Int
        switch type {
        case UInt8(ascii: "i"), UInt8(ascii: "U"): width = 1
        case UInt8(ascii: "I"): width = 2
        case UInt8(ascii: "l"): width = 4
        case UInt8(ascii: "L"): width = 8
        default: return nil
        }
        guard position + width <= bytes.count else { return nil }
        var value: UInt64 = 0
        for offset in 0..<width { value = value << 8 | UInt64(bytes[position + offset]) }
        position += width
        if type == UInt8(ascii: "U") { return Int64(value) }
        // Big-endian two's complement of `width` bytes.
        let shift = UInt64(64 - width * 8)
        return Int64(bitPattern: value << shift) >> shift
    }

    private func array(at position: inout Int) -> Values? {
        guard position + 4 <= bytes.count, bytes[position] == UInt8(ascii: "["),
            bytes[position + 1] == UInt8(ascii: "$"),
            bytes[position + 3] == UInt8(ascii: "#")
        else { return nil }
        let type = bytes[position + 2]
        position += 4
        guard position < bytes.count else { return nil }
        let countType = bytes[position]
        position += 1
        guard let count = integer(countType, at: &position), count >= 0, count <= Int64(bytes.count) else { return nil }
        var values = Values()
        if type == UInt8(ascii: "d") {
            guard position + Int(count) * 4 <= bytes.count else { return nil }
            values.floats.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                var bits: UInt32 = 0
                for offset in 0..<4 { bits = bits << 8 | UInt32(bytes[position + offset]) }
                values.floats.append(Float(bitPattern: bits))
                position += 4
            }
        } else {
            values.integers.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                guard let value = integer(type, at: &position) else { return nil }
                values.integers.append(value)
            }
        }
        return values
    }
}
