import Foundation
import LDAP
import NIOCore
import NIOPosix
import ServiceLifecycle
import Sim
import PrintplaneTestSupport
import Testing

/// Our LDAP client against the simulated AD: paging, TLS, the pool, timeouts and faults.
@Suite struct SimulatedADClientTests {
    static let base = "DC=corp,DC=example,DC=com"

    func connect(_ server: SimulatedADServer, _ addresses: SimulatedADServer.Addresses, transport: LDAPClientConfiguration.Transport = .plain, timeout: Duration = .seconds(10)) async throws -> LDAPConnection {
        let connection = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses, transport: transport, operationTimeout: timeout))
        let account = SimulatedADFixture.serviceAccount(server.directory)
        try await connection.bind(name: account.name, password: account.password)
        return connection
    }

    @Test func pagedSearchSequenceYieldsEveryPersonOnce() async throws {
        try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: 2300, groups: 50, computers: 20)) { server, addresses in
            let connection = try await self.connect(server, addresses)
            defer { Task { await connection.close() } }
            let request = SearchRequest(baseObject: Self.base, filter: try LDAPFilter(parsing: "(&(objectCategory=person)(objectClass=user))"), attributes: ["sAMAccountName"])
            var iterator = connection.pagedSearch(request, pageSize: 400).makeAsyncIterator()
            var names: Set<String> = []
            while let entry = try await iterator.next() {
                names.insert(entry.strings(of: "sAMAccountName")[0])
            }
            #expect(names.count == 2302)
            #expect(iterator.pages == 6)
        }
    }

    @Test func scopesLimitsAndAttributeSelection() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let connection = try await self.connect(server, addresses)
            let base = try await connection.search(SearchRequest(baseObject: Self.base, scope: .baseObject))
            #expect(base.entries.map(\.objectName) == [Self.base])
            let one = try await connection.search(SearchRequest(baseObject: Self.base, scope: .singleLevel, attributes: ["1.1"]))
            #expect(Set(one.entries.map(\.objectName)) == ["CN=Users,\(Self.base)", "OU=Sites,\(Self.base)", "OU=Groups,\(Self.base)"])
            #expect(one.entries.allSatisfy { $0.attributes.isEmpty })
            let limited = try await connection.search(SearchRequest(baseObject: Self.base, sizeLimit: 5, filter: try LDAPFilter(parsing: "(objectClass=user)")))
            #expect(limited.entries.count == 5)
            #expect(limited.result.resultCode == .sizeLimitExceeded)
            let typesOnly = try await connection.search(SearchRequest(baseObject: Self.base, typesOnly: true, filter: try LDAPFilter(parsing: "(sAMAccountName=svc-printplane)"), attributes: ["SAMACCOUNTNAME", "mail"]))
            #expect(typesOnly.entries.first?.attributes.map(\.type) == ["sAMAccountName", "mail"])
            #expect(typesOnly.entries.first?.attributes.first?.values.isEmpty == true)
            do {
                _ = try await connection.search(SearchRequest(baseObject: "OU=Nowhere,\(Self.base)"))
                Issue.record("expected noSuchObject")
            } catch let error as LDAPClientError {
                #expect(error.resultCode == .noSuchObject)
                #expect(error.result?.matchedDN == Self.base)
            }
            await connection.close()
        }
    }

    @Test func startTLSAndLDAPSCarryTheSession() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            for transport in [LDAPClientConfiguration.Transport.startTLS, .ldaps] {
                let connection = try await self.connect(server, addresses, transport: transport)
                #expect(try await connection.whoAmI() == "u:CORP\\svc-printplane")
                await connection.close()
            }
        }
    }

    /// A failed LDAPS handshake closes the channel at once; a request written after that must
    /// still say "TLS failed", not "I/O on closed channel" (which reads as "unreachable").
    @Test func aRequestAfterAFailedHandshakeReportsTheTLSFailure() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            var configuration = try SimulatedADFixture.clientConfiguration(server, addresses, transport: .ldaps)
            configuration.tls.trustRoots = .certificates([])  // trusts nothing: the handshake must fail
            let connection = try await LDAPConnection.connect(configuration: configuration)
            let deadline = ContinuousClock.now + .seconds(30)
            while connection.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(!connection.isActive, "the handshake failed and closed the channel")
            let error = await #expect(throws: LDAPClientError.self) { try await connection.bind(name: "CORP\\svc-printplane", password: "x") }
            #expect(error?.isTLSFailure == true, "\(String(describing: error))")
            await connection.close()
        }
    }

    @Test func badCredentialsCarryCodeAndDiagnostic() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let connection = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses))
            do {
                try await connection.bind(name: "CORP\\svc-printplane", password: "wrong")
                Issue.record("bind should fail")
            } catch let error as LDAPClientError {
                #expect(error.resultCode == .invalidCredentials)
                #expect(error.diagnosticMessage?.contains("data 52e") == true)
            }
            await connection.close()
        }
    }

    @Test func poolNeverOpensMoreThanItsMaximum() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let account = SimulatedADFixture.serviceAccount(server.directory)
            let pool = LDAPConnectionPool(configuration: try SimulatedADFixture.clientConfiguration(server, addresses), credentials: .init(name: account.name, password: account.password), maximumConnections: 2)
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try await connection.search(SearchRequest(baseObject: Self.base, filter: try LDAPFilter(parsing: "(cn=*\(index % 3)*)"), attributes: ["1.1"])).entries.count
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.count == 12)
            #expect(await pool.openConnections <= 2)
            await pool.close()
        }
    }

    @Test func latencyFaultTriggersTheClientTimeout() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            // A 1 s client timeout (the bind must still fit in it when CI runs whole scenarios
            // beside this test) against 5 s of injected latency.
            let connection = try await self.connect(server, addresses, timeout: .seconds(1))
            server.faults.set(SimulatedADFaults(latency: .seconds(5)))
            let started = ContinuousClock.now
            await #expect(throws: LDAPClientError.timeout("search")) {
                _ = try await connection.search(SearchRequest(baseObject: Self.base, scope: .baseObject))
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            await connection.close()
            // Latency under the client's timeout only slows the answer. A separate connection with
            // a generous timeout keeps this half independent of how loaded the machine is.
            let patient = try await self.connect(server, addresses, timeout: .seconds(10))
            server.faults.set(SimulatedADFaults(latency: .milliseconds(150)))
            let slow = ContinuousClock.now
            _ = try await patient.search(SearchRequest(baseObject: Self.base, scope: .baseObject))
            #expect(ContinuousClock.now - slow >= .milliseconds(150))
            await patient.close()
        }
    }

    @Test func droppedMidSearchIsAConnectionError() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let connection = try await self.connect(server, addresses)
            server.faults.set(SimulatedADFaults(dropSearchAfterEntries: 3))
            await #expect(throws: LDAPClientError.connectionClosed) {
                _ = try await connection.search(SearchRequest(baseObject: Self.base, filter: try LDAPFilter(parsing: "(objectClass=user)")))
            }
            #expect(!connection.isActive)
        }
    }

    @Test func refusedConnectionsAndSlowBinds() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            server.faults.set(SimulatedADFaults(refuseConnections: true))
            await #expect(throws: (any Error).self) {
                let connection = try await self.connect(server, addresses)
                await connection.close()
            }
            server.faults.set(SimulatedADFaults(bindDelay: .milliseconds(300)))
            let started = ContinuousClock.now
            let connection = try await self.connect(server, addresses)
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            await connection.close()
        }
    }

    @Test func adminOperationSwitchesFaults() async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let operation = ExtendedRequest(name: SimulatedADBackend.faultOperationOID, value: Array("latency=5ms".utf8))
            let service = try await self.connect(server, addresses)
            await #expect(throws: LDAPClientError.operationFailed("", LDAPResult(.insufficientAccessRights))) { _ = try await service.extended(operation) }
            await service.close()
            let admin = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses))
            try await admin.bind(name: "Administrator@corp.example.com", password: server.directory.password(for: "Administrator"))
            let response = try await admin.extended(operation)
            #expect(String(decoding: response.value ?? [], as: UTF8.self).contains("latency=5ms"))
            #expect(server.faults.current.latency == .milliseconds(5))
            await admin.close()
        }
    }

    /// Raw hostile bytes over a real socket: the server answers with a Notice of
    /// Disconnection and closes, and keeps serving everyone else.
    @Test(arguments: [
        ("huge length prefix", [0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF] as [UInt8]),
        ("length past end", [0x30, 0x05, 0x02, 0x64, 0x01, 0x42, 0x00] as [UInt8]),
        ("deep nesting", Self.deeplyNested()),
        ("garbage", [0x04, 0x02, 0x41, 0x41] as [UInt8]),
    ])
    func hostileBytesGetANoticeAndAClose(name: String, bytes: [UInt8]) async throws {
        try await SimulatedADFixture.withServer { server, addresses in
            let reply = try await RawSocket.exchange(port: addresses.ldapPort, send: bytes)
            let notice = try LDAPMessage(berEncoded: reply)
            #expect(notice.messageID == 0)
            guard case .extendedResponse(let response) = notice.protocolOp else { Issue.record("no notice"); return }
            #expect(response.result.resultCode == .protocolError)
            let healthy = try await self.connect(server, addresses)
            #expect(try await healthy.whoAmI() == "u:CORP\\svc-printplane")
            await healthy.close()
        }
    }

    static func deeplyNested() -> [UInt8] {
        var filter = LDAPFilter.present(attribute: "cn")
        for _ in 0..<60 { filter = .not(filter) }
        return try! LDAPMessage(messageID: 1, .searchRequest(SearchRequest(baseObject: "", filter: filter))).berEncoded()
    }

    @Test func gracefulShutdownStopsListeningAndClosesConnections() async throws {
        let server = try SimulatedADServer(configuration: SimulatedADFixture.configuration(users: 10, groups: 5, computers: 1))
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let addresses = try await server.listeningAddresses()
            let connection = try await self.connect(server, addresses)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            // The close reaches the client asynchronously; allow it a while on a loaded machine
            // (CI runs whole scenario runs beside this test).
            let deadline = ContinuousClock.now + .seconds(20)
            while connection.isActive && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!connection.isActive)
            await #expect(throws: (any Error).self) {
                _ = try await LDAPConnection.connect(configuration: try SimulatedADFixture.clientConfiguration(server, addresses))
            }
        }
    }
}

/// A bare TCP client for sending bytes no LDAP library would produce.
enum RawSocket {
    static func exchange(port: Int, send bytes: [UInt8]) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var received: [UInt8] = []
            // Read until the server closes; a server that never closed would trip the timeout.
            try await withThrowingTaskGroup(of: [UInt8].self) { group in
                group.addTask {
                    var all: [UInt8] = []
                    for try await chunk in inbound { all += chunk.readableBytesView }
                    return all
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw CancellationError()
                }
                received = try await group.next()!
                group.cancelAll()
            }
            return received
        }
    }
}
