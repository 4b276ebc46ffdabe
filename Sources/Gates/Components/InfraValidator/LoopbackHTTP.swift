import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A blocking HTTP/1.1 request to the model server InfraValidator started on loopback, on
/// SwiftNIO's HTTP codec (already in the build for `mlops serve`). Foundation's URLSession
/// would link libcurl and two dozen libraries into every mlops command for this one use.
enum HTTP {
    struct Answer {
        let status: Int
        let body: Data
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends a GET (no body) or a JSON POST and waits for the whole answer, at most `timeout`.
    static func send(_ url: URL, body: Data?, timeout: TimeInterval = 10) throws -> Answer {
        guard let host = url.host, let port = url.port else { throw Failure(description: "no host and port in \(url)") }
        let group = MultiThreadedEventLoopGroup.singleton
        let collector = ResponseCollector(promise: group.next().makePromise(of: Answer.self))
        let channel = try ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelInitializer { channel in
                channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(collector) }
            }
            .connect(host: host, port: port).wait()
        defer { channel.close(promise: nil) }
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            collector.fail(Failure(description: "no answer from \(url) within \(timeout) s"))
        }
        defer { timer.cancel() }

        var headers = HTTPHeaders([("Host", "\(host):\(port)"), ("Connection", "close")])
        let path = url.path.isEmpty ? "/" : url.path
        var head = HTTPRequestHead(version: .http1_1, method: body == nil ? .GET : .POST, uri: path)
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.count))
        }
        head.headers = headers
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        }
        try channel.writeAndFlush(HTTPClientRequestPart.end(nil)).wait()
        return try collector.promise.futureResult.wait()
    }

    /// Gathers one response; everything runs on the channel's event loop.
    private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart

        let promise: EventLoopPromise<Answer>
        private var status = 0
        private var body = Data()
        private var finished = false

        init(promise: EventLoopPromise<Answer>) { self.promise = promise }

        /// Completes the promise once (the answer, a timeout or a closed connection, whichever first).
        func finish(_ result: Result<Answer, any Error>) {
            guard !finished else { return }
            finished = true
            promise.completeWith(result)
        }

        func fail(_ error: any Error) { finish(.failure(error)) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(let buffer): body.append(contentsOf: buffer.readableBytesView)
            case .end: finish(.success(Answer(status: status, body: body)))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(Failure(description: "the server closed the connection before answering"))
        }
    }
}
