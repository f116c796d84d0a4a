/// Why a capture could not start or ended early.
///
/// A struct over a private enum (STYLE.md), so adding a case breaks no caller.
public struct PacketCaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case permissionDenied(String)
        case noSuchDevice(String)
        case noSuchNamespace(String)
        case badFilter(String)
        case unsupportedLinkType(String)
        case cannotWrite(String)
        case failed(String)
    }

    private let kind: Kind

    /// No CAP_NET_RAW (or CAP_SYS_ADMIN to enter a namespace). The verifier turns this into `skipped`.
    public static func permissionDenied(_ detail: String) -> Self { Self(kind: .permissionDenied(detail)) }
    /// The interface does not exist (in the namespace the capture runs in).
    public static func noSuchDevice(_ detail: String) -> Self { Self(kind: .noSuchDevice(detail)) }
    /// `/var/run/netns/NAME` does not exist.
    public static func noSuchNamespace(_ detail: String) -> Self { Self(kind: .noSuchNamespace(detail)) }
    /// libpcap refused the BPF filter expression.
    public static func badFilter(_ detail: String) -> Self { Self(kind: .badFilter(detail)) }
    /// The device cannot deliver the requested link type.
    public static func unsupportedLinkType(_ detail: String) -> Self { Self(kind: .unsupportedLinkType(detail)) }
    /// The `--pcap-out` file could not be created.
    public static func cannotWrite(_ detail: String) -> Self { Self(kind: .cannotWrite(detail)) }
    /// Any other libpcap failure, with libpcap's own message.
    public static func failed(_ detail: String) -> Self { Self(kind: .failed(detail)) }

    /// True when the cause is missing privileges, so the caller can report `skipped` instead of failing.
    public var isPermissionDenied: Bool {
        if case .permissionDenied = kind { return true }
        return false
    }

    public var description: String {
        switch kind {
        case .permissionDenied(let detail): "packet capture needs CAP_NET_RAW (run as root or grant the capability): \(detail)"
        case .noSuchDevice(let detail): "no such capture device: \(detail)"
        case .noSuchNamespace(let detail): "no such network namespace: \(detail)"
        case .badFilter(let detail): "invalid BPF filter: \(detail)"
        case .unsupportedLinkType(let detail): "unsupported link type: \(detail)"
        case .cannotWrite(let detail): "cannot write the pcap file: \(detail)"
        case .failed(let detail): "packet capture failed: \(detail)"
        }
    }
}
