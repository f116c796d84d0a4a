import Foundation

/// How the workstation daemon and the `printplane agent …` commands run. Every field
/// has a default; the CLI only maps flags onto it.
public struct AgentConfiguration: Sendable {
    /// Holds the credential, state, drivers, queues, outbox and spool.
    public var stateDirectory: String
    /// How often the outbox is drained when it has records.
    public var uploadInterval: Duration = .seconds(15)
    /// The longest back-off after errors (check-in and upload).
    public var maximumBackoff: Duration = .seconds(300)
    /// The addresses reported for IP-range targeting; nil = this machine's interfaces.
    public var ipAddresses: [String]?
    /// The user to report before the first login event; nil = the login file, if any.
    public var user: String?
    /// How long a printer may take to accept a job.
    public var printTimeout: Duration = .seconds(60)
    /// Seconds each release long-poll waits on the server (≤ 30; below the HTTP client's 30 s
    /// read timeout).
    public var releaseWait: Int = 25

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public var caPath: String { "\(self.stateDirectory)/ca.pem" }
    public var driversDirectory: String { "\(self.stateDirectory)/drivers" }
    public var queuesDirectory: String { "\(self.stateDirectory)/queues" }
    public var databasePath: String { "\(self.stateDirectory)/outbox.sqlite" }
    public var spoolDirectory: String { "\(self.stateDirectory)/spool" }
    public var socketPath: String { "\(self.stateDirectory)/agent.sock" }
    /// The last user a login hook reported (so a restarted daemon knows it).
    public var loginPath: String { "\(self.stateDirectory)/login" }
}
