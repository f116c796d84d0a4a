// swift-tools-version: 6.1
import PackageDescription

// Printplane: serverless print management and the harness that proves it.
// Target layout and dependency direction follow DESIGN.md §2:
//   Core ← PrintProtocols/LDAP ← Server/Agent ← FakePrinter/Sim ← CLI
let package = Package(
    name: "Printplane",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "printplane", targets: ["printplane"]),
        .library(name: "PrintProtocols", targets: ["PrintProtocols"]),
        .library(name: "FakePrinter", targets: ["FakePrinter"]),
        .library(name: "LDAP", targets: ["LDAP"]),
        .library(name: "Sim", targets: ["Sim"]),
        .library(name: "PrintplaneCore", targets: ["PrintplaneCore"]),
        .library(name: "PrintplaneServer", targets: ["PrintplaneServer"]),
        .library(name: "PrintplaneAgent", targets: ["PrintplaneAgent"]),
        .library(name: "PrintplaneHTTP", targets: ["PrintplaneHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // AppSocket/RAW, RFC 1179 LPD, PJL and page counting: shared by the agent and the fake printer.
        .target(
            name: "PrintProtocols",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Sources/Reference/PrintProtocols"
        ),
        // The fake network printer: 9100 + 515 listeners, job store, faults, HTTP status.
        .target(
            name: "FakePrinter",
            dependencies: [
                "PrintProtocols",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // LDAPv3 over BER (swift-asn1): messages, RFC 4515 filters, an NIO client, and the
        // server-side handler the simulated AD uses.
        .target(
            name: "LDAP",
            dependencies: [
                "PrintplaneCore",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Reference/LDAP"
        ),
        // libpcap as a system library (libpcap-dev, installed by scripts/bootstrap.sh).
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        // The harness: the simulated Active Directory (and, later, the fleet simulator).
        .target(
            name: "Sim",
            dependencies: [
                "PrintplaneAgent",
                "PrintplaneServer",
                "FakePrinter",
                "PrintProtocols",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "LDAP",
                "CPcap",
                "PrintplaneCore",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        // Agent API wire types, IDs, tokens, signed driver manifests, targeting rules (with the
        // distinguished names AD group and OU targets need), the CA. No networking.
        .target(
            name: "PrintplaneCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/Reference/Core"
        ),
        // HTTP pieces the control plane and the LAN driver cache share: content-addressed
        // driver downloads (RFC 9110 Range, ETag/If-None-Match, HEAD), the download limiter
        // and the back-pressured file body, so both serve a driver byte for byte alike.
        .target(
            name: "PrintplaneHTTP",
            dependencies: [
                "PrintplaneCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Sources/Reference/HTTP"
        ),
        // The control plane: store, TLS bootstrap, tokens, enrollment, check-in, drivers, ingest,
        // directory integration (read-only LDAP), admin API.
        .target(
            name: "PrintplaneServer",
            dependencies: [
                "PrintplaneCore",
                "PrintplaneHTTP",
                "LDAP",
                "PrintProtocols",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            path: "Sources/Reference/Server"
        ),
        // The workstation agent: enrollment, check-in, verified driver installs, direct
        // printing and the durable outbox, with I/O behind small protocols for the simulator;
        // and the LAN driver cache (`printplane cache`), a workstation-side component that
        // enrolls like an agent and reuses its transport, driver fetcher and verification.
        .target(
            name: "PrintplaneAgent",
            dependencies: [
                "PrintplaneCore",
                "PrintProtocols",
                "PrintplaneHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Reference/Agent"
        ),
        // The single CLI: maps flags onto configurations and runs services.
        .executableTarget(
            name: "printplane",
            dependencies: [
                "PrintplaneAgent",
                "FakePrinter",
                "Sim",
                "LDAP",
                "PrintplaneCore",
                "PrintplaneServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PrintProtocolsTests",
            dependencies: [
                "Sim",
                "PrintProtocols",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PrintplaneCoreTests",
            dependencies: [
                "PrintplaneCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // Real peers and in-process servers shared by test targets: the simulated AD fixture,
        // a throwaway slapd, and running external tools with a hard timeout. Tests only.
        .target(
            name: "PrintplaneTestSupport",
            dependencies: [
                "LDAP",
                "Sim",
                "PrintplaneCore",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport"
        ),
        // The server's tests, including directory integration against the simulated AD (Sim)
        // and slapd, and an agent keeping its printers through a directory outage.
        .testTarget(
            name: "PrintplaneServerTests",
            dependencies: [
                "PrintplaneCore",
                "PrintplaneServer",
                "PrintplaneAgent",
                "LDAP",
                "Sim",
                "PrintplaneTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
        ),
        .testTarget(
            name: "FakePrinterTests",
            dependencies: [
                "Sim",
                "FakePrinter",
                "PrintProtocols",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "LDAPTests",
            dependencies: [
                "LDAP",
                "PrintplaneCore",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SimTests",
            dependencies: [
                "Sim",
                "LDAP",
                "PrintplaneTestSupport",
                "PrintplaneCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Fixtures"]
        ),
            .testTarget(
            name: "PrintplaneAgentTests",
            dependencies: [
                "PrintplaneAgent",
                "PrintplaneTestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                "PrintplaneServer",
                "PrintplaneCore",
                "PrintProtocols",
                "FakePrinter",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ]
)
