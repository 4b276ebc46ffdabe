import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Hummingbird
import Logging
import MLOpsCore
import NIOCore
import NIOPosix
import Pipeline
import ServiceLifecycle

/// `mlops serve` as a whole: the HTTP server live at once, the model loaded behind it (ready
/// only once it answered a warm-up prediction), SIGTERM or SIGINT draining the requests in
/// flight, a model that cannot be loaded stopping the server as the command's error.
public enum ServeRun {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var name = "model"
        /// Event-loop threads (SwiftNIO); a connection's requests run on its loop (large predictions
        /// on Swift's global pool).
        public var ioThreads = ProcessInfo.processInfo.activeProcessorCount
        public var limits = ModelServer.Limits()
        public var connections = ConnectionLimits()
        /// The Open Inference Protocol over gRPC on this port too (0 picks a free one); nil: HTTP only.
        public var grpcPort: Int?
        /// How long a shutdown waits for the requests in flight.
        public var drainSeconds = 10
        /// Where the served rows and predictions are logged; nil: not logged.
        public var predictionLog: PredictionLogSettings?
        public var verbose = false

        public init() {}
    }

    /// Serves `folder` until a signal; `say` hears the `listening on …` and `ready: …` lines
    /// (scripts wait for them, so the caller flushes each at once).
    public static func run(folder: URL, options: Options, say: @escaping @Sendable (String) -> Void) async throws {
        let metrics = ServerMetrics()
        // Whatever ends the server, the rows queued are written, the open file published and
        // (to S3) shipped.
        let output = try options.predictionLog.map { settings in
            try PredictionLogOutput(
                settings: settings, model: try LoggedModel.of(folder: folder, name: options.name), counters: metrics,
                warn: { say("warning: \($0)") })
        }
        defer {
            for problem in output?.close() ?? [] { say("warning: \(problem)") }
        }
        let log = output?.log
        if let log {
            let spooled = log.settings.remote == nil ? "" : ", spooled in \(log.settings.folder.path)"
            say(
                "logging predictions to \(log.settings.destination) (\(log.settings.sampling < 1 ? "\(Int((log.settings.sampling * 100).rounded()))% of requests" : "every request"), model \(log.model.identity.prefix(19))\(spooled))"
            )
        }
        let server = ModelServer(name: options.name, limits: options.limits, metrics: metrics, log: log)
        // The model starts loading once the sockets are open: `listening` comes before `ready`.
        let (listening, opened) = AsyncStream<Void>.makeStream()
        let (host, name) = (options.host, options.name)
        var logger = Logger(label: "mlops.serve")
        logger.logLevel = options.verbose ? .info : .warning
        let app = Application(
            router: server.router(),
            server: .guarded(options.connections, metrics: server.metrics, logger: logger),
            configuration: .init(address: .hostname(host, port: options.port), serverName: "mlops"),
            onServerRunning: { channel in
                say("listening on http://\(host):\(channel.localAddress?.port ?? 0)  (model '\(name)')")
                opened.yield()
            },
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: options.ioThreads)),
            logger: logger)
        var services: [any Service] = [app]
        if let grpcPort = options.grpcPort {
            let address: GRPCNIOTransportCore.SocketAddress =
                host.contains(":")
                ? .ipv6(host: host, port: grpcPort)
                : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: grpcPort)
            var config = HTTP2ServerTransport.Posix.Config.defaults
            config.connection.maxIdleTime = options.connections.idleTimeout
            let transport = HTTP2ServerTransport.Posix(
                address: address, transportSecurity: .plaintext, config: config)
            let grpc = GRPCServer(transport: transport, services: [InferenceService(server: server)])
            services.append(GRPCService(server: grpc))
            Task {
                let bound = try? await grpc.transport.listeningAddress
                guard let port = bound?.ipv4?.port ?? bound?.ipv6?.port else { return }
                say("listening on grpc://\(host):\(port)  (model '\(name)', inference.GRPCInferenceService)")
                opened.yield()
            }
        }
        let sockets = services.count
        // SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0; a second
        // signal stops at once. Requests still running after the drain are cut.
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(options.drainSeconds)
        let group = ServiceGroup(configuration: configuration)
        SignalWatcher.watch { number, count in
            guard count == 1 else { SignalWatcher.die(of: number) }
            Task { await group.triggerGracefulShutdown() }
        }
        let failure = LoadFailure()
        let loading = Task.detached {
            var open = 0
            for await _ in listening {
                open += 1
                if open == sockets { break }
            }
            guard !Task.isCancelled else { return }
            let started = ContinuousClock.now
            do {
                var task = ""
                try server.load {
                    // One thread: a served request is a few rows, and OpenMP's hand-offs would cost more.
                    let model = try ServableModel(folder: folder, threads: 1)
                    task = model.task.rawValue
                    return model
                }
                say(
                    "ready: model '\(name)' (\(task)) loaded in "
                        + String(format: "%.2f s", started.duration(to: .now).inSeconds))
            } catch {
                failure.error = error
                await group.triggerGracefulShutdown()
            }
        }
        do {
            try await group.run()
        } catch {
            throw Self.listenFailure(error, options: options) ?? error
        }
        loading.cancel()
        if let error = failure.error { throw error }
    }
}

extension ServeRun {
    /// A socket that could not be opened (the port taken, not allowed, no such address), as
    /// the error a user can act on (exit 74) instead of an internal one. grpc-swift wraps the
    /// socket's error in its own; SwiftNIO's is the HTTP server's.
    static func listenFailure(_ error: any Error, options: Options) -> ServingError? {
        var cause: (any Error)? = error
        var grpc = false
        while let current = cause {
            if let io = current as? IOError, [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(io.errnoCode) {
                let port = grpc ? options.grpcPort ?? 0 : options.port
                return ServingError(
                    .cannotListen(
                        address: "\(options.host):\(port)", flag: grpc ? "--grpc-port" : "--port",
                        detail: String(cString: strerror(io.errnoCode)).lowercased()))
            }
            guard let wrapped = current as? RuntimeError else { return nil }
            grpc = true
            cause = wrapped.cause
        }
        return nil
    }
}

/// The gRPC server as a service of the group: it stops accepting and finishes its RPCs on the
/// same graceful shutdown as the HTTP server.
private struct GRPCService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// The error of a model load that failed in the background.
private final class LoadFailure: @unchecked Sendable {
    // Written once by the loading task before the shutdown it triggers, read after the group ends.
    private let lock = NSLock()
    private var stored: (any Error)?
    var error: (any Error)? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            stored = newValue
            lock.unlock()
        }
    }
}
