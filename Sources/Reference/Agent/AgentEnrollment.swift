import Foundation
import NIOCore
import PrintplaneCore

/// Redeems an enrollment token for a device credential (`POST /api/v1/agent/enroll`,
/// DESIGN.md §3). The agent and the LAN driver cache enroll the same way, so a cache is a
/// device the admin sees, and revokes, like any other.
enum AgentEnrollment {
    /// Enrolls with `token` and returns the identity to store (credential file 0600). An
    /// expired, revoked, used-up or unknown token throws `enrollmentRefused` with the
    /// server's reason (`token_expired`, …).
    static func enroll(http: any AgentHTTPTransport, serverURL: String, token: String, machine: Agent.Machine, now: Date) async throws -> AgentIdentity {
        let base = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        let request = EnrollRequest(token: token, hostname: machine.hostname, machineID: machine.machineID, os: machine.os, agentVersion: machine.agentVersion)
        let url = base + "/api/v1/agent/enroll"
        let head: AgentHTTPHead
        let body: ByteBuffer
        do {
            (head, body) = try await http.send(
                AgentHTTPRequest(
                    method: .post, url: url, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                    body: ByteBuffer(bytes: try WireCoding.makeEncoder().encode(request))),
                limit: 1024 * 1024)
        } catch {
            throw AgentError.unreachable("\(url): \(error)")
        }
        guard head.status == 201 || head.status == 200 else {
            let error = Agent.errorBody(body)
            if head.status == 401 || head.status == 403 {
                throw AgentError.enrollmentRefused(reason: error?.reason ?? "http_\(head.status)", message: error?.message ?? "the server refused the token")
            }
            throw AgentError.server(status: head.status, reason: error?.reason ?? "http_error", message: error?.message ?? "enrollment failed")
        }
        let answer = try Agent.decode(EnrollResponse.self, body)
        _ = try Agent.signingKey(answer.driverSigningPublicKey)
        return AgentIdentity(
            serverURL: base, agentID: answer.agentID, deviceCredential: answer.deviceCredential,
            driverSigningPublicKey: answer.driverSigningPublicKey, hostname: machine.hostname, machineID: machine.machineID,
            enrolledAt: now, checkinIntervalSeconds: answer.checkinIntervalSeconds)
    }
}
