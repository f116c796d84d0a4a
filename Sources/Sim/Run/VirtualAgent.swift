import Foundation
import NIOConcurrencyHelpers
import PrintplaneAgent

/// One simulated workstation: the reference agent's own logic (``Agent``) with
/// light-weight I/O, plus what the simulator needs to drive it.
final class VirtualAgent: Sendable {
    struct Mutable: Sendable {
        var enrolled = false
        var enrolling = false
        /// Busy with a check-in (one at a time per agent, as on a real workstation).
        var checkingIn = false
        var loggedIn: Int?
        var retryAfterUntil: ContinuousClock.Instant?
    }

    let index: Int
    let agent: Agent
    let hostname: String
    /// The address reported for IP-range targeting: 10.(100 + site).x.y.
    let reportedAddress: String
    let site: Int
    /// Indices into the run's user list.
    let users: [Int]
    let mutable = NIOLockedValueBox(Mutable())

    init(index: Int, agent: Agent, hostname: String, reportedAddress: String, site: Int, users: [Int]) {
        self.index = index
        self.agent = agent
        self.hostname = hostname
        self.reportedAddress = reportedAddress
        self.site = site
        self.users = users
    }

    var isEnrolled: Bool { self.mutable.withLockedValue { $0.enrolled } }
}

/// A simulated person: an AD account (or a generated name without a directory).
struct SimUser: Sendable {
    var name: String
    var bindName: String
    var password: String
}
