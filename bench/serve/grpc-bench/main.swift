// A gRPC load generator for bench/serve: sends one serialized `inference.ModelInferRequest`
// (a .pb file, sent byte for byte) to `inference.GRPCInferenceService/ModelInfer` over C
// connections, each with one request in flight (as wrk -cC does over HTTP), for a warm-up and
// then D seconds, and prints one line like wrk's RESULT line. Not shipped; not a test.
//
//   mlops-grpc-bench HOST:PORT BODY.pb [CONNECTIONS=8] [SECONDS=10] [WARMUP=3]
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

struct Bytes: MessageSerializer, MessageDeserializer {
    typealias Message = [UInt8]
    func serialize<Output: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Output { Output(message) }
    func deserialize<Input: GRPCContiguousBytes>(_ serializedMessageBytes: Input) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let colon = arguments[1].lastIndex(of: ":"),
    let port = Int(arguments[1][arguments[1].index(after: colon)...])
else {
    FileHandle.standardError.write(
        Data("usage: mlops-grpc-bench HOST:PORT BODY.pb [CONNECTIONS] [SECONDS] [WARMUP]\n".utf8))
    exit(64)
}
let host = String(arguments[1][..<colon])
let body = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[2])))
let connections = arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8
let seconds = arguments.count > 4 ? Double(arguments[4]) ?? 10 : 10
let warmup = arguments.count > 5 ? Double(arguments[5]) ?? 3 : 3
let method = MethodDescriptor(fullyQualifiedService: "inference.GRPCInferenceService", method: "ModelInfer")

/// Requests made and their latencies (ns) by one connection, from `start` to `end`.
func load(_ client: GRPCClient<HTTP2ClientTransport.Posix>, until end: ContinuousClock.Instant, record: Bool)
    async -> (latencies: [Int64], failures: Int)
{
    var latencies: [Int64] = []
    var failures = 0
    while ContinuousClock.now < end {
        let started = ContinuousClock.now
        do {
            try await client.unary(
                request: ClientRequest(message: body), descriptor: method, serializer: Bytes(),
                deserializer: Bytes(), options: .defaults
            ) { response in _ = try response.message }
            if record {
                let elapsed = ContinuousClock.now - started
                latencies.append(
                    elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            }
        } catch {
            failures += 1
            if failures == 1 { FileHandle.standardError.write(Data("first failure: \(error)\n".utf8)) }
        }
    }
    return (latencies, failures)
}

let clients = try (0..<connections).map { _ in
    GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext))
}
let result = try await withThrowingTaskGroup(of: Void.self) { group in
    for client in clients { group.addTask { try await client.runConnections() } }
    defer { for client in clients { client.beginGracefulShutdown() } }
    let warmEnd = ContinuousClock.now + .milliseconds(Int64(warmup * 1000))
    await withTaskGroup(of: Void.self) { warm in
        for client in clients { warm.addTask { _ = await load(client, until: warmEnd, record: false) } }
    }
    let start = ContinuousClock.now
    let end = start + .milliseconds(Int64(seconds * 1000))
    let parts = await withTaskGroup(of: ([Int64], Int).self) { measured in
        for client in clients { measured.addTask { await load(client, until: end, record: true) } }
        var all: [([Int64], Int)] = []
        for await part in measured { all.append(part) }
        return all
    }
    let elapsed = ContinuousClock.now - start
    return (parts, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}
let (parts, duration) = result
let latencies = parts.flatMap(\.0).sorted()
let failures = parts.map(\.1).reduce(0, +)
func percentile(_ p: Double) -> Double {
    guard !latencies.isEmpty else { return .nan }
    return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
}
print(
    String(
        format: "RESULT requests=%d seconds=%.2f req_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d",
        latencies.count, duration, Double(latencies.count) / duration, percentile(0.5), percentile(0.9),
        percentile(0.99), (latencies.last.map(Double.init) ?? .nan) / 1e6, failures))
