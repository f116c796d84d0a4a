// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for every parser that reads bytes from the network or from users.
// Built and run by scripts/fuzz.sh with `-sanitize=fuzzer,address`; each target defines
// LLVMFuzzerTestOneInput and libFuzzer supplies main().
let package = Package(
    name: "PrintplaneFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Printplane", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        // The libFuzzer driver hand-off every target shares.
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzLPD",
            dependencies: [
                "FuzzSupport",
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzPJL",
            dependencies: [
                "FuzzSupport",
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzServerInput",
            dependencies: [
                "FuzzSupport",
                .product(name: "PrintplaneCore", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzPageCounter",
            dependencies: [
                "FuzzSupport",
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzIPP",
            dependencies: [
                "FuzzSupport",
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzLDAP",
            dependencies: [
                "FuzzSupport",
                .product(name: "LDAP", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
