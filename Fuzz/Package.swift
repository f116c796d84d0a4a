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
        .executableTarget(
            name: "FuzzLPD",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzPJL",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzServerInput",
            dependencies: [
                .product(name: "PrintplaneCore", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzPageCounter",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzIPP",
            dependencies: [
                .product(name: "PrintProtocols", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzLDAP",
            dependencies: [
                .product(name: "LDAP", package: "Printplane"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
