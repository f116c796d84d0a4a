import Foundation
import Logging
import PrintplaneAgent
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// The reference agent through a directory outage: it must keep its group printers, obey
/// Retry-After, and pick up again when AD is back.
@Suite("Directory outage seen by a real agent")
struct DirectoryOutageAgentTests {
    @Test("AD down with a cold cache: 503 directory_unavailable, the agent keeps every printer and retries")
    func agentKeepsPrintersThroughOutage() async throws {
        try await ADWorld.with { ad in
            let clock = ManualClock()
            try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
                try await server.configureDirectory(ad.settingsBody(ttl: 60))
                let parent = "CN=London Staff,OU=Groups,\(ADWorld.baseDN)"
                let (member, _) = try DirectoryTargetingTests.nestedMemberAndStranger(ad, parent: parent)
                try await server.assign(try await server.createPrinter("Group Printer"), kind: "group", value: parent)
                try await server.assign(try await server.createPrinter("Everyone Printer"), kind: "everyone")

                let stateDirectory = temporaryDirectory()
                var logger = Logger(label: "printplane.agent.test")
                logger.logLevel = .warning
                let (environment, http) = try AgentDaemon.environment(configuration: AgentConfiguration(stateDirectory: stateDirectory), caPEM: server.caPEM, logger: logger)
                do {
                    let agent = try Agent(environment: environment)
                    let (token, _) = try await server.createToken()
                    try await agent.enroll(serverURL: server.baseURL, token: token, machine: .init(hostname: "ws-outage", machineID: "m-outage", os: "linux", agentVersion: "test"))
                    guard case .applied(let changes, _) = await agent.checkIn(user: member, ipAddresses: []) else {
                        Issue.record("the first check-in should apply a plan")
                        return
                    }
                    #expect(Set(changes.installed) == ["Group Printer", "Everyone Printer"])

                    // AD goes away, and the cache goes cold: the admin changes the TTL meanwhile.
                    ad.goDown()
                    var body = ad.settingsBody(ttl: 90)
                    body.removeValue(forKey: "bind_password")
                    try await server.configureDirectory(body)
                    let outcome = await agent.checkIn(user: member, ipAddresses: [])
                    guard case .retryAfter(let seconds) = outcome else {
                        Issue.record("expected retry-after, got \(outcome)")
                        return
                    }
                    #expect((30...60).contains(seconds))
                    #expect(Set(await agent.state.installed.map(\.printer.name)) == ["Group Printer", "Everyone Printer"], "nothing was removed")
                    let onDisk = try FileAgentStateStore(directory: stateDirectory)
                    #expect(Set(try await onDisk.loadState().installed.map(\.printer.name)) == ["Group Printer", "Everyone Printer"])

                    // AD is back: the next check-in is an ordinary one.
                    ad.comeBack()
                    clock.advance(Double(seconds))
                    let after = await agent.checkIn(user: member, ipAddresses: [])
                    guard case .unchanged = after else {
                        Issue.record("expected an unchanged check-in once AD is back, got \(after)")
                        return
                    }
                    #expect(Set(await agent.state.installed.map(\.printer.name)) == ["Group Printer", "Everyone Printer"])
                    try await http.shutdown()
                } catch {
                    try? await http.shutdown()
                    throw error
                }
            }
        }
    }
}
