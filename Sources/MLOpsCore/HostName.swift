import Glibc

/// This machine's host name (`gethostname`), for names that tell processes on different hosts
/// apart: a delivery's holder, a prediction log's files.
public func hostName() -> String {
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, name.count - 1)
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
