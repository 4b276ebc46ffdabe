import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MLOpsCore
import Pipeline
import ServiceLifecycle
import Serving

extension MLOps {
    struct Serve: MLOpsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a model over HTTP: the Open Inference Protocol v2 (KServe V2) REST API.",
            discussion: """
                MODEL is a model folder or `latest` (as for `mlops infer`). The model is loaded and \
                answers a warm-up prediction before the server reports ready; the address is printed \
                as `listening on http://HOST:PORT` once the socket is open (`--port 0` picks a free \
                port). Raw feature rows go in, one input tensor per feature, through the fitted \
                transform and the model in-process. SIGTERM or SIGINT stops accepting, finishes the \
                requests in flight and exits 0 (docs/serving.md).
                """)
        static let jsonSchema = "mlops.serve/v1"

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

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535") }
            guard maxRows > 0, maxBodyBytes > 0 else {
                throw ValidationError("--max-rows and --max-body-bytes must be positive")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ValidationError("--name must be letters, digits, '-', '_' or '.'")
            }
        }

        func run(context: CommandContext) async throws {
            let folder = try PipelineSession.modelFolder(model, context)
            let started = ContinuousClock.now
            let servable = try ServableModel(folder: folder)
            var limits = ModelServer.Limits()
            limits.maxRows = maxRows
            limits.maxBodyBytes = maxBodyBytes
            let server = ModelServer(model: servable, name: name, limits: limits)
            try server.warmUp()
            let loaded = started.duration(to: .now).inSeconds
            let console = context.console
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
                        Data(
                            ("listening on http://\(host):\(port)  (model '\(name)', \(servable.task), "
                                + String(format: "loaded in %.2f s", loaded) + ")\n").utf8))
                },
                logger: logger)
            console.detail("serving \(folder.path)")
            // SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0; a second
            // signal stops at once.
            let group = ServiceGroup(
                configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
            SignalWatcher.watch { number, count in
                guard count == 1 else { SignalWatcher.die(of: number) }
                Task { await group.triggerGracefulShutdown() }
            }
            try await group.run()
        }
    }
}
