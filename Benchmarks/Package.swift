// swift-tools-version: 6.1
import PackageDescription

// Printplane benchmarks, kept out of the main package so `swift test` never builds them.
// Run: cd Benchmarks && swift package --scratch-path .build benchmark
// Wall-clock figures are compared against references measured in the same run
// (scripts/bench-server.sh); thresholds gate only deterministic metrics (allocations).
let package = Package(
    name: "PrintplaneBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Printplane", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ServerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PrintplaneCore", package: "Printplane"),
                .product(name: "PrintplaneServer", package: "Printplane"),
            ],
            path: "Server",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
