import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// What `mlops serve` allows a connection, so slow or idle clients cannot starve the server:
/// a request must arrive whole within ``readTimeout`` of its first byte (a new connection within
/// it of opening), a kept-alive connection may wait ``idleTimeout`` for its next request, and at
/// most ``maxConnections`` are open at once (the next ones get a 503 and are closed). What is
/// cut is logged and counted in `/metrics`.
public struct ConnectionLimits: Sendable {
    public var readTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    public var maxConnections = ConnectionLimits.defaultMaxConnections

    public init() {}

    /// The open-file limit less 64 for the model, logs and the listening socket, between 16 and
    /// 4096: 960 under the common limit of 1,024 files.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 960 }
        let files = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY clamps to Int.max
        return max(16, min(4096, files - 64))
    }
}

/// HTTP/1.1 as Hummingbird serves it, with ``ConnectionLimits`` enforced on every connection.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let limits: ConnectionLimits
    let metrics: ServerMetrics
    let open: OpenConnections
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let clock = ConnectionClock(limits: limits, metrics: metrics, logger: self.logger)
        let count = open.opened()
        channel.closeFuture.whenComplete { _ in open.closed() }
        let rejected = count > limits.maxConnections
        if rejected { metrics.connectionsRejected.increment() }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RawActivity(clock: clock, rejected: rejected))
        }.flatMap {
            HTTP1Channel(
                responder: responder,
                configuration: .init(additionalChannelHandlers: [RequestProgress(clock: clock)])
            ).setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `limits` on each connection.
    static func guarded(_ limits: ConnectionLimits, metrics: ServerMetrics, logger: Logger) -> HTTPServerBuilder {
        let open = OpenConnections()
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, limits: limits, metrics: metrics, open: open, logger: logger)
        }
    }
}

/// Warnings about cut connections, at most one every 10 seconds (a flood of slow clients would
/// otherwise flood the log), each saying how many more there were since; `/metrics` counts all.
final class CutLog: @unchecked Sendable {
    static let shared = CutLog()
    // `last` and `skipped` are only touched under `lock`; hence @unchecked Sendable.
    private let lock = NSLock()
    private var last: ContinuousClock.Instant?
    private var skipped = 0

    func warn(_ logger: Logger, _ message: String) {
        lock.lock()
        let now = ContinuousClock.now
        guard last.map({ now - $0 >= .seconds(10) }) ?? true else {
            skipped += 1
            lock.unlock()
            return
        }
        let more = skipped
        (last, skipped) = (now, 0)
        lock.unlock()
        logger.warning("\(message)\(more > 0 ? " (and \(more) more cut or refused since the last warning)" : "")")
    }
}

/// How many connections are open, across the event loops.
final class OpenConnections: @unchecked Sendable {
    // `count` is only touched under `lock`; hence @unchecked Sendable.
    private let lock = NSLock()
    private var count = 0

    func opened() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }

    func closed() {
        lock.lock()
        count -= 1
        lock.unlock()
    }
}

/// One connection's state, shared by its two handlers on its event loop: waiting for a
/// request's first byte (new, or kept alive after an answer), reading one, or answering one.
///
/// A phase change only notes when its time runs out (no timer per request: two timers per
/// request cost the server a tenth of its throughput); one repeating check per connection, at
/// a quarter of the shorter timeout (10 ms to 1 s), closes the connection once that time is past.
final class ConnectionClock: @unchecked Sendable {
    // Only touched on the connection's event loop; hence @unchecked Sendable.
    enum Phase { case waiting, reading, answering }

    let limits: ConnectionLimits
    let metrics: ServerMetrics
    let logger: Logger
    var phase = Phase.waiting
    /// Whether a request was answered on this connection: waiting is then keep-alive idling.
    var answered = false
    /// When the current phase's time runs out; nil while answering (that is the server's time).
    private var deadline: NIODeadline?
    private var check: RepeatedTask?

    init(limits: ConnectionLimits, metrics: ServerMetrics, logger: Logger) {
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let components = duration.components
        return components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// Starts the connection's check, in the waiting phase.
    func start(channel: any Channel) {
        let shorter = min(Self.nanoseconds(limits.readTimeout), Self.nanoseconds(limits.idleTimeout))
        let period = TimeAmount.nanoseconds(max(10_000_000, min(1_000_000_000, shorter / 4)))
        check = channel.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [self] _ in
            self.tick(channel: channel)
        }
        enter(.waiting)
    }

    /// Enters `phase` and notes when its time runs out.
    func enter(_ phase: Phase) {
        self.phase = phase
        let limit: Duration
        switch phase {
        case .answering:
            deadline = nil
            return
        case .waiting: limit = answered ? limits.idleTimeout : limits.readTimeout
        case .reading: limit = limits.readTimeout
        }
        deadline = .now() + .nanoseconds(Self.nanoseconds(limit))
    }

    private func tick(channel: any Channel) {
        guard let deadline, NIODeadline.now() >= deadline else { return }
        self.deadline = nil
        let idle = phase == .waiting && answered
        let address = channel.remoteAddress
        let peer = address.flatMap { address in address.ipAddress.map { "\($0):\(address.port ?? 0)" } } ?? "a client"
        if idle {
            metrics.connectionsCut(reason: "idle")
            logger.debug("closed a connection from \(peer) idle for \(limits.idleTimeout) (--idle-timeout)")
        } else {
            metrics.connectionsCut(reason: "slow")
            CutLog.shared.warn(
                logger,
                "closed a connection from \(peer): no whole request within \(limits.readTimeout) (--read-timeout)")
        }
        stop()
        channel.close(promise: nil)
    }

    func stop() {
        check?.cancel()
        check = nil
    }
}

/// First in the pipeline, on raw bytes: a request's first byte starts its read deadline. On a
/// connection over the limit it answers 503 and closes before anything is read.
final class RawActivity: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let clock: ConnectionClock
    let rejected: Bool

    init(clock: ConnectionClock, rejected: Bool) {
        self.clock = clock
        self.rejected = rejected
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private var started = false

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard rejected else {
            clock.start(channel: context.channel)
            return
        }
        let body =
            #"{"error":"the server has \#(clock.limits.maxConnections) connections open, its limit; try again shortly"}"#
        let answer =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\nRetry-After: 1\r\n\r\n" + body
        let channel = context.channel
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: answer))).whenComplete { _ in
            channel.close(promise: nil)
        }
        CutLog.shared.warn(
            clock.logger, "refused a connection: \(clock.limits.maxConnections) are open (--max-connections)")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if rejected { return }
        if clock.phase == .waiting { clock.enter(.reading) }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.stop()
        context.fireChannelInactive()
    }
}

/// After HTTP decoding: a request read whole stops its deadline; an answer sent whole starts
/// the keep-alive one (and a pipelined request already read starts its own).
final class RequestProgress: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let clock: ConnectionClock

    init(clock: ConnectionClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head where clock.phase == .waiting: clock.enter(.reading)
        case .end: clock.enter(.answering)
        default: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            clock.answered = true
            if clock.phase == .answering { clock.enter(.waiting) }
        }
        context.write(data, promise: promise)
    }
}

/// Runs a connection's tasks on its own event loop, so a request is read, answered and written
/// on one thread without hopping to Swift's global pool and back (each hop wakes a thread).
/// Large requests move their prediction to the global pool (``ModelServer/predictOffLoop``).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // Immutable after init; the event loop is thread-safe.
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
