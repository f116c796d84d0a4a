import Foundation
import LDAP
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway OpenLDAP `slapd` for interop tests: its own slapd.conf and mdb database in a
/// temporary directory, loaded with `slapadd`, serving plain LDAP on a free 127.0.0.1 port.
///
/// The child runs under `timeout` (so a crashed test runner cannot leave it behind for more than
/// ``lifetime``) and is always stopped by ``with(ldif:suffix:body:)``: SIGTERM, SIGKILL after five
/// seconds. Nothing waits on it by blocking a thread: exit is seen through `terminationHandler`
/// and polled with `Task.sleep`, and its output goes to a file, never a pipe.
package final class SlapdServer: @unchecked Sendable {
    /// The administrator slapd knows from its configuration (`rootdn`/`rootpw`), not from the data.
    package static let rootPassword = "slapd-root-secret"
    package static let lifetime = 600

    package let directory: URL
    package let port: Int
    package let suffix: String
    package var rootDN: String { "CN=slapd-root,\(self.suffix)" }
    package var url: String { "ldap://127.0.0.1:\(self.port)" }
    private let process: Process
    private let exit = ExitFlag()

    private init(directory: URL, port: Int, suffix: String, process: Process) {
        self.directory = directory
        self.port = port
        self.suffix = suffix
        self.process = process
    }

    package struct Failed: Error, CustomStringConvertible {
        package var description: String
    }

    /// Starts slapd with `ldif` loaded under `suffix`, runs `body`, and stops slapd afterwards
    /// whether `body` returned or threw.
    package static func with<Result>(ldif: String, suffix: String, body: (SlapdServer) async throws -> Result) async throws -> Result {
        let server = try await start(ldif: ldif, suffix: suffix)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    package static func start(ldif: String, suffix: String) async throws -> SlapdServer {
        let slapd = try ExternalTool.path(of: "slapd")
        _ = try ExternalTool.path(of: "slapadd")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-slapd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("db"), withIntermediateDirectories: true)
        do {
            try SlapdSchema.activeDirectory.write(to: directory.appendingPathComponent("ad.schema"), atomically: true, encoding: .utf8)
            try configuration(directory: directory, suffix: suffix).write(to: directory.appendingPathComponent("slapd.conf"), atomically: true, encoding: .utf8)
            try ldif.write(to: directory.appendingPathComponent("data.ldif"), atomically: true, encoding: .utf8)
            // -s: the directory's entries carry AD attributes (distinguishedName, objectGUID, …)
            // on classes such as organizationalUnit whose OpenLDAP definitions do not allow them.
            // Every attribute type is still defined (ad.schema), with AD's syntax and matching.
            let load = try await ExternalTool.run("slapadd", ["-q", "-s", "-f", directory.appendingPathComponent("slapd.conf").path, "-l", directory.appendingPathComponent("data.ldif").path], timeout: 120)
            guard load.status == 0 else { throw Failed(description: "slapadd failed (\(load.status)): \(load.stderr)") }

            // The port comes from binding port 0; another process could take it before slapd
            // does, so a slapd that exits at once is retried on a new port.
            var lastLog = ""
            for _ in 0..<3 {
                let port = try freePort()
                let log = directory.appendingPathComponent("slapd-\(port).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let output = try FileHandle(forWritingTo: log)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
                process.arguments = ["--kill-after=5", String(lifetime), slapd, "-f", directory.appendingPathComponent("slapd.conf").path, "-h", "ldap://127.0.0.1:\(port)/", "-d", "0"]
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = output
                process.standardError = output
                let server = SlapdServer(directory: directory, port: port, suffix: suffix, process: process)
                process.terminationHandler = { [exit = server.exit] _ in exit.set() }
                try await ExternalTool.startWithSignalsUnblocked(process)
                try? output.close()
                if try await server.waitUntilAccepting(timeout: .seconds(20)) { return server }
                await server.stop(removeFiles: false)
                lastLog = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
            }
            throw Failed(description: "slapd did not start listening: \(lastLog)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// SIGTERM (forwarded by `timeout`, which then sends SIGKILL after five seconds), waits
    /// for the exit, and removes the temporary directory.
    package func stop(removeFiles: Bool = true) async {
        if self.process.isRunning { self.process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while !self.exit.isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !self.exit.isSet {
            // `timeout` itself is stuck: kill it and slapd by the pid slapd wrote.
            if let text = try? String(contentsOf: self.directory.appendingPathComponent("slapd.pid"), encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
            kill(self.process.processIdentifier, SIGKILL)
            Issue.record("slapd on port \(self.port) ignored SIGTERM and was killed")
        }
        if removeFiles { try? FileManager.default.removeItem(at: self.directory) }
    }

    /// Tries to connect every 50 ms; false if slapd exited or `timeout` passed.
    private func waitUntilAccepting(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if self.exit.isSet { return false }
            let configuration = LDAPClientConfiguration(host: "127.0.0.1", port: self.port, connectTimeout: .seconds(1), operationTimeout: .seconds(5))
            if let connection = try? await LDAPConnection.connect(configuration: configuration) {
                await connection.close()
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func configuration(directory: URL, suffix: String) -> String {
        """
        include /etc/ldap/schema/core.schema
        include /etc/ldap/schema/cosine.schema
        include /etc/ldap/schema/inetorgperson.schema
        include \(directory.appendingPathComponent("ad.schema").path)
        pidfile \(directory.appendingPathComponent("slapd.pid").path)
        argsfile \(directory.appendingPathComponent("slapd.args").path)
        modulepath /usr/lib/ldap
        moduleload back_mdb
        sizelimit unlimited
        database mdb
        maxsize 1073741824
        suffix "\(suffix)"
        rootdn "CN=slapd-root,\(suffix)"
        rootpw \(rootPassword)
        directory \(directory.appendingPathComponent("db").path)

        """
    }

    /// A port nobody listens on right now, found by binding port 0 on 127.0.0.1.
    package static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw Failed(description: "bind() failed: errno \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard named == 0 else { throw Failed(description: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Set once from `terminationHandler` (a Foundation thread), read from tasks.
private final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { self.lock.withLock { self.value } }
    func set() { self.lock.withLock { self.value = true } }
}

/// What slapd needs to serve the simulated AD's directory.
package enum SlapdSchema {
    /// The AD attribute types and classes the simulated directory uses, with AD's OIDs and the
    /// syntax and matching rules AD gives them (RFC 4517 names).
    package static let activeDirectory = """
        attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
        attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.302 NAME 'sAMAccountType' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.98 NAME 'primaryGroupID' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.750 NAME 'groupType' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.782 NAME 'objectCategory' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
        attributetype ( 1.2.840.113556.1.4.619 NAME 'dNSHostName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL MAY ( sAMAccountName $ userPrincipalName $ memberOf $ objectSid $ objectGUID $ userAccountControl $ sAMAccountType $ primaryGroupID $ objectCategory $ displayName $ mail $ givenName $ name $ distinguishedName $ dNSHostName ) )
        objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP user STRUCTURAL )
        objectclass ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn MAY ( member $ memberOf $ sAMAccountName $ groupType $ sAMAccountType $ objectSid $ objectGUID $ objectCategory $ name $ distinguishedName $ description ) )
        objectclass ( 1.2.840.113556.1.3.23 NAME 'container' SUP top STRUCTURAL MUST cn MAY ( objectGUID $ objectCategory $ name $ distinguishedName $ description ) )
        objectclass ( 1.2.840.113556.1.5.67 NAME 'domainDNS' SUP domain STRUCTURAL MAY ( objectGUID $ objectSid $ objectCategory $ name $ distinguishedName ) )

        """

    /// `ldif` with `userPassword: <password(sAMAccountName)>` added to every user entry: AD never
    /// shows one, but slapd checks simple binds against it, so the same binds work on both.
    package static func withPasswords(_ ldif: String, password: (String) -> String) -> String {
        ldif.components(separatedBy: "\n\n").map { block -> String in
            guard block.contains("\nobjectClass: user\n"),
                  let line = block.split(separator: "\n").first(where: { $0.hasPrefix("sAMAccountName: ") }) else { return block }
            let sam = String(line.dropFirst("sAMAccountName: ".count))
            let trimmed = block.hasSuffix("\n") ? String(block.dropLast()) : block
            return trimmed + "\nuserPassword: \(password(sam))" + (block.hasSuffix("\n") ? "\n" : "")
        }.joined(separator: "\n\n")
    }
}
