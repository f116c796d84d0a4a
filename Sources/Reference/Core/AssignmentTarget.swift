import Foundation

/// Who an assignment applies to.
///
/// Encoded as `{"kind": "user", "value": "alice"}`. Directory-backed kinds carry a
/// distinguished name: `{"kind": "group", "value": "CN=Printing,OU=Groups,DC=corp,DC=example,DC=com"}`.
/// Unknown kinds and malformed DNs are refused when decoding.
public enum AssignmentTarget: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Every agent.
    case everyone
    /// One computer, by host name (case-insensitive) or agent ID.
    case computer(String)
    /// One user, by account name (case-insensitive).
    case user(String)
    /// Agents with any address in a CIDR block.
    case ipRange(IPRange)
    /// Members of an AD group, directly or through nested groups (the user's or the computer's).
    case group(DistinguishedName)
    /// Users and computers whose directory entries lie beneath an OU or container.
    case organizationalUnit(DistinguishedName)

    /// The target kinds and their wire names.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case everyone
        case computer
        case user
        case group
        case organizationalUnit = "ou"
        case ipRange = "ip_range"

        /// DESIGN.md §3: user > computer > group > OU > IP range > everyone.
        public var specificity: Int {
            switch self {
            case .user: return 60
            case .computer: return 50
            case .group: return 40
            case .organizationalUnit: return 30
            case .ipRange: return 20
            case .everyone: return 10
            }
        }

        /// Whether matching needs facts from the directory (group memberships, OUs).
        public var needsDirectory: Bool {
            switch self {
            case .everyone, .computer, .user, .ipRange: return false
            case .group, .organizationalUnit: return true
            }
        }
    }

    /// This target's kind.
    public var kind: Kind {
        switch self {
        case .everyone: return .everyone
        case .computer: return .computer
        case .user: return .user
        case .ipRange: return .ipRange
        case .group: return .group
        case .organizationalUnit: return .organizationalUnit
        }
    }

    /// The value as stored and sent (`nil` for everyone).
    public var value: String? {
        switch self {
        case .everyone: return nil
        case .computer(let name), .user(let name): return name
        case .ipRange(let range): return range.description
        case .group(let dn), .organizationalUnit(let dn): return dn.description
        }
    }

    /// Builds a target from its wire parts, or explains why it cannot.
    public static func make(kind: Kind, value: String?) -> Result<AssignmentTarget, AssignmentTargetError> {
        let trimmed = value?.trimmingCharacters(in: .whitespaces) ?? ""
        switch kind {
        case .everyone:
            return .success(.everyone)
        case .computer, .user:
            guard !trimmed.isEmpty, trimmed.utf8.count <= 256 else {
                return .failure(.init(message: "a \(kind.rawValue) target needs a name of 1 to 256 characters"))
            }
            return .success(kind == .user ? .user(trimmed) : .computer(trimmed))
        case .ipRange:
            guard let range = IPRange(trimmed) else {
                return .failure(.init(message: "an ip_range target needs a CIDR block such as 10.0.0.0/8 or 2001:db8::/32"))
            }
            return .success(.ipRange(range))
        case .group, .organizationalUnit:
            let example = kind == .group ? "CN=Printing,OU=Groups,DC=corp,DC=example,DC=com" : "OU=London,OU=Sites,DC=corp,DC=example,DC=com"
            guard !trimmed.isEmpty, trimmed.utf8.count <= 2048 else {
                return .failure(.init(message: "a \(kind.rawValue) target needs a distinguished name of at most 2048 bytes, such as \(example)"))
            }
            let dn: DistinguishedName
            do {
                dn = try DistinguishedName(trimmed)
            } catch {
                return .failure(.init(message: "a \(kind.rawValue) target needs a distinguished name such as \(example): \(error)"))
            }
            if let problem = dn.validationProblem {
                return .failure(.init(message: "a \(kind.rawValue) target needs a distinguished name such as \(example): \(problem)"))
            }
            return .success(kind == .group ? .group(dn.tidied) : .organizationalUnit(dn.tidied))
        }
    }

    private enum CodingKeys: String, CodingKey { case kind, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(Kind.self, forKey: .kind)
        let value = try container.decodeIfPresent(String.self, forKey: .value)
        switch Self.make(kind: kind, value: value) {
        case .success(let target): self = target
        case .failure(let error):
            throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.kind, forKey: .kind)
        try container.encodeIfPresent(self.value, forKey: .value)
    }

    public var description: String {
        self.value.map { "\(self.kind.rawValue):\($0)" } ?? self.kind.rawValue
    }
}

/// Why a target could not be built from its wire parts.
public struct AssignmentTargetError: Error, Sendable, Equatable {
    /// A sentence for the admin.
    public let message: String
}
