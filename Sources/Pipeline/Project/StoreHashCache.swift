import Foundation
import Metadata

/// The store as a ``ContentHashCache``: a failure to read or write the cache only costs a hash.
public final class StoreHashCache: ContentHashCache {
    let store: any MetadataStore

    public init(store: any MetadataStore) { self.store = store }

    public func digest(for path: String, stamp: FileStamp) -> String? {
        try? store.fileDigest(for: path, stamp: stamp)
    }

    public func record(path: String, stamp: FileStamp, digest: String) {
        try? store.recordFileDigest(path: path, stamp: stamp, digest: digest)
    }
}
