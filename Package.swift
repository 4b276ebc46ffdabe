// swift-tools-version:6.0
import PackageDescription

// Layout (docs/architecture.md): a thin `mlops` executable over three libraries that
// depend one way — Release and Gates on Pipeline, never back. Each C library has one
// system-library target (module map + shim header) imported by exactly one wrapper
// module (GitKit, ArchiveKit, SQLiteKit, XGBoostKit); no C type crosses their public API.
let package = Package(
    name: "mlops",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mlops", targets: ["mlops"]),
        // The bundle writer alone, for bench/release (not shipped).
        .executable(name: "mlops-bundle-bench", targets: ["mlops-bundle-bench"]),
        // The S3 client alone, for bench/storage (not shipped).
        .executable(name: "mlops-s3-bench", targets: ["mlops-s3-bench"]),
        // A gRPC load generator for the Open Inference Protocol, for bench/serve (not shipped).
        .executable(name: "mlops-grpc-bench", targets: ["mlops-grpc-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/onevcat/Rainbow", from: "4.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        // MARK: System libraries (module maps only)
        .systemLibrary(
            name: "CGit2", pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"]), .brew(["libgit2"])]),
        .systemLibrary(
            name: "CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"]), .brew(["libarchive"])]),
        .systemLibrary(
            name: "CSQLite3", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]),
        // XGBoost's headers (libxgboost-dev) and forwarders that load libxgboost on first use.
        .target(name: "CXGBoost", linkerSettings: [.linkedLibrary("dl")]),
        // libcurl's headers (libcurl4-openssl-dev) and forwarders that load libcurl on first use,
        // for its AWS Signature V4 signer (S3Kit).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),

        // MARK: Shared ground: errors, exit statuses, output, suggestions
        .target(
            name: "MLOpsCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Rainbow", package: "Rainbow"),
            ]),

        // MARK: One safe wrapper module per C library
        .target(
            name: "GitKit",
            dependencies: ["CGit2", "MLOpsCore", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "ArchiveKit", dependencies: ["CArchive", "MLOpsCore"]),
        .target(
            name: "SQLiteKit",
            dependencies: ["CSQLite3", "MLOpsCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "XGBoostKit", dependencies: ["CXGBoost", "MLOpsCore"]),
        .target(name: "CurlKit", dependencies: ["CCurl", "MLOpsCore"]),
        .target(
            name: "S3Kit",
            dependencies: ["CCurl", "CurlKit", "MLOpsCore", .product(name: "Crypto", package: "swift-crypto")]),

        // MARK: Data formats and storage under the pipeline
        // TensorFlow Metadata's protocol buffers (Schema, statistics, Anomalies): the Swift code
        // protoc generated from Protos/ (scripts/protos.sh), committed.
        .target(
            name: "TFMetadata", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The Open Inference Protocol's gRPC service (KServe V2 / Triton `inference`): the messages
        // and server stubs protoc generated from Protos/ (scripts/protos.sh), committed.
        .target(
            name: "InferenceProtocol",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]),
        // Tables, CSV, the columnar examples file and TFMD schemas.
        .target(
            name: "Tabular",
            dependencies: ["MLOpsCore", "TFMetadata", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The metadata store protocol (ML Metadata's model), its embedded SQLite backend and
        // the PostgreSQL one for stores shared by many jobs.
        .target(
            name: "Metadata",
            dependencies: [
                "MLOpsCore", "SQLiteKit", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // MARK: Product libraries
        .target(
            name: "Pipeline",
            dependencies: [
                "MLOpsCore", "Tabular", "TFMetadata", "Metadata", "GitKit", "XGBoostKit", "S3Kit",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(
            name: "Gates",
            dependencies: [
                "Pipeline", "Tabular", "Metadata", "GitKit", "MLOpsCore",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .target(
            name: "Release",
            dependencies: [
                "Pipeline", "Gates", "Tabular", "Metadata", "GitKit", "MLOpsCore", "ArchiveKit", "S3Kit",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The pipeline on existing orchestrators: one component per job (`mlops component run`,
        // with Kubeflow Pipelines' executor contract) and the exports to KFP, Argo and Airflow.
        .target(
            name: "Orchestration",
            dependencies: [
                "Pipeline", "Gates", "Metadata", "MLOpsCore", "GitKit", .product(name: "Yams", package: "Yams"),
            ]),
        // Experiment tracking: every run mirrored to an MLflow tracking server and model registry
        // through its REST API (libcurl), with an outbox in the store; MLflow runs imported.
        .target(name: "Tracking", dependencies: ["Pipeline", "Metadata", "MLOpsCore", "CurlKit"]),
        // HTTP serving of a model folder (Open Inference Protocol v2), on Hummingbird.
        .target(
            name: "Serving",
            dependencies: [
                "Pipeline", "Tabular", "MLOpsCore", "S3Kit", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                "InferenceProtocol", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),

        // Monitoring the served model: its prediction logs against the release's training
        // statistics and evaluation (`mlops monitor`).
        .target(
            name: "Monitoring",
            dependencies: ["Pipeline", "Gates", "Release", "Serving", "Tabular", "MLOpsCore", "S3Kit"]),

        // MARK: The executable: parsing, output, exit codes
        .executableTarget(
            name: "mlops",
            dependencies: [
                "MLOpsCore", "Pipeline", "Tabular", "Metadata", "Gates", "Release", "Serving", "Orchestration",
                "Tracking", "Monitoring",
                "GitKit",
                "ArchiveKit", "SQLiteKit",
                "XGBoostKit", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),

        .executableTarget(name: "mlops-bundle-bench", dependencies: ["Release"], path: "bench/release/bundle-bench"),
        .executableTarget(name: "mlops-s3-bench", dependencies: ["S3Kit"], path: "bench/storage/s3-bench"),
        .executableTarget(
            name: "mlops-grpc-bench",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ], path: "bench/serve/grpc-bench"),

        // MARK: Tests
        .target(
            name: "MLOpsTestSupport",
            dependencies: [
                "GitKit", "MLOpsCore", "S3Kit", "Metadata", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], path: "Tests/MLOpsTestSupport"),
        // The taxi template written and committed in place, for the library-level tests.
        .target(
            name: "ProjectTestSupport", dependencies: ["Pipeline", "GitKit", "MLOpsTestSupport"],
            path: "Tests/ProjectTestSupport"),
        .testTarget(name: "MLOpsCoreTests", dependencies: ["MLOpsCore"]),
        .testTarget(
            name: "MonitoringTests",
            dependencies: ["Monitoring", "Pipeline", "Tabular", "MLOpsCore", "MLOpsTestSupport"]),
        .testTarget(
            name: "GitKitTests",
            dependencies: ["GitKit", "MLOpsTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ArchiveKitTests", dependencies: ["ArchiveKit", "MLOpsTestSupport"]),
        .testTarget(name: "SQLiteKitTests", dependencies: ["SQLiteKit", "MLOpsTestSupport"]),
        .testTarget(name: "XGBoostKitTests", dependencies: ["XGBoostKit", "MLOpsTestSupport"]),
        .testTarget(
            name: "S3KitTests",
            dependencies: ["S3Kit", "MLOpsCore", "MLOpsTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Tabular", "Metadata", "SQLiteKit", "MLOpsTestSupport", "ProjectTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "GatesTests",
            dependencies: ["Gates", "Pipeline", "Tabular", "Metadata", "MLOpsTestSupport", "ProjectTestSupport"]),
        .testTarget(
            name: "ReleaseTests",
            dependencies: [
                "Release", "ArchiveKit", "Gates", "Pipeline", "Tabular", "Metadata", "MLOpsCore", "MLOpsTestSupport",
                "ProjectTestSupport", "S3Kit",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "OrchestrationTests",
            dependencies: [
                "Orchestration", "Pipeline", "Gates", "MLOpsCore", "MLOpsTestSupport", "ProjectTestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "ServingTests",
            dependencies: [
                "Serving", "Pipeline", "Tabular", "XGBoostKit", "MLOpsTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(
            name: "MLOpsCLITests",
            dependencies: [
                "mlops", "GitKit", "SQLiteKit", "Pipeline", "Tabular", "Metadata", "XGBoostKit", "MLOpsTestSupport",
                "ProjectTestSupport",
                "Release", "ArchiveKit", "Gates", "S3Kit", "Tracking",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
    ]
)
