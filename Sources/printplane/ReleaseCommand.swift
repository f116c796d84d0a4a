import ArgumentParser
import Foundation
import PrintplaneCore
import PrintplaneServer

#if canImport(Glibc)
import Glibc
#endif

/// `printplane release list|print|cancel`: pull printing through the user API.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "List, release and cancel your held print jobs (pull printing).",
        discussion: """
            A job printed with `printplane agent print --hold` stays in the
            workstation's spool; the server only has its metadata. `release print`
            names the printer to print it on: any printer the server knows, not only
            the one it was held for. The agent holding the document prints it there
            at once. Jobs expire after 24 h (the server's --held-job-ttl).

            Authenticate as an admin acting for a user (--admin-key-file and --user),
            or as the user with a password (--user, and --password-file or a prompt),
            which the server checks against its directory. Everything goes over
            HTTPS, trusting only --ca-file.

            Examples:
              printplane release list --server https://127.0.0.1:8443 \\
                  --ca-file ./pp/ca.pem --admin-key-file ./pp/admin.key --user alice
              printplane release print --server https://127.0.0.1:8443 \\
                  --ca-file ./pp/ca.pem --admin-key-file ./pp/admin.key \\
                  --user alice 3f2c9e… --printer "Floor 2"
              printplane release cancel --server https://127.0.0.1:8443 \\
                  --ca-file ./pp/ca.pem --user alice --password-file ~/.pp-pw 3f2c9e…
            """,
        subcommands: [List.self, PrintJob.self, Cancel.self]
    )

    /// The flags every release subcommand shares.
    struct Connection: ParsableArguments {
        @Option(help: "Server URL, e.g. https://127.0.0.1:8443.")
        var server: String

        @Option(name: .customLong("ca-file"), help: "PEM of the CA that signed the server certificate (DATA_DIR/ca.pem).")
        var caFile: String

        @Option(help: "The user whose held jobs these are.")
        var user: String

        @Option(name: .customLong("admin-key-file"), help: "Act for --user with the admin key in this file (DATA_DIR/admin.key).")
        var adminKeyFile: String?

        @Option(name: .customLong("password-file"), help: "Sign in as --user with the password in this file (default: ask on the terminal).")
        var passwordFile: String?

        func validate() throws {
            guard self.server.hasPrefix("https://") else { throw ValidationError("--server must be an https:// URL") }
            guard PrintUser.isValidName(self.user) else { throw ValidationError("--user must be 1 to 256 characters") }
            if self.adminKeyFile != nil && self.passwordFile != nil { throw ValidationError("give --admin-key-file or --password-file, not both") }
        }

        func clientConfiguration() throws -> UserClient.Configuration {
            guard let pem = FileManager.default.contents(atPath: self.caFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw ValidationError("cannot read --ca-file \(self.caFile)")
            }
            let credentials: UserClient.Credentials
            if let adminKeyFile {
                guard let key = FileManager.default.contents(atPath: adminKeyFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
                    throw ValidationError("cannot read --admin-key-file \(adminKeyFile)")
                }
                credentials = .adminKey(key.trimmingCharacters(in: .whitespacesAndNewlines), user: self.user)
            } else if let passwordFile {
                guard let text = FileManager.default.contents(atPath: passwordFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
                    throw ValidationError("cannot read --password-file \(passwordFile)")
                }
                credentials = .password(user: self.user, password: text.trimmingCharacters(in: .newlines))
            } else {
                guard let typed = getpass("Password for \(self.user): ").map({ String(cString: $0) }), !typed.isEmpty else {
                    throw ValidationError("no password given (use --password-file, or --admin-key-file with --user)")
                }
                credentials = .password(user: self.user, password: typed)
            }
            return UserClient.Configuration(serverURL: self.server, caPEM: pem, credentials: credentials)
        }

        /// Runs `body` with a client; a refusal becomes one line and exit code 1.
        func run<T: Sendable>(_ body: (UserClient) async throws -> T) async throws -> T {
            do {
                return try await UserClient.with(try self.clientConfiguration(), body)
            } catch let failure as AdminClient.Failure {
                throw CLIError("the server refused: \(failure)")
            }
        }
    }

    static func line(_ status: HeldJobStatus) -> String {
        let time = ISO8601DateFormatter()
        let job = status.job
        var place = "held for \(job.printer)"
        if let to = status.releasedTo { place = "released to \(to)" }
        let detail = status.failure.map { "  (\($0))" } ?? ""
        return [job.jobID.rawValue, status.state.rawValue, job.documentName, "\(job.pages)p×\(job.copies)", job.computer, place, time.string(from: job.expiresAt)]
            .joined(separator: "\t") + detail
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List your held jobs, newest first.",
            discussion: """
                Shows held and released jobs (--all: also printed, failed, expired and
                cancelled ones).

                Example:
                  printplane release list --server https://127.0.0.1:8443 \\
                      --ca-file ./pp/ca.pem --admin-key-file ./pp/admin.key \\
                      --user alice --all
                """)

        @OptionGroup var connection: Connection

        @Flag(help: "Include finished jobs (printed, failed, expired, cancelled).")
        var all = false

        func run() async throws {
            let states: Set<HeldJobState>? = self.all ? nil : [.held, .released]
            let jobs = try await self.connection.run { try await $0.heldJobs(states: states) }
            print(["JOB", "STATE", "DOCUMENT", "PAGES", "COMPUTER", "PRINTER", "EXPIRES"].joined(separator: "\t"))
            for job in jobs { print(ReleaseCommand.line(job)) }
        }
    }

    struct PrintJob: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "print",
            abstract: "Release a held job to a printer of your choice; it prints there at once.",
            discussion: """
                The printer is any printer the server knows, by name (--printer) or ID
                (--printer-id). The workstation that holds the job sends it straight to that
                printer; the document never passes through the server.

                Example:
                  printplane release print --server https://127.0.0.1:8443 \\
                      --ca-file ./pp/ca.pem --admin-key-file ./pp/admin.key \\
                      --user alice 3f2c9e… --printer "Floor 2"
                """)

        @OptionGroup var connection: Connection

        @Option(help: "The printer's name.")
        var printer: String?

        @Option(name: .customLong("printer-id"), help: "The printer's ID (instead of --printer).")
        var printerID: String?

        @Argument(help: "The held job's ID (from `release list`).")
        var job: String

        func validate() throws {
            guard (self.printer == nil) != (self.printerID == nil) else { throw ValidationError("name the printer with exactly one of --printer and --printer-id") }
        }

        func run() async throws {
            let request = ReleaseRequest(printerID: self.printerID.map { PrinterID($0) }, printer: self.printer)
            let status = try await self.connection.run { try await $0.release(JobID(self.job), to: request) }
            print("released \(status.job.jobID) (\(status.job.documentName), \(status.job.pages) page(s)) to \(status.releasedTo ?? "?"); \(status.job.computer) prints it now")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a held job; the workstation deletes the document.",
            discussion: """
                Example:
                  printplane release cancel --server https://127.0.0.1:8443 \\
                      --ca-file ./pp/ca.pem --admin-key-file ./pp/admin.key \\
                      --user alice 3f2c9e…
                """)

        @OptionGroup var connection: Connection

        @Argument(help: "The held job's ID (from `release list`).")
        var job: String

        func run() async throws {
            let status = try await self.connection.run { try await $0.cancel(JobID(self.job)) }
            print("cancelled \(status.job.jobID) (\(status.job.documentName))")
        }
    }
}
