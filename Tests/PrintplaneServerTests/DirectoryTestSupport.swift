import Foundation
import LDAP
import Logging
import NIOConcurrencyHelpers
import PrintplaneCore
import PrintplaneTestSupport
import Sim
import Testing

@testable import PrintplaneServer

/// The simulated AD a directory test runs against, with what the test needs to know about it.
struct ADWorld: Sendable {
    let server: SimulatedADServer
    let addresses: SimulatedADServer.Addresses

    static let baseDN = "DC=corp,DC=example,DC=com"
    static let serviceAccount = "CORP\\svc-printplane"

    var directory: SimulatedDirectory { self.server.directory }
    var caPEM: String { self.server.certificateAuthority!.caCertificatePEM }
    var servicePassword: String { self.directory.password(for: "svc-printplane") }
    var ldapsURL: String { "ldaps://127.0.0.1:\(self.addresses.ldapsPort!)" }
    var ldapURL: String { "ldap://127.0.0.1:\(self.addresses.ldapPort)" }

    /// The JSON an admin PUTs to point the server at this AD over LDAPS (or StartTLS).
    func settingsBody(startTLS: Bool = false, ttl: Int = 60, password: String? = nil, adminGroup: String? = nil, flavour: String = "auto") -> [String: Any] {
        var body: [String: Any] = [
            "url": startTLS ? self.ldapURL : self.ldapsURL, "start_tls": startTLS, "ca_pem": self.caPEM, "base_dn": Self.baseDN,
            "bind_dn": Self.serviceAccount, "bind_password": password ?? self.servicePassword, "flavour": flavour, "cache_ttl_seconds": ttl,
        ]
        if let adminGroup { body["admin_group_dn"] = adminGroup }
        return body
    }

    /// Takes the AD down: existing connections are dropped at their next search and new ones
    /// are closed at once (a DC that went away).
    func goDown() { self.server.faults.set(SimulatedADFaults(refuseConnections: true, dropSearchAfterEntries: 0)) }
    func comeBack() { self.server.faults.set(SimulatedADFaults()) }

    // MARK: Ground truth, read from the directory itself (not through our client)

    func entry(sam: String) -> DirectoryEntry { self.directory.account(named: sam)! }

    func dn(sam: String) -> String { self.entry(sam: sam).dn.description }

    /// Normalised DNs of every group `dn` is in, following memberOf transitively.
    func transitiveGroups(of dn: String) -> Set<String> {
        var found = Set<String>()
        var frontier = [dn]
        while let next = frontier.popLast() {
            for group in self.directory.entry(dn: next)?.values(of: "memberOf") ?? [] {
                let text = String(decoding: group, as: UTF8.self)
                if found.insert(DistinguishedName.normalize(text)).inserted { frontier.append(text) }
            }
        }
        return found
    }

    /// Enabled people (not the built-in accounts), by sAMAccountName.
    var people: [String] {
        self.directory.people.compactMap { person in
            guard person.string("userAccountControl") == "512", let sam = person.string("sAMAccountName"),
                  sam != "Administrator", sam != "svc-printplane" else { return nil }
            return sam
        }
    }

    /// Runs `body` against a fresh simulated AD with LDAPS and StartTLS on free ports.
    static func with<T: Sendable>(users: Int = 300, groups: Int = 60, computers: Int = 40, _ body: (ADWorld) async throws -> T) async throws -> T {
        try await SimulatedADFixture.withServer(SimulatedADFixture.configuration(users: users, groups: groups, computers: computers)) { server, addresses in
            try await body(ADWorld(server: server, addresses: addresses))
        }
    }
}

extension TestServer {
    /// PUTs directory settings and expects them accepted.
    @discardableResult
    func configureDirectory(_ body: [String: Any]) async throws -> [String: Any] {
        let response = try await self.admin(.PUT, "/api/v1/admin/directory", json: body)
        #expect(response.status == 200, "\(response.text)")
        return try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
    }

    /// Creates a printer (no driver) and returns its ID.
    func createPrinter(_ name: String) async throws -> String {
        let response = try await self.admin(.POST, "/api/v1/admin/printers", json: ["name": name, "address": "10.9.0.\(abs(name.hashValue % 200) + 1)", "protocol": "raw"])
        #expect(response.status == 201, "\(response.text)")
        return (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["id"] as? String ?? ""
    }

    /// Creates a profile and returns its ID.
    func createProfile(_ name: String, copies: Int) async throws -> String {
        let response = try await self.admin(.POST, "/api/v1/admin/profiles", json: ["name": name, "copies": copies])
        #expect(response.status == 201, "\(response.text)")
        return (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["id"] as? String ?? ""
    }

    /// Assigns a printer to a target and returns the answer.
    @discardableResult
    func assign(_ printerID: String, kind: String, value: String? = nil, profileID: String? = nil) async throws -> TestResponse {
        var target: [String: Any] = ["kind": kind]
        if let value { target["value"] = value }
        var body: [String: Any] = ["printer_id": printerID, "target": target]
        if let profileID { body["profile_id"] = profileID }
        return try await self.admin(.POST, "/api/v1/admin/assignments", json: body)
    }

    /// Checks in as `credential` with `user` and returns the answer, decoded.
    func plan(_ credential: String, user: String?, etag: String? = nil) async throws -> (response: TestResponse, body: CheckInResponse?) {
        let response = try await self.checkIn(credential, user: user, etag: etag)
        return (response, response.status == 200 ? try response.decode(CheckInResponse.self) : nil)
    }

    /// The value of a counter or gauge in `/metrics` (0 when absent).
    func metric(_ name: String) -> Double {
        let text = String(decoding: self.server.metrics.render(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "0") ?? 0
        }
        return 0
    }
}

/// The printer names a check-in answer's plan holds.
func printerNames(_ body: CheckInResponse?) -> Set<String> {
    Set(body?.plan?.printers.map(\.name) ?? [])
}

/// A fixed key for tests that need one (base64 of 32 bytes).
let testDirectoryKey = Data((0..<32).map { UInt8($0 * 7 + 1) }).base64EncodedString()

/// Collects every log message and its metadata, at every level, so a test can check that a
/// secret never reached the logs.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
        self.lines.withLockedValue { $0.append("\(event.level) \(event.message) \(all)") }
    }

    var recorded: [String] { self.lines.withLockedValue { $0 } }

    /// A logger at trace level writing here.
    func logger(_ label: String = "printplane.server.test") -> Logger {
        Logger(label: label) { _ in self }
    }
}
