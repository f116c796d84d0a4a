import Foundation
import LDAP

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway OpenLDAP `slapd` for the bind+search comparison: its own slapd.conf and mdb
/// database in a temporary directory, loaded with `slapadd`, on a free 127.0.0.1 port.
/// (Tests/SimTests/SlapdServer.swift is the test suite's twin; a benchmark cannot import a
/// test target.) slapd gets the equality indexes a real deployment would have, so the
/// comparison is against a fairly configured server.
final class Slapd: @unchecked Sendable {
    let directory: URL
    let port: Int
    private let process: Process
    private let exited = ExitFlag()

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private init(directory: URL, port: Int, process: Process) {
        self.directory = directory
        self.port = port
        self.process = process
    }

    static func tool(_ name: String) throws -> String {
        for directory in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw Failed(description: "\(name) is not installed; install it with: apt-get install -y slapd (or run scripts/bootstrap.sh)")
    }

    /// Loads `ldif` under `suffix` and starts serving it.
    static func start(ldif: String, suffix: String) async throws -> Slapd {
        let slapd = try tool("slapd")
        let slapadd = try tool("slapadd")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-bench-slapd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("db"), withIntermediateDirectories: true)
        do {
            let conf = directory.appendingPathComponent("slapd.conf").path
            try activeDirectorySchema.write(to: directory.appendingPathComponent("ad.schema"), atomically: true, encoding: .utf8)
            try configuration(directory: directory, suffix: suffix).write(toFile: conf, atomically: true, encoding: .utf8)
            try ldif.write(to: directory.appendingPathComponent("data.ldif"), atomically: true, encoding: .utf8)
            // -s: AD attributes sit on classes (organizationalUnit, …) whose OpenLDAP
            // definitions do not list them; every attribute type is still defined.
            let status = try await run(slapadd, ["-q", "-s", "-f", conf, "-l", directory.appendingPathComponent("data.ldif").path], log: directory.appendingPathComponent("slapadd.log"))
            guard status == 0 else {
                throw Failed(description: "slapadd failed (\(status)): \((try? String(contentsOf: directory.appendingPathComponent("slapadd.log"), encoding: .utf8)) ?? "")")
            }
            var lastLog = ""
            for _ in 0..<3 {
                let port = try freePort()
                let log = directory.appendingPathComponent("slapd-\(port).log")
                _ = FileManager.default.createFile(atPath: log.path, contents: nil)
                let output = try FileHandle(forWritingTo: log)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
                process.arguments = ["--kill-after=5", "900", slapd, "-f", conf, "-h", "ldap://127.0.0.1:\(port)/", "-d", "0"]
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = output
                process.standardError = output
                let server = Slapd(directory: directory, port: port, process: process)
                process.terminationHandler = { [exited = server.exited] _ in exited.set() }
                try await runWithSignalsUnblocked(process)
                try? output.close()
                if try await server.waitUntilAccepting() { return server }
                await server.stop(removeFiles: false)
                lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            }
            throw Failed(description: "slapd did not start listening: \(lastLog)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// SIGTERM (`timeout` forwards it and sends SIGKILL five seconds later), wait, clean up.
    func stop(removeFiles: Bool = true) async {
        if self.process.isRunning { self.process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while !self.exited.isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !self.exited.isSet {
            if let text = try? String(contentsOf: self.directory.appendingPathComponent("slapd.pid"), encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGKILL)
            }
            kill(self.process.processIdentifier, SIGKILL)
        }
        if removeFiles { try? FileManager.default.removeItem(at: self.directory) }
    }

    private func waitUntilAccepting() async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if self.exited.isSet { return false }
            if let connection = try? await LDAPConnection.connect(configuration: LDAPClientConfiguration(host: "127.0.0.1", port: self.port, connectTimeout: .seconds(1))) {
                await connection.close()
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Runs a short-lived tool to completion, its output in `log`.
    private static func run(_ path: String, _ arguments: [String], log: URL) async throws -> Int32 {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--kill-after=5", "300", path] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }

    /// Starts `process` from a fresh thread with an empty signal mask: Swift concurrency's
    /// threads block SIGTERM, and a child inherits the spawning thread's mask.
    private static func runWithSignalsUnblocked(_ process: Process) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                do {
                    try process.run()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
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
        loglevel 0
        sizelimit unlimited
        database mdb
        maxsize 1073741824
        suffix "\(suffix)"
        rootdn "CN=slapd-root,\(suffix)"
        rootpw slapd-root-secret
        directory \(directory.appendingPathComponent("db").path)
        index objectClass eq
        index sAMAccountName eq
        index userPrincipalName eq

        """
    }

    static func freePort() throws -> Int {
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

    /// `ldif` with a `userPassword` for every user entry, following the simulated AD's rule.
    static func withPasswords(_ ldif: String, password: (String) -> String) -> String {
        ldif.components(separatedBy: "\n\n").map { block -> String in
            guard block.contains("\nobjectClass: user\n"),
                  let line = block.split(separator: "\n").first(where: { $0.hasPrefix("sAMAccountName: ") }) else { return block }
            let sam = String(line.dropFirst("sAMAccountName: ".count))
            let trimmed = block.hasSuffix("\n") ? String(block.dropLast()) : block
            return trimmed + "\nuserPassword: \(password(sam))" + (block.hasSuffix("\n") ? "\n" : "")
        }.joined(separator: "\n\n")
    }

    /// The AD attribute types and classes the simulated directory uses, with AD's OIDs.
    static let activeDirectorySchema = """
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
}

/// Set once from `terminationHandler`, read from tasks.
private final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { self.lock.withLock { self.value } }
    func set() { self.lock.withLock { self.value = true } }
}
