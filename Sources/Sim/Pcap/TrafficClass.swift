/// Who a packet is between, as far as the "no print traffic to the cloud" promise cares.
public enum TrafficClass: String, CaseIterable, Hashable, Sendable {
    /// An agent and the control-plane server (HTTPS on the server port).
    case agentServer = "agent_server"
    /// An agent and a printer on a print port (9100 RAW, 515 LPD, 631 IPP by default).
    case agentPrinter = "agent_printer"
    /// An agent and the directory (LDAP 389/636, global catalog 3268/3269, Kerberos 88).
    case agentAD = "agent_ad"
    /// Everything else, including non-IP frames.
    case other
}
