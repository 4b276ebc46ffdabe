import Foundation

/// `transform(index)` for every index in `0..<count`, spread over all cores; results in
/// index order. Each call must touch only its own index's data.
package func concurrentMap<T>(_ count: Int, _ transform: (Int) -> T) -> [T] {
    var results = [T?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { buffer in
        nonisolated(unsafe) let slots = buffer  // each iteration writes its own slot
        nonisolated(unsafe) let transform = transform  // called once per index, as documented
        DispatchQueue.concurrentPerform(iterations: count) { index in slots[index] = transform(index) }
    }
    return results.compactMap { $0 }
}
