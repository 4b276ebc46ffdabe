import Foundation

/// The distinct texts of a column, looked up by their bytes: a cell's code is found without
/// making a `String`, and a text is validated as UTF-8 and made a `String` once, when first
/// seen. Open addressing with linear probing over a power-of-two table.
package struct ByteDictionary {
    /// The texts in order of first appearance; a text's code is its index.
    package private(set) var strings: [String] = []
    private var bytes: [UInt8] = []
    /// Entry `i` is `bytes[starts[i]..<starts[i + 1]]`.
    private var starts: [Int] = [0]
    private var hashes: [UInt64] = []
    private var slots = [Int32](repeating: -1, count: 64)

    package init() {}

    package var count: Int { strings.count }

    /// The code of `text`, added when new; nil when `text` is not valid UTF-8.
    package mutating func code(for text: UnsafeRawBufferPointer) -> Int32? {
        let hash = Self.hash(text)
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot < 0 { break }
            if hashes[Int(slot)] == hash, equals(Int(slot), text) { return slot }
            index = (index + 1) & mask
        }
        guard let string = String(validating: text, as: UTF8.self) else { return nil }
        let code = Int32(strings.count)
        strings.append(string)
        hashes.append(hash)
        bytes.append(contentsOf: text)
        starts.append(bytes.count)
        slots[index] = code
        if strings.count * 2 > slots.count { grow() }
        return code
    }

    /// The code of a text already known to be valid.
    package mutating func code(for string: String) -> Int32 {
        var string = string
        return string.withUTF8 { code(for: UnsafeRawBufferPointer($0)) } ?? -1
    }

    private func equals(_ entry: Int, _ text: UnsafeRawBufferPointer) -> Bool {
        let start = starts[entry]
        let length = starts[entry + 1] - start
        guard length == text.count else { return false }
        guard length > 0, let other = text.baseAddress else { return true }
        return bytes.withUnsafeBytes { stored in
            guard let base = stored.baseAddress else { return false }
            return memcmp(base + start, other, length) == 0
        }
    }

    private mutating func grow() {
        var table = [Int32](repeating: -1, count: slots.count * 2)
        let mask = table.count - 1
        for (code, hash) in hashes.enumerated() {
            var index = Int(truncatingIfNeeded: hash) & mask
            while table[index] >= 0 { index = (index + 1) & mask }
            table[index] = Int32(code)
        }
        slots = table
    }

    /// Eight bytes at a time, each word folded in with a multiply and shift.
    package static func hash(_ text: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(text.count)
        var offset = 0
        while offset + 8 <= text.count {
            hash = (hash ^ text.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            offset += 8
        }
        var tail: UInt64 = 0
        while offset < text.count {
            tail = tail << 8 | UInt64(text[offset])
            offset += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 29)
    }
}
