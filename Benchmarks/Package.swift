// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that `swift test` never compiles them.
// Run: cd Benchmarks && swift package --disable-sandbox benchmark
let package = Package(
    name: "PrintplaneBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Printplane", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Page-counting throughput on generated 100-page PostScript, PDF, PCL and PCL XL,
        // against a plain memchr scan of the same bytes in the same run.
        .executableTarget(
            name: "PageCounting",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "PageCounting",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FakePrinterIngest",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FakePrinter", package: "Printplane"),
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "FakePrinterIngest",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // BER encode/decode of a typical AD search-result entry (gated on allocations and
        // instructions), and bind+search round trips: simulated AD vs slapd on the same LDIF.
        .executableTarget(
            name: "LDAPBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LDAP", package: "Printplane"),
                .product(name: "Sim", package: "Printplane"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "LDAP",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Targeting and plan hashing, job ingest into SQLite, and what directory integration
        // costs a check-in (warm cache vs the plain unchanged path, and a cold lookup against
        // the simulated AD).
        .executableTarget(
            name: "ServerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PrintplaneCore", package: "Printplane"),
                .product(name: "PrintplaneServer", package: "Printplane"),
                .product(name: "Sim", package: "Printplane"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Server",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The agent's memory per instance (the simulator holds 10,000) and its check-in cost.
        .executableTarget(
            name: "AgentBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PrintplaneAgent", package: "Printplane"),
                .product(name: "PrintplaneCore", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Agent",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
