import Foundation
import LDAP
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The simulated Active Directory as a `Service`: plain LDAP (with StartTLS) and optionally
/// LDAPS, serving a directory generated from a seed, with faults switchable at run time.
///
/// Run it in a `ServiceGroup`; on graceful shutdown it stops accepting and closes every
/// connection. Tests bind port 0 and read the real ports from ``listeningAddresses()``.
public final class SimulatedADServer: Service, Sendable {
    /// Where the server listens once it runs.
    public struct Addresses: Sendable, Hashable {
        public var ldap: SocketAddress
        public var ldaps: SocketAddress?

        /// The plain LDAP port.
        public var ldapPort: Int { self.ldap.port ?? 0 }
        /// The LDAPS port, if enabled.
        public var ldapsPort: Int? { self.ldaps?.port }
    }

    public let configuration: SimulatedADConfiguration
    /// The directory served right now.
    public var directory: SimulatedDirectory { self.backend.directory }
    /// The faults in force; change them while the server runs.
    public let faults: SimulatedADFaultSwitch
    /// The generated CA, when the certificate was generated (nil with `--tls-cert`).
    public let certificateAuthority: SimulatedADCertificateAuthority?

    private let backend: SimulatedADBackend
    private let sslContext: NIOSSLContext
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let listening: EventLoopPromise<Addresses>
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Generates the directory and the certificates; nothing listens until ``run()``.
    public init(
        configuration: SimulatedADConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "printplane.ad")
    ) throws {
        self.configuration = configuration
        self.faults = SimulatedADFaultSwitch(configuration.faults)
        self.backend = SimulatedADBackend(directory: try DirectoryGenerator.generate(configuration.directory), faults: self.faults, maxPageSize: configuration.maxPageSize)
        let tls: TLSConfiguration
        switch configuration.certificate {
        case .generated(let hostnames):
            let authority = try SimulatedADCertificateAuthority(hostnames: hostnames)
            self.certificateAuthority = authority
            tls = try authority.serverTLSConfiguration()
        case .files(let chainPath, let keyPath):
            self.certificateAuthority = nil
            do {
                let chain = try String(decoding: FileBytes.read(chainPath), as: UTF8.self)
                let key = try String(decoding: FileBytes.read(keyPath), as: UTF8.self)
                tls = try SimulatedADCertificateAuthority.serverTLSConfiguration(certificateChainPEM: chain, privateKeyPEM: key)
            } catch let error as SimulatedADError {
                throw error
            } catch {
                throw SimulatedADError.certificate("cannot load \(chainPath) / \(keyPath): \(error)")
            }
        }
        self.sslContext = try NIOSSLContext(configuration: tls)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.listening = eventLoopGroup.next().makePromise(of: Addresses.self)
    }

    /// Changes the directory while the server runs, e.g.
    /// `try server.updateDirectory { try $0.changingMembers(of: groupDN, adding: [userDN]) }`;
    /// the next operation sees the change.
    public func updateDirectory(_ change: (SimulatedDirectory) throws -> SimulatedDirectory) rethrows {
        self.backend.replaceDirectory(try change(self.backend.directory))
    }

    /// The addresses the server listens on; waits until ``run()`` has bound them.
    public func listeningAddresses() async throws -> Addresses {
        try await self.listening.futureResult.get()
    }

    public func run() async throws {
        let plain: any Channel
        var secure: (any Channel)?
        do {
            plain = try await self.bind(port: self.configuration.port, tlsFromStart: false)
            if let port = self.configuration.ldapsPort {
                secure = try await self.bind(port: port, tlsFromStart: true)
            }
        } catch {
            self.listening.fail(error)
            throw error
        }
        let addresses = Addresses(ldap: plain.localAddress!, ldaps: secure?.localAddress)
        self.logger.info("simulated AD listening", metadata: [
            "printplane.ad.ldap": "\(addresses.ldap)",
            "printplane.ad.ldaps": "\(addresses.ldaps.map { "\($0)" } ?? "off")",
            "printplane.ad.entries": "\(self.directory.entries.count)",
        ])
        self.listening.succeed(addresses)

        // Serve until graceful shutdown (or cancellation), then close listeners and connections.
        try? await gracefulShutdown()
        self.logger.info("simulated AD shutting down")
        try? await plain.close()
        if let secure { try? await secure.close() }
        let open = self.connections.withLock { Array($0.values) }
        for channel in open { try? await channel.close() }
    }

    private func bind(port: Int, tlsFromStart: Bool) async throws -> any Channel {
        let backend = self.backend
        let sslContext = self.sslContext
        let startTLS = self.configuration.startTLS ? sslContext : nil
        let logger = self.logger
        let faults = self.faults
        return try await ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [weak self] channel in
                if faults.current.refuseConnections {
                    return channel.close()
                }
                self?.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    if tlsFromStart {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try LDAPServerHandler.configure(
                        channel: channel,
                        backend: backend,
                        startTLS: tlsFromStart ? nil : startTLS,
                        isSecure: tlsFromStart,
                        logger: logger
                    )
                }
            }
            .bind(host: self.configuration.host, port: port)
            .get()
    }

    private func track(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        self.connections.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.connections.withLock { $0.removeValue(forKey: id) }
        }
    }
}

enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SimulatedADError.certificate("cannot read \(path)")
        }
        return Array(data)
    }
}
