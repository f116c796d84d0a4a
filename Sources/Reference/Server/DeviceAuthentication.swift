import Hummingbird
import PrintplaneCore

/// The bearer device credential check every device route shares: agents' routes and the
/// LAN driver cache's (a cache enrolls and is revoked like any device).
enum DeviceAuthentication {
    /// The device behind the bearer credential; refuses missing, malformed, unknown and revoked ones.
    static func authenticate(_ request: Request, store: any Store) async throws -> AgentAuthentication {
        guard let header = request.headers[.authorization] else { throw ServerError.credentialMissing }
        guard header.hasPrefix("Bearer "), let token = SecretToken(parsing: header.dropFirst(7)), token.kind == .device else {
            throw ServerError.credentialMalformed
        }
        guard let agent = try await store.authenticateAgent(credentialHash: token.sha256Hex) else { throw ServerError.credentialUnknown }
        guard !agent.credentialRevoked else { throw ServerError.credentialRevoked }
        return agent
    }
}
