/// The hash that puts each row in a split, the same on any machine (docs/examples.md).
///
/// - Whole row: 64-bit FNV-1a over every field's bytes as read (quotes removed, doubled
///   quotes undone, line ends excluded), each field followed by the byte 0x1F.
/// - Partition column: 64-bit FNV-1a over that one field's bytes, so all rows with the same
///   value (a user id, say) land in the same split.
///
/// The bucket is the hash, mixed by SplitMix64's finaliser, modulo the sum of the split
/// weights; splits take consecutive buckets in their configured order (train 2 : eval 1 puts
/// buckets 0 and 1 in train and bucket 2 in eval).
public enum SplitHash {
    public enum Key: Sendable, Hashable {
        case wholeRow
        case column(String)
    }

    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// FNV-1a of `bytes`, continuing from `hash`.
    @inline(__always)
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, _ hash: UInt64 = offsetBasis) -> UInt64 {
        var hash = hash
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }

    /// A record's hash: all fields (`column` -1) or the one field at `column`.
    static func hash(_ record: [FieldSpan], column: Int, in bytes: UnsafeRawBufferPointer) -> UInt64 {
        if column >= 0 { return field(record[column], in: bytes, offsetBasis) }
        var hash = offsetBasis
        for span in record { hash = (field(span, in: bytes, hash) ^ 0x1F) &* prime }
        return hash
    }

    private static func field(_ span: FieldSpan, in bytes: UnsafeRawBufferPointer, _ hash: UInt64) -> UInt64 {
        guard span.escaped else { return fnv1a(UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end]), hash) }
        return CSVScanner.text(span, in: bytes).withUnsafeBytes { fnv1a($0, hash) }
    }

    /// The bucket in `0..<buckets` of a row hash.
    public static func bucket(_ hash: UInt64, of buckets: Int) -> Int {
        var z = hash &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(buckets))
    }
}
