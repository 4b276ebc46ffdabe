import ArgumentParser
import Foundation
import MLOpsCore
import Pipeline
import Serving

extension OutOfDomain: ExpressibleByArgument {}

extension MLOps {
    struct Serve: MLOpsCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract:
                "Serve a model over HTTP (the Open Inference Protocol v2 REST API) and, with --grpc-port, over gRPC.",
            discussion: """
                MODEL is a model folder, `latest` (as for `mlops infer`), a released NAME@CHANNEL or \
                NAME@VERSION, or a bundle file (.tar.zst, verified first); a released model is \
                served under its release name unless --name says otherwise. The address is printed as \
                `listening on http://HOST:PORT` once the socket is open (`--port 0` picks a free \
                port): /v2/health/live answers from then on, while the model loads; /v2/health/ready \
                answers 200 once the model is loaded and has answered a warm-up prediction, and \
                `ready` is printed. Raw feature rows go in, through the fitted transform and the \
                model in-process, each value checked against the schema's domain (--out-of-domain). \
                SIGTERM or SIGINT stops accepting, finishes the requests in flight and exits 0 \
                (docs/serving.md).
                """)
        static let jsonSchema = "mlops.serve/v1"

        @OptionGroup var global: GlobalOptions

        @Argument(help: "A model folder, `latest`, NAME@CHANNEL, NAME@VERSION or a bundle file.")
        var model: String

        @Option(help: "The address to listen on.")
        var host: String = "127.0.0.1"

        @Option(help: "The port (0 picks a free one and prints it).")
        var port: Int = 8080

        @Option(
            help: "The model's name in the URLs (/v2/models/NAME/infer; default: the release name, else `model`).")
        var name: String?

        @Option(
            name: .customLong("grpc-port"),
            help: ArgumentHelp(
                "Also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this port (0 picks a free one and prints it).",
                valueName: "port"))
        var grpcPort: Int?

        @Option(name: .customLong("max-rows"), help: "The most rows one request may carry.")
        var maxRows: Int = 10_000

        @Option(name: .customLong("max-body-bytes"), help: "The largest request body read; a larger one gets 413.")
        var maxBodyBytes: Int = 4 << 20

        @Option(
            name: .customLong("io-threads"),
            help: """
                Event-loop threads (SwiftNIO). Each connection is read, answered and written on its loop's \
                thread; predictions of more than 256 rows move to Swift's pool (default: one per core).
                """)
        var ioThreads: Int = ServeRun.Options().ioThreads

        @Option(
            name: .customLong("out-of-domain"),
            help: """
                A value outside the schema's domain: reject (400), missing (read as missing) or keep (default: serving.out_of_domain \
                of mlops.yaml, which InfraValidator tests, else reject).
                """)
        var outOfDomain: OutOfDomain?

        @Option(
            name: .customLong("read-timeout"),
            help: ArgumentHelp(
                "Seconds a request has to arrive whole, header and body, from its first byte (or a new connection from opening); slower ones are closed.",
                valueName: "seconds"))
        var readTimeout: Double = Double(ConnectionLimits().readTimeout.components.seconds)

        @Option(
            name: .customLong("idle-timeout"),
            help: ArgumentHelp(
                "Seconds a kept-alive connection may wait for its next request before it is closed.",
                valueName: "seconds"))
        var idleTimeout: Double = Double(ConnectionLimits().idleTimeout.components.seconds)

        @Option(
            name: .customLong("max-connections"),
            help: ArgumentHelp(
                "Connections open at once; the next ones get 503 and are closed (default: the open-file limit less 64, 16…4096).",
                valueName: "n"))
        var maxConnections: Int?

        @Option(
            name: .customLong("log-predictions"),
            help: ArgumentHelp(
                "Log each request's rows and predictions as JSON lines in this folder (default: serving.log.path of mlops.yaml when serving.log is set; `none`: off).",
                valueName: "folder"))
        var logPredictions: String?

        /// InfraValidator's server: stop (as on SIGTERM) once the process that started it is
        /// gone, so a gate killed with SIGKILL leaves no server behind.
        @Option(name: .customLong("watch-parent"), help: .hidden)
        var watchParent: Int32?

        func validate() throws {
            guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535") }
            if let grpcPort {
                guard (0...65_535).contains(grpcPort) else { throw ValidationError("--grpc-port must be 0…65535") }
                guard grpcPort == 0 || grpcPort != port else {
                    throw ValidationError("--grpc-port must differ from --port")
                }
            }
            guard (1...256).contains(ioThreads) else { throw ValidationError("--io-threads must be 1…256") }
            guard maxRows > 0, maxBodyBytes > 0 else {
                throw ValidationError("--max-rows and --max-body-bytes must be positive")
            }
            for (flag, seconds) in [("--read-timeout", readTimeout), ("--idle-timeout", idleTimeout)] {
                guard seconds.isFinite, seconds > 0, seconds <= 86_400 else {
                    throw ValidationError("\(flag) must be a number of seconds above 0, at most 86400")
                }
            }
            if let maxConnections, !(1...1_000_000).contains(maxConnections) {
                throw ValidationError("--max-connections must be 1…1000000")
            }
            if let name, !Self.isServable(name) {
                throw ValidationError("--name must be letters, digits, '-', '_' or '.'")
            }
        }

        /// Checks four times a second whether `parent` is still this process's parent; when it
        /// is not (it died and this process was adopted), sends itself SIGTERM: the requests in
        /// flight finish and the server exits.
        static func stopWhenOrphaned(parent: Int32) {
            Thread.detachNewThread {
                while getppid() == parent { Thread.sleep(forTimeInterval: 0.25) }
                kill(getpid(), SIGTERM)
            }
        }

        static func isServable(_ name: String) -> Bool {
            !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        }

        func run(context: CommandContext) async throws {
            let (folder, released) = try context.model(model)
            // NAME@X serves as NAME: the URL a client uses is the name it released.
            let name = name ?? released.flatMap { Self.isServable($0) ? $0 : nil } ?? "model"
            var options = ServeRun.Options()
            (options.host, options.port, options.name, options.ioThreads) = (host, port, name, ioThreads)
            (options.limits.maxRows, options.limits.maxBodyBytes) = (maxRows, maxBodyBytes)
            options.limits.outOfDomain = try outOfDomain ?? context.servingPolicy()
            options.grpcPort = grpcPort
            options.connections.readTimeout = .milliseconds(Int64(readTimeout * 1000))
            options.connections.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
            if let maxConnections { options.connections.maxConnections = maxConnections }
            options.verbose = global.verbose
            options.predictionLog = try context.predictionLog(flag: logPredictions)
            context.console.detail("serving \(folder.path)")
            if let watchParent { Self.stopWhenOrphaned(parent: watchParent) }
            // One line a script can wait for, flushed at once.
            try await ServeRun.run(folder: folder, options: options) {
                FileHandle.standardOutput.write(Data(($0 + "\n").utf8))
            }
        }
    }
}
