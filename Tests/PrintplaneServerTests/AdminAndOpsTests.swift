import Foundation
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Reports, audit and operations over TLS")
struct AdminAndOpsTests {
    @Test("reports filter by time, user, printer and computer, page, export CSV and total pages and colour share")
    func reports() async throws {
        try await withTestServer { server in
            let agent = try await server.enrolledAgent()
            let base = Date(timeIntervalSince1970: 1_800_000_000)
            var jobs = [JobRecord]()
            for index in 0..<30 {
                jobs.append(makeJob("r-\(index)", user: index % 3 == 0 ? "alice" : "bob", printer: index % 2 == 0 ? "hq-1" : "hq-2",
                                    computer: "ws-\(index % 5)", pages: 2, copies: index % 2 == 0 ? 1 : 2, color: index % 3 == 0, at: base.addingTimeInterval(Double(index) * 60)))
            }
            jobs.append(JobRecord(jobID: "=cmd|' /C calc'!A0", user: "eve, \"the\" user", computer: "ws-9", printer: "hq-1", documentName: "x", pages: 1, copies: 1, color: false, duplex: false, bytes: 1, protocol: .lpr, submittedAt: base.addingTimeInterval(-3600), completedAt: base.addingTimeInterval(-3500), outcome: .failed))
            #expect(try await server.postJobs(agent.deviceCredential, jobs).status == 200)

            let alice = try await server.admin(.GET, "/api/v1/admin/reports/jobs?user=alice")
            let alicePage = try JSONSerialization.jsonObject(with: alice.body) as? [String: Any]
            #expect((alicePage?["jobs"] as? [Any])?.count == 10)

            let window = try await server.admin(.GET, "/api/v1/admin/reports/jobs?from=2027-01-15T08:00:00Z&to=2027-01-15T08:10:00Z&printer=hq-1")
            let windowJobs = (try JSONSerialization.jsonObject(with: window.body) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
            #expect(windowJobs.map { $0["job_id"] as? String } == ["r-0", "r-2", "r-4", "r-6", "r-8"])

            let page1 = try await server.admin(.GET, "/api/v1/admin/reports/jobs?limit=20")
            let page1Object = try JSONSerialization.jsonObject(with: page1.body) as? [String: Any]
            #expect((page1Object?["jobs"] as? [Any])?.count == 20 && page1Object?["next_offset"] as? Int == 20)
            let page2 = try await server.admin(.GET, "/api/v1/admin/reports/jobs?limit=20&offset=20")
            let page2Object = try JSONSerialization.jsonObject(with: page2.body) as? [String: Any]
            #expect((page2Object?["jobs"] as? [Any])?.count == 11 && page2Object?["next_offset"] == nil)

            let csv = try await server.admin(.GET, "/api/v1/admin/reports/jobs?format=csv&limit=1000")
            #expect(csv.headers.first(name: "Content-Type")?.hasPrefix("text/csv") == true)
            let lines = csv.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 32 && lines[0].hasPrefix("job_id,user,computer,printer"))
            #expect(lines[1].hasPrefix(#"'=cmd|' /C calc'!A0,"eve, ""the"" user","#), "\(lines[1])")

            let totals = try await server.admin(.GET, "/api/v1/admin/reports/totals").decode(JobTotals.self)
            // 30 printed jobs of 2 pages; odd ones have 2 copies; every third is colour; the failed job has no pages.
            #expect(totals.jobs == 31)
            #expect(totals.pages == 15 * 2 + 15 * 4)
            let colourPages = (0..<30).filter { $0 % 3 == 0 }.map { $0 % 2 == 0 ? 2 : 4 }.reduce(0, +)
            #expect(totals.colorPages == colourPages)
            #expect(abs(totals.colorShare - Double(colourPages) / 90) < 1e-9)

            let bob = try await server.admin(.GET, "/api/v1/admin/reports/totals?user=bob&computer=ws-1").decode(JobTotals.self)
            #expect(bob.jobs == jobs.filter { $0.user == "bob" && $0.computer == "ws-1" }.count)

            let badDate = try await server.admin(.GET, "/api/v1/admin/reports/jobs?from=yesterday")
            #expect(badDate.status == 400 && badDate.reason == "invalid_field")
        }
    }

    @Test("every admin action is in the audit log with who, what and when; secrets never are")
    func audit() async throws {
        let clock = ManualClock()
        try await withTestServer(configure: { $0.clock = { clock.now } }) { server in
            let (token, tokenID) = try await server.createToken(maxUses: 1)
            let printer = try await CheckInTests.printer(server, "audited")
            try await CheckInTests.assign(server, printer, "everyone", nil)
            let agent = try await server.enrolledAgent()
            #expect(try await server.admin(.POST, "/api/v1/admin/agents/\(agent.agentID)/revoke").status == 204)
            #expect(try await server.admin(.POST, "/api/v1/admin/tokens/\(tokenID)/revoke").status == 200)
            #expect(try await server.admin(.DELETE, "/api/v1/admin/printers/\(printer)").status == 204)

            let response = try await server.admin(.GET, "/api/v1/admin/audit")
            let entries = try response.decode([String: [AuditRecord]].self)["items"] ?? []
            #expect(entries.map(\.action) == ["printer.delete", "token.revoke", "agent.revoke", "token.create", "assignment.create", "printer.create", "token.create"])
            #expect(entries.allSatisfy { $0.actor.hasPrefix("admin-key(ppa_") && $0.actor.hasSuffix("@127.0.0.1") && $0.at == clock.now })
            #expect(entries.first { $0.action == "token.revoke" }?.target == tokenID)
            #expect(!response.text.contains(token) && !response.text.contains(server.adminKey) && !response.text.contains(agent.deviceCredential))
        }
    }

    @Test("healthz, readyz and Prometheus metrics; responses carry a request ID")
    func ops() async throws {
        try await withTestServer { server in
            let health = try await server.request(.GET, "/healthz")
            #expect(health.status == 200 && health.text == #"{"status":"ok"}"#)
            #expect(health.headers.first(name: "X-Request-ID")?.isEmpty == false)
            #expect(try await server.request(.GET, "/readyz").status == 200)
            _ = try await server.enrolledAgent()
            let metrics = try await server.request(.GET, "/metrics")
            #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("# TYPE printplane_enroll_total counter"))
            #expect(metrics.text.contains("printplane_enroll_total 1"))
            #expect(metrics.text.contains(#"printplane_http_requests_total{method="POST",route="/api/v1/agent/enroll",status="201"} 1"#), "\(metrics.text)")
        }
    }
}
