import ArgumentParser
import Foundation
import LDAP
import Logging
import ServiceLifecycle
import Sim

/// `printplane ad`: the simulated Active Directory (DESIGN.md §8).
struct ADCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ad",
        abstract: "Run a simulated Active Directory domain controller (LDAPv3, LDAPS, StartTLS).",
        discussion: """
            Serves a directory generated from --seed: one domain with OUs per site and
            department, people with sAMAccountName, userPrincipalName, mail, memberOf, binary
            objectSid/objectGUID and userAccountControl (about 3% disabled, 514), nested
            groups, and computers. The same seed always gives the same directory.

            Every account's password is Printplane-<seed>-<sAMAccountName>; print one with
            --print-password. Administrator and svc-printplane exist in CN=Users in every
            directory. Binds work by DN, by UPN (alice.smith@corp.example.com) and as
            CORP\\alice.smith. Wrong passwords fail with 49 and "data 52e", disabled accounts
            with 49 and "data 533"; anonymous searches are refused except for the RootDSE.

            Searches support base/one/sub scopes, size limits, AD's MaxPageSize of 1000
            (unpaged searches stop there with sizeLimitExceeded), paged results
            (1.2.840.113556.1.4.319), the in-chain (1941) and bitwise (803/804) matching
            rules, attribute selection, *, 1.1 and typesOnly.

            Faults can be set at start with --fault-* and switched while running with the
            admin extended operation 1.3.6.1.4.1.32473.1.1, bound as Administrator (see
            docs/ldap.md).
            """
            + "\n\nExamples:\n"
            + """
              printplane ad --listen 127.0.0.1:3890 --ldaps-port 6360 --seed 42 --users 5000 --ca-out /tmp/ad-ca.pem
              ldapsearch -x -H ldap://127.0.0.1:3890 -D 'CORP\\svc-printplane' -w Printplane-42-svc-printplane \\
                  -b DC=corp,DC=example,DC=com -E pr=500/noprompt '(objectClass=user)' sAMAccountName
              LDAPTLS_CACERT=/tmp/ad-ca.pem ldapwhoami -x -ZZ -H ldap://localhost:3890 \\
                  -D alice.smith@corp.example.com -w Printplane-42-alice.smith
              printplane ad --seed 42 --users 100 --export-ldif /tmp/corp.ldif
              printplane ad --fault-latency 200 --fault-drop-after 50
            """
    )

    @Option(help: "Address and port for plain LDAP and StartTLS.")
    var listen: String = "127.0.0.1:3890"

    @Option(help: "Also serve LDAPS on this port (same address).")
    var ldapsPort: Int?

    @Option(help: "The DNS domain; its first label (uppercased) is the NetBIOS name.")
    var domain: String = "corp.example.com"

    @Option(help: "Seed for the generated directory and passwords.")
    var seed: UInt64 = 42

    @Option(help: "Number of people.")
    var users: Int = 10_000

    @Option(help: "Number of groups (structural groups first, then nested teams).")
    var groups: Int = 500

    @Option(help: "Number of computers.")
    var computers: Int = 10_000

    @Option(help: "Most entries one search or page returns (AD's MaxPageSize).")
    var maxPageSize: Int = 1000

    @Flag(help: "Do not offer StartTLS on the plain port.")
    var noStarttls = false

    @Option(help: "PEM certificate chain for LDAPS/StartTLS (default: generate a CA and certificate).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Host names and addresses the generated certificate covers (comma-separated).")
    var tlsHostnames: String = "localhost,127.0.0.1"

    @Option(help: "Write the generated CA certificate here, for LDAPTLS_CACERT.")
    var caOut: String?

    @Option(help: "Write the directory as LDIF to this file and exit.")
    var exportLdif: String?

    @Option(help: "Print the password of this sAMAccountName under the seed, and exit.")
    var printPassword: String?

    @Option(help: "Fault: milliseconds added before every response.")
    var faultLatency: Int?

    @Option(help: "Fault: milliseconds added before bind responses.")
    var faultBindDelay: Int?

    @Flag(help: "Fault: accept and immediately close new connections.")
    var faultRefuse = false

    @Option(help: "Fault: drop the connection after this many entries of a search.")
    var faultDropAfter: Int?

    @Flag(help: "Fault: every bind fails with 49 / data 52e.")
    var faultRejectBinds = false

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func validate() throws {
        if (self.tlsCert == nil) != (self.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard self.users >= 0, self.groups >= 0, self.computers >= 0 else {
            throw ValidationError("--users, --groups and --computers must not be negative")
        }
        guard self.maxPageSize > 0 else { throw ValidationError("--max-page-size must be positive") }
    }

    func makeConfiguration() throws -> SimulatedADConfiguration {
        guard let colon = self.listen.lastIndex(of: ":"), let port = Int(self.listen[self.listen.index(after: colon)...]) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:3890")
        }
        var faults = SimulatedADFaults()
        if let latency = self.faultLatency { faults.latency = .milliseconds(latency) }
        if let delay = self.faultBindDelay { faults.bindDelay = .milliseconds(delay) }
        faults.refuseConnections = self.faultRefuse
        faults.dropSearchAfterEntries = self.faultDropAfter
        faults.rejectBinds = self.faultRejectBinds
        let certificate: SimulatedADConfiguration.Certificate
        if let cert = self.tlsCert, let key = self.tlsKey {
            certificate = .files(certificateChain: cert, privateKey: key)
        } else {
            certificate = .generated(hostnames: self.tlsHostnames.split(separator: ",").map(String.init))
        }
        return SimulatedADConfiguration(
            host: String(self.listen[..<colon]),
            port: port,
            ldapsPort: self.ldapsPort,
            startTLS: !self.noStarttls,
            certificate: certificate,
            directory: .init(domain: self.domain, seed: self.seed, users: self.users, groups: self.groups, computers: self.computers),
            maxPageSize: self.maxPageSize,
            faults: faults
        )
    }

    func run() async throws {
        if let account = self.printPassword {
            print(SimulatedDirectory.password(seed: self.seed, sAMAccountName: account))
            return
        }
        var logger = Logger(label: "printplane.ad")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        let configuration = try self.makeConfiguration()
        if let path = self.exportLdif {
            let directory = try DirectoryGenerator.generate(configuration.directory)
            try directory.ldif().write(toFile: path, atomically: true, encoding: .utf8)
            print("wrote \(directory.entries.count) entries to \(path)")
            return
        }
        let server = try SimulatedADServer(configuration: configuration, logger: logger)
        if let path = self.caOut, let authority = server.certificateAuthority {
            try authority.caCertificatePEM.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let addresses = try await server.listeningAddresses()
            let directory = server.directory
            let service = "\(directory.netbiosName)\\svc-printplane"
            print("""
                simulated AD for \(directory.domain) (\(directory.baseDN)), \(directory.entries.count) entries
                  ldap:  ldap://\(configuration.host):\(addresses.ldapPort)\(configuration.startTLS ? " (StartTLS)" : "")
                  ldaps: \(addresses.ldapsPort.map { "ldaps://\(configuration.host):\($0)" } ?? "off")
                  bind:  \(service) / \(directory.password(for: "svc-printplane"))
                  CA:    \(self.caOut ?? (server.certificateAuthority == nil ? "(from --tls-cert)" : "pass --ca-out FILE to write it"))
                  faults: \(server.faults.current)
                """)
            try await tasks.next()
            tasks.cancelAll()
        }
    }
}
