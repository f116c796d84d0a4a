/// An assignment as the targeting rules see it: a printer, an optional profile and one target.
public struct Assignment: Codable, Sendable, Hashable {
    public var id: AssignmentID
    public var printerID: PrinterID
    public var profileID: ProfileID?
    public var target: AssignmentTarget

    public init(id: AssignmentID, printerID: PrinterID, profileID: ProfileID?, target: AssignmentTarget) {
        self.id = id
        self.printerID = printerID
        self.profileID = profileID
        self.target = target
    }

    enum CodingKeys: String, CodingKey {
        case id
        case printerID = "printer_id"
        case profileID = "profile_id"
        case target
    }
}

/// Who is asking for a plan: the facts a check-in carries about the workstation, and what the
/// server resolved about its user and computer in the directory.
public struct TargetingSubject: Sendable, Hashable {
    public var agentID: AgentID
    public var computerName: String
    public var userName: String?
    public var addresses: [IPAddress]
    /// Group memberships and OUs from the directory; nil when none were resolved (no
    /// directory, or no group/OU assignment to evaluate), so group and OU targets never match.
    public var directory: DirectoryFacts?

    public init(agentID: AgentID, computerName: String, userName: String?, addresses: [IPAddress], directory: DirectoryFacts? = nil) {
        self.agentID = agentID
        self.computerName = computerName
        self.userName = userName
        self.addresses = addresses
        self.directory = directory
    }
}

/// The assignment-targeting rules of DESIGN.md §3, as a pure function.
///
/// For each printer, among the assignments whose target matches the subject, the most
/// specific wins: user > computer > group > OU > IP range > everyone. Between two IP
/// ranges the longer prefix wins; any remaining tie goes to the smallest assignment ID,
/// so the answer never depends on the order the store returned rows in.
public enum TargetingRules {
    /// Whether `target` applies to `subject`.
    public static func matches(_ target: AssignmentTarget, _ subject: TargetingSubject) -> Bool {
        switch target {
        case .everyone:
            return true
        case .computer(let name):
            return name.lowercased() == subject.computerName.lowercased() || name == subject.agentID.rawValue
        case .user(let name):
            guard let user = subject.userName else { return false }
            return name.lowercased() == user.lowercased()
        case .ipRange(let range):
            return subject.addresses.contains { range.contains($0) }
        case .group(let dn):
            return subject.directory?.groups.contains(dn) ?? false
        case .organizationalUnit(let dn):
            return subject.directory?.containers.contains(dn) ?? false
        }
    }

    /// A total order on matching assignments: greater is more specific.
    public static func isMoreSpecific(_ lhs: Assignment, than rhs: Assignment) -> Bool {
        let left = (lhs.target.kind.specificity, prefixLength(lhs.target))
        let right = (rhs.target.kind.specificity, prefixLength(rhs.target))
        if left != right { return left > right }
        return lhs.id < rhs.id
    }

    /// The winning assignment per printer for `subject`, ordered by printer ID.
    public static func resolve(_ assignments: [Assignment], for subject: TargetingSubject) -> [Assignment] {
        var winners = [PrinterID: Assignment]()
        for assignment in assignments where matches(assignment.target, subject) {
            if let current = winners[assignment.printerID], !isMoreSpecific(assignment, than: current) {
                continue
            }
            winners[assignment.printerID] = assignment
        }
        return winners.values.sorted { $0.printerID < $1.printerID }
    }

    private static func prefixLength(_ target: AssignmentTarget) -> Int {
        if case .ipRange(let range) = target { return range.prefixLength }
        return 0
    }
}
