// swift-tools-version: 6.1
import PackageDescription

// Printplane's benchmarks, kept out of the main package so `swift test` never builds them.
// Run: cd Benchmarks && swift package --disable-sandbox benchmark
let package = Package(
    name: "PrintplaneBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Printplane", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Page-counting throughput on generated 100-page PostScript, PDF and PCL,
        // against a plain memchr scan of the same bytes in the same run.
        .executableTarget(
            name: "PageCounting",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "PageCounting",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ]
)
