import Foundation
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Check-in plans over TLS")
struct CheckInTests {
    /// Creates a printer and returns its ID.
    static func printer(_ server: TestServer, _ name: String, driverID: String? = nil) async throws -> String {
        var body: [String: Any] = ["name": name, "address": "10.0.0.\(name.count)", "protocol": "raw"]
        if let driverID { body["driver_id"] = driverID }
        let response = try await server.admin(.POST, "/api/v1/admin/printers", json: body)
        #expect(response.status == 201, "\(response.text)")
        return try response.decode(PrinterRecord.self).id.rawValue
    }

    static func assign(_ server: TestServer, _ printerID: String, _ kind: String, _ value: String?, profile: String? = nil) async throws {
        var target: [String: Any] = ["kind": kind]
        if let value { target["value"] = value }
        var body: [String: Any] = ["printer_id": printerID, "target": target]
        if let profile { body["profile_id"] = profile }
        let response = try await server.admin(.POST, "/api/v1/admin/assignments", json: body)
        #expect(response.status == 201, "\(response.text)")
    }

    static func plan(_ response: TestResponse) throws -> CheckInResponse {
        #expect(response.status == 200, "\(response.text)")
        return try response.decode(CheckInResponse.self)
    }

    @Test("each target kind reaches the right agents, and the most specific assignment sets the profile")
    func targetKinds() async throws {
        try await withTestServer { server in
            let everyone = try await Self.printer(server, "everyone-printer")
            let userPrinter = try await Self.printer(server, "alice-printer")
            let computerByName = try await Self.printer(server, "ws1-printer")
            let computerByID = try await Self.printer(server, "by-id-printer")
            let v4 = try await Self.printer(server, "lab-v4")
            let v6 = try await Self.printer(server, "lab-v6")
            let colour = try await server.admin(.POST, "/api/v1/admin/profiles", json: ["name": "colour duplex", "color": true, "duplex": "long_edge", "copies": 2])
            #expect(colour.status == 201)
            let colourID = try colour.decode(ProfileRecord.self).id.rawValue

            let ws1 = try await server.enrolledAgent(hostname: "WS-1")
            let ws2 = try await server.enrolledAgent(hostname: "ws-2")

            try await Self.assign(server, everyone, "everyone", nil)
            try await Self.assign(server, everyone, "user", "alice", profile: colourID)
            try await Self.assign(server, userPrinter, "user", "Alice")
            try await Self.assign(server, computerByName, "computer", "ws-1")
            try await Self.assign(server, computerByID, "computer", ws2.agentID.rawValue)
            try await Self.assign(server, v4, "ip_range", "10.1.0.0/16")
            try await Self.assign(server, v6, "ip_range", "2001:db8::/32")

            let alice = try Self.plan(try await server.checkIn(ws1.deviceCredential, user: "alice", ips: ["10.1.2.3"]))
            let alicePrinters = Set(alice.plan?.printers.map(\.id.rawValue) ?? [])
            #expect(alicePrinters == [everyone, userPrinter, computerByName, v4])
            #expect(alice.plan?.printers.first { $0.id.rawValue == everyone }?.profile == PrintProfile(duplex: .longEdge, color: true, paper: "A4", tray: nil, copies: 2))
            #expect(Set(alice.plan?.install.map(\.rawValue) ?? []) == alicePrinters)
            #expect((80...120).contains(alice.nextCheckinSeconds))

            let bob = try Self.plan(try await server.checkIn(ws2.deviceCredential, user: "bob", ips: ["192.168.1.9", "2001:db8:5::1"]))
            #expect(Set(bob.plan?.printers.map(\.id.rawValue) ?? []) == [everyone, computerByID, v6])
            #expect(bob.plan?.printers.first { $0.id.rawValue == everyone }?.profile == .default)

            // Removal: ws2 reports a printer it should not have.
            let stale = try Self.plan(try await server.checkIn(ws2.deviceCredential, user: "bob", ips: [], installed: [.init(printerID: PrinterID(v4), driverSHA256: nil)]))
            #expect(stale.plan?.remove.map(\.rawValue) == [v4])
        }
    }

    @Test("a matching ETag gets the cheap unchanged answer until the configuration or inputs change")
    func unchangedPath() async throws {
        try await withTestServer { server in
            let printer = try await Self.printer(server, "p1")
            try await Self.assign(server, printer, "everyone", nil)
            let agent = try await server.enrolledAgent()
            let first = try Self.plan(try await server.checkIn(agent.deviceCredential, user: "alice"))
            #expect(first.status == .plan)

            let second = try await server.checkIn(agent.deviceCredential, user: "alice", etag: first.etag)
            #expect(second.status == 200)
            let unchanged = try second.decode(CheckInResponse.self)
            #expect(unchanged.status == .unchanged && unchanged.plan == nil && unchanged.etag == first.etag)
            #expect((80...120).contains(unchanged.nextCheckinSeconds))
            #expect(second.text.hasPrefix(#"{"etag":"#))

            // A stale ETag gets the plan again, with the same tag.
            let stale = try Self.plan(try await server.checkIn(agent.deviceCredential, user: "alice", etag: "p1-stale"))
            #expect(stale.status == .plan && stale.etag == first.etag)

            // A different user with the same plan is still unchanged (recomputed, same tag).
            let otherUser = try Self.plan(try await server.checkIn(agent.deviceCredential, user: "bob", etag: first.etag))
            #expect(otherUser.status == .unchanged)

            // An admin change makes a new plan.
            let second2 = try await Self.printer(server, "p2")
            try await Self.assign(server, second2, "user", "alice")
            let changed = try Self.plan(try await server.checkIn(agent.deviceCredential, user: "alice", etag: first.etag))
            #expect(changed.status == .plan && changed.etag != first.etag && changed.plan?.printers.count == 2)

            let metrics = try await server.request(.GET, "/metrics")
            #expect(metrics.text.contains("printplane_checkin_unchanged_total 2"), "\(metrics.text)")
        }
    }

    @Test("past the soft rate intervals stretch; past the hard rate check-ins get 503 with Retry-After; both show in metrics")
    func loadShedding() async throws {
        let clock = ManualClock()
        try await withTestServer(configure: {
            $0.clock = { clock.now }
            $0.checkInSoftRate = 2
            $0.checkInHardRate = 4
            $0.checkInJitter = 0.1
        }) { server in
            let agent = try await server.enrolledAgent()
            var intervals = [Int]()
            for _ in 0..<4 {
                let response = try Self.plan(try await server.checkIn(agent.deviceCredential))
                intervals.append(response.nextCheckinSeconds)
            }
            #expect(intervals[0] <= 110 && intervals[1] <= 110)
            #expect(intervals[2] >= 135 && intervals[3] >= 180)
            let shed = try await server.checkIn(agent.deviceCredential)
            #expect(shed.status == 503 && shed.reason == "overloaded")
            #expect(Int(shed.headers.first(name: "Retry-After") ?? "") != nil)

            clock.advance(5)
            #expect(try await server.checkIn(agent.deviceCredential).status == 200)
            let metrics = try await server.request(.GET, "/metrics").text
            #expect(metrics.contains("printplane_checkin_shed_total 1"))
            #expect(metrics.contains("printplane_checkin_stretched_total 2"))
        }
    }
}
