import ArgumentParser
import Foundation
import Logging
import NIOCore
import PrintplaneAgent
import PrintplaneCore
import ServiceLifecycle

/// `printplane agent enroll|run|print|login|status`: the workstation agent.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The workstation agent: enroll, check in, install verified drivers, print direct.",
        discussion: """
            The agent enrolls once with a token, then runs as a daemon that checks in with
            the server (at start, on every user login, and when the server says), installs
            the printers its plan names after verifying each driver's SHA-256 and Ed25519
            signature, and uploads job metadata from a durable outbox. Print jobs go
            straight to the printer over RAW 9100 or LPR 515; only metadata goes to the cloud.

            Everything lives in --state-dir: credential.json and driver-signing.pub (0600),
            ca.pem, state.json, drivers/, queues/ (one JSON queue definition per printer),
            outbox.sqlite, spool/ (held jobs) and agent.sock (the login socket).

            Examples:
              printplane agent enroll --server https://10.0.0.5:8443 --ca-file ca.pem --token "$TOKEN" --state-dir /var/lib/printplane
              printplane agent run    --state-dir /var/lib/printplane
              printplane agent print  --state-dir /var/lib/printplane --printer "Floor 2" report.pdf
              printplane agent login alice --state-dir /var/lib/printplane     # from a login hook
              printplane agent status --state-dir /var/lib/printplane
            """,
        subcommands: [Enroll.self, Run.self, Print.self, Login.self, Status.self]
    )

    struct StateDirectory: ParsableArguments {
        @Option(name: .customLong("state-dir"), help: "The agent's state directory (created at enrollment).")
        var path: String

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: Logger.Level = .info

        var configuration: AgentConfiguration { AgentConfiguration(stateDirectory: self.path) }
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enroll this workstation with a token; stores its credential (0600).",
            discussion: """
                An expired, revoked, used-up or unknown token is refused with one line naming
                the reason (token_expired, token_revoked, token_exhausted, token_unknown) and
                exit code 1.

                Example:
                  printplane agent enroll --server https://127.0.0.1:8443 --ca-file ./pp/ca.pem \\
                      --token "$TOKEN" --state-dir ./agent1
                """)

        @Option(help: "Server URL, e.g. https://127.0.0.1:8443.")
        var server: String

        @Option(name: .customLong("ca-file"), help: "PEM of the CA that signed the server certificate.")
        var caFile: String

        @Option(help: "The enrollment token (or @FILE to read it from a file).")
        var token: String

        @OptionGroup var state: StateDirectory

        @Option(help: "The host name to report (default: this machine's).")
        var hostname: String?

        func run() async throws {
            let logger = makeLogger(label: "printplane.agent", level: self.state.logLevel)
            let configuration = self.state.configuration
            let inputs = try EnrollmentInputs(server: self.server, caFile: self.caFile, token: self.token)
            if FileManager.default.fileExists(atPath: "\(configuration.stateDirectory)/credential.json") {
                throw CLIError(AgentError.alreadyEnrolled(configuration.stateDirectory).description)
            }
            let (environment, http) = try AgentDaemon.environment(configuration: configuration, caPEM: inputs.caPEM, logger: logger)
            do {
                let agent = try Agent(environment: environment)
                let identity = try await agent.enroll(serverURL: self.server, token: inputs.token, machine: .current(hostname: self.hostname))
                try AgentDaemon.saveCA(inputs.caPEM, configuration: configuration)
                try await http.shutdown()
                print("enrolled as agent \(identity.agentID) (\(identity.hostname)) with \(identity.serverURL)")
                print("credential: \(configuration.stateDirectory)/credential.json (0600)")
                print("next: printplane agent run --state-dir \(configuration.stateDirectory)")
            } catch let error as AgentError {
                try? await http.shutdown()
                throw CLIError(error.description)
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent daemon: check-ins, driver installs, outbox upload, releases.",
            discussion: """
                Checks in at start, on every `printplane agent login USER`, and when the
                server's next_checkin_seconds comes; obeys Retry-After; backs off with full
                jitter on errors; stops (exit 1) with a clear log line if the server refuses
                the credential. SIGTERM or Ctrl-C shut it down gracefully.

                It keeps one long-poll open for releases of held jobs and prints each one
                at the printer it was released to as soon as the server says so; it
                registers held jobs with the server and deletes expired ones.

                Example:
                  printplane agent run --state-dir ./agent1 --log-level debug
                """)

        @OptionGroup var state: StateDirectory

        @Option(help: "The user to report until the first login event (default: the last one a login hook reported).")
        var user: String?

        @Option(name: .customLong("ip"), help: "An address to report for IP-range targeting (repeatable; default: this machine's).")
        var ipAddresses: [String] = []

        @Option(name: .customLong("upload-interval"), help: "Seconds between outbox uploads while it holds records.")
        var uploadInterval: Int = 15

        func run() async throws {
            let logger = makeLogger(label: "printplane.agent", level: self.state.logLevel)
            var configuration = self.state.configuration
            configuration.user = self.user
            configuration.ipAddresses = self.ipAddresses.isEmpty ? nil : self.ipAddresses
            configuration.uploadInterval = .seconds(max(1, self.uploadInterval))
            let (environment, http) = try AgentDaemon.environment(configuration: configuration, logger: logger)
            let agent = try await Agent.load(environment: environment)
            guard let identity = await agent.identity else { throw CLIError(AgentError.notEnrolled(configuration.stateDirectory).description) }
            logger.info("agent starting", metadata: ["printplane.agent.id": "\(identity.agentID)", "printplane.server": "\(identity.serverURL)"])
            let service = AgentService(agent: agent, configuration: configuration, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
                try? await http.shutdown()
            } catch {
                try? await http.shutdown()
                throw CLIError("\(error)")
            }
        }
    }

    struct Print: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a file straight to an installed printer (RAW 9100 or LPR 515).",
            discussion: """
                Applies the printer's profile as a PJL header, counts the pages, sends the job
                to the printer directly, and writes the job's metadata to the durable outbox
                before reporting. It then tries one upload; if the server is away, the running
                daemon uploads it later. Exit code 1 if the printer did not take the job (the
                failed job is still reported as failed).

                With --hold the job stays in the local spool for pull printing: only its
                metadata goes to the server, and the running daemon prints it at the
                printer the user releases it to (`printplane release print`), or deletes
                it when it expires (--hold-hours, default 24; the server may keep it for
                less).

                Examples:
                  printplane agent print --state-dir ./agent1 --printer "Floor 2" report.pdf
                  printplane agent print --state-dir ./agent1 --printer "Floor 2" \\
                      --hold payslips.ps
                """)

        @OptionGroup var state: StateDirectory

        @Option(help: "The installed printer's name (see `printplane agent status`).")
        var printer: String

        @Flag(help: "Keep the job in the local spool for pull printing instead of sending it.")
        var hold = false

        @Option(name: .customLong("hold-hours"), help: "With --hold: hours the job waits for release before it is deleted.")
        var holdHours: Double = 24

        @Option(help: "The user to record (default: the login user of this process).")
        var user: String?

        @Option(help: "The document name to record (default: the file name).")
        var title: String?

        @Argument(help: "The document: PostScript, PDF or PCL (anything else is sent as is, pages unknown).")
        var file: String

        func run() async throws {
            let logger = makeLogger(label: "printplane.agent", level: self.state.logLevel)
            let configuration = self.state.configuration
            guard self.holdHours > 0, self.holdHours <= 24 * 30 else { throw ValidationError("--hold-hours must be more than 0 and at most 720") }
            guard let data = FileManager.default.contents(atPath: self.file) else { throw ValidationError("cannot read \(self.file)") }
            let (environment, http) = try AgentDaemon.environment(configuration: configuration, logger: logger)
            do {
                try await self.print(data, environment: environment, configuration: configuration)
                try? await http.shutdown()
            } catch {
                try? await http.shutdown()
                throw error
            }
        }

        func print(_ data: Data, environment: AgentEnvironment, configuration: AgentConfiguration) async throws {
            let agent = try await Agent.load(environment: environment)
            guard await agent.identity != nil else { throw CLIError(AgentError.notEnrolled(configuration.stateDirectory).description) }
            let user = self.user ?? AgentDaemon.lastLogin(configuration: configuration) ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName()
            let result: Agent.PrintResult
            do {
                result = try await agent.print(
                    document: ByteBuffer(bytes: data), documentName: self.title ?? URL(fileURLWithPath: self.file).lastPathComponent,
                    printerName: self.printer, user: user, hold: self.hold, holdTime: self.holdHours * 3600)
            } catch let error as AgentError {
                throw CLIError(error.description)
            }
            let record = result.record
            let upload = await agent.uploadOutbox()
            if result.held {
                let registered = upload.stoppedBy == nil
                    ? "registered with the server"
                    : "registration queued (\(upload.stoppedBy!.summary)); the running daemon sends it"
                Swift.print("held job \(record.jobID): \(record.pages) page(s), kept in the local spool; \(registered)")
                Swift.print("release it at any printer: printplane release print \(record.jobID) --printer NAME --server … --user \(record.user)")
                return
            }
            let reported = upload.stoppedBy == nil ? "reported" : "queued in the outbox (\(upload.remaining) waiting: \(upload.stoppedBy!.summary))"
            if let failure = result.failure {
                Swift.print("job \(record.jobID) FAILED on \(record.printer): \(failure); \(reported)")
                throw ExitCode(1)
            }
            Swift.print("printed job \(record.jobID): \(record.pages) page(s) × \(record.copies) to \(record.printer) over \(record.protocol.rawValue); \(reported)")
        }
    }

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tell the running daemon that USER logged in (it checks in at once).",
            discussion: """
                Meant for a login hook, e.g. PAM's pam_exec or a systemd user unit:
                  printplane agent login "$PAM_USER" --state-dir /var/lib/printplane
                The user is also remembered for the daemon's next start.
                """)

        @Argument(help: "The user who logged in.")
        var user: String

        @OptionGroup var state: StateDirectory

        func run() async throws {
            let configuration = self.state.configuration
            guard LoginListener.isValidUser(self.user) else { throw ValidationError("a user name is 1 to 256 printable characters") }
            try AgentDaemon.recordLogin(self.user, configuration: configuration)
            do {
                try await LoginListener.notify(path: configuration.socketPath, user: self.user)
            } catch let error as AgentError {
                throw CLIError(error.description + "; the login was remembered for its next start")
            }
            print("the agent daemon is checking in for \(self.user)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show enrollment, last check-in, installed printers and drivers, the outbox depth and held jobs.",
            discussion: """
                Example:
                  printplane agent status --state-dir ./agent1
                  printplane agent status --state-dir ./agent1 --json
                """)

        @OptionGroup var state: StateDirectory

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() async throws {
            let configuration = self.state.configuration
            let stateStore = try FileAgentStateStore(directory: configuration.stateDirectory)
            guard let identity = try await stateStore.loadIdentity() else { throw CLIError(AgentError.notEnrolled(configuration.stateDirectory).description) }
            let state = try await stateStore.loadState()
            let database = try SQLiteAgentDatabase(path: configuration.databasePath, spoolDirectory: configuration.spoolDirectory)
            let drivers = try await FileDriverStore(directory: configuration.driversDirectory).installed()
            let status = AgentStatusReport(
                identity: identity, state: state, drivers: drivers, outboxDepth: try await database.depth(),
                parked: try await database.parkedCount(), held: try await database.heldJobs(),
                unregistered: Set(try await database.pendingRegistrations(limit: 100_000).map(\.jobID)),
                daemonRunning: FileManager.default.fileExists(atPath: configuration.socketPath))
            print(self.json ? status.json : status.text)
        }
    }
}

/// An error the CLI prints as one line, then exits 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Agent.Machine {
    /// This machine as the agent reports it.
    static func current(hostname: String?) -> Agent.Machine {
        let machineID = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return Agent.Machine(
            hostname: hostname ?? ProcessInfo.processInfo.hostName,
            machineID: machineID.flatMap { $0.isEmpty ? nil : $0 } ?? UUID().uuidString.lowercased(),
            os: "linux \(ProcessInfo.processInfo.operatingSystemVersionString)".prefix(200).description,
            agentVersion: "printplane-agent 0.1")
    }
}
