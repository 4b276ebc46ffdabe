import Foundation
import MLOpsCore

/// Two released versions side by side (`mlops releases diff`): metrics with deltas, data
/// fingerprints, commit, and the files whose bytes differ.
public struct ReleaseDiff: Encodable {
    public struct Row: Encodable {
        public let field: String
        public let a: String
        public let b: String
        public let delta: String?
    }

    public let a: LedgerEvent
    public let b: LedgerEvent
    public let rows: [Row]

    public init(_ session: ReleaseSession, _ first: String, _ second: String) throws {
        a = try session.resolve(first)
        b = try session.resolve(second)
        let x = try session.registry.manifest(a.name, a.version)
        let y = try session.registry.manifest(b.name, b.version)
        var rows: [Row] = [
            Row(field: "version", a: x.version, b: y.version, delta: nil),
            Row(field: "created", a: x.created, b: y.created, delta: nil),
            Row(field: "commit", a: x.git.commit ?? "none", b: y.git.commit ?? "none", delta: nil),
            Row(field: "dirty", a: String(x.git.dirty), b: String(y.git.dirty), delta: nil),
            Row(
                field: "config", a: String(x.configSHA256.prefix(16)), b: String(y.configSHA256.prefix(16)), delta: nil),
            Row(
                field: "spans", a: x.data.spans.map(String.init).joined(separator: ","),
                b: y.data.spans.map(String.init).joined(separator: ","), delta: nil),
            Row(field: "examples", a: x.data.examples ?? "—", b: y.data.examples ?? "—", delta: nil),
        ]
        let sourcesA = Dictionary(x.data.sources.map { ($0.path, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        let sourcesB = Dictionary(y.data.sources.map { ($0.path, $0.fingerprint) }, uniquingKeysWith: { a, _ in a })
        for path in Set(sourcesA.keys).union(sourcesB.keys).sorted() {
            rows.append(Row(field: "data " + path, a: sourcesA[path] ?? "—", b: sourcesB[path] ?? "—", delta: nil))
        }
        for metric in Set(x.gates.metrics.keys).union(y.gates.metrics.keys).sorted() where metric != "example_count" {
            let (p, q) = (x.gates.metrics[metric], y.gates.metrics[metric])
            rows.append(
                Row(
                    field: metric, a: p.map { String(format: "%.4f", $0) } ?? "—",
                    b: q.map { String(format: "%.4f", $0) } ?? "—",
                    delta: p.flatMap { p in q.map { String(format: "%+.4f", $0 - p) } }))
        }
        let filesA = Dictionary(x.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        let filesB = Dictionary(y.files.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        for path in Set(filesA.keys).union(filesB.keys).sorted() where filesA[path] != filesB[path] {
            rows.append(
                Row(
                    field: "file " + path, a: filesA[path].map { String($0.prefix(16)) } ?? "—",
                    b: filesB[path].map { String($0.prefix(16)) } ?? "—", delta: nil))
        }
        self.rows = rows
    }

    public func print(on console: Console) {
        let width = max(12, rows.map(\.field.count).max() ?? 0)
        let column = max(14, rows.map(\.a.count).max() ?? 0)
        console.line(
            "field".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + "\(a.name)@\(a.version)".padding(toLength: column, withPad: " ", startingAt: 0)
                + "  \(b.name)@\(b.version)")
        for row in rows {
            let line =
                row.field.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + row.a.padding(toLength: column, withPad: " ", startingAt: 0) + "  " + row.b
                + (row.delta.map { "  (\($0))" } ?? "")
            console.line(row.a != row.b ? console.style(line, .yellow) : line)
        }
    }
}
