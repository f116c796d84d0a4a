import Synchronization

/// The faults in force right now, shared by every connection and changeable while the server
/// runs: from code (the fleet simulator's timed events), from the CLI's `--fault-*` flags at
/// start, and from the admin extended operation (`ldapexop`, see docs/ldap.md).
public final class SimulatedADFaultSwitch: Sendable {
    private let state: Mutex<SimulatedADFaults>

    public init(_ faults: SimulatedADFaults = .init()) {
        self.state = Mutex(faults)
    }

    /// The faults in force.
    public var current: SimulatedADFaults {
        self.state.withLock { $0 }
    }

    /// Replaces every fault.
    public func set(_ faults: SimulatedADFaults) {
        self.state.withLock { $0 = faults }
    }

    /// Applies a fault command (`latency=200ms,refuse=on`, `reset`) and returns the result.
    @discardableResult
    public func apply(_ command: String) throws -> SimulatedADFaults {
        try self.state.withLock { faults in
            var updated = faults
            try updated.apply(command)
            faults = updated
            return updated
        }
    }
}
