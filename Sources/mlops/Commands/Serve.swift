import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MLOpsCore
import NIOPosix
import Pipeline
import ServiceLifecycle
import Serving

extension MLOps {
    struct Serve: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve a model over HTTP: the Open Inference Protocol v2 (KServe V2) REST API.",
            discussion: """
                MODEL is a model folder or `latest` (as for `mlops infer`). The address is printed as \
                `listening on http://HOST:PORT` once the socket is open (`--port 0` picks a free \
                port): /v2/health/live answers from then on, while the model loads; /v2/health/ready \
                answers 200 once the model is loaded and has answered a warm-up prediction, and \
                `ready` is printed. Raw feature rows go in, through the fitted transform and the \
                model in-process, each value checked against the schema's domain (--out-of-domain). \
                SIGTERM or SIGINT stops accepting, finishes the requests in flight and exits 0 \
                (docs/serving.md).
                """)
        static let jsonSchema = "mlops.serve/v1"
        /// How long a shutdown waits for the requests in flight.
        static let drainSeconds = 10

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A model folder, or `latest` for the newest model of this project.")
        var model: String

        @Option(help: "The address to listen on.")
        var host: String = "127.0.0.1"

        @Option(help: "The port (0 picks a free one and prints it).")
        var port: Int = 8080

        @Option(help: "The model's name in the URLs (/v2/models/NAME/infer).")
        var name: String = "model"

        @Option(name: .customLong("max-rows"), help: "The most rows one request may carry.")
        var maxRows: Int = 10_000

        @Option(name: .customLong("max-body-bytes"), help: "The largest request body read; a larger one gets 413.")
        var maxBodyBytes: Int = 4 << 20

        @Option(
            name: .customLong("io-threads"),
            help: """
                Threads for network I/O (SwiftNIO event loops). Predictions run on a pool of one \
                thread per core; one I/O thread keeps tail latency low on small machines.
                """)
        var ioThreads: Int = 1

        @Option(
            name: .customLong("out-of-domain"),
            help: "A value outside the schema's domain: reject (400), missing (read as missing) or keep.")
        var outOfDomain: String = "reject"

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535") }
            guard (1...256).contains(ioThreads) else { throw ValidationError("--io-threads must be 1…256") }
            guard maxRows > 0, maxBodyBytes > 0 else {
                throw ValidationError("--max-rows and --max-body-bytes must be positive")
            }
            guard OutOfDomain(rawValue: outOfDomain) != nil else {
                throw ValidationError("--out-of-domain must be reject, missing or keep")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ValidationError("--name must be letters, digits, '-', '_' or '.'")
            }
        }

        func run(context: CommandContext) async throws {
            let folder = try context.modelFolder(model)
            var limits = ModelServer.Limits()
            limits.maxRows = maxRows
            limits.maxBodyBytes = maxBodyBytes
            limits.outOfDomain = OutOfDomain(rawValue: outOfDomain) ?? .reject
            let server = ModelServer(name: name, limits: limits)
            let console = context.console
            // The model starts loading once the socket is open: `listening` comes before `ready`.
            let (listening, opened) = AsyncStream<Void>.makeStream()
            let host = host
            let name = name
            var logger = Logger(label: "mlops.serve")
            logger.logLevel = global.verbose ? .info : .warning
            let app = Application(
                router: server.router(),
                configuration: .init(address: .hostname(host, port: port), serverName: "mlops"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? 0
                    // One line a script can wait for; flushed at once.
                    FileHandle.standardOutput.write(
                        Data("listening on http://\(host):\(port)  (model '\(name)')\n".utf8))
                    opened.yield()
                    opened.finish()
                },
                eventLoopGroupProvider: .shared(
                    MultiThreadedEventLoopGroup(
                        numberOfThreads: ioThreads)),
                logger: logger)
            console.detail("serving \(folder.path)")
            // SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0; a second
            // signal stops at once.
            // Requests still running 10 s after the signal are cut (task cancellation).
            var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger)
            configuration.maximumGracefulShutdownDuration = .seconds(Self.drainSeconds)
            let group = ServiceGroup(configuration: configuration)
            SignalWatcher.watch { number, count in
                guard count == 1 else { SignalWatcher.die(of: number) }
                Task { await group.triggerGracefulShutdown() }
            }
            // The model loads while the server is already live; a model that cannot be loaded
            // stops the server and is the command's error.
            let failure = LoadFailure()
            let loading = Task.detached {
                for await _ in listening { break }
                guard !Task.isCancelled else { return }
                let started = ContinuousClock.now
                do {
                    var task = ""
                    try server.load {
                        // One thread: a served request is a few rows, and OpenMP's hand-offs would cost more.
                        let model = try ServableModel(folder: folder, threads: 1)
                        task = model.task
                        return model
                    }
                    FileHandle.standardOutput.write(
                        Data(
                            ("ready: model '\(name)' (\(task)) loaded in "
                                + String(format: "%.2f s", started.duration(to: .now).inSeconds) + "\n").utf8))
                } catch {
                    failure.error = error
                    await group.triggerGracefulShutdown()
                }
            }
            try await group.run()
            loading.cancel()
            if let error = failure.error { throw error }
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
