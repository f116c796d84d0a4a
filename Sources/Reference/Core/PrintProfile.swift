/// How a printer is driven for one assignment: what the agent turns into a PJL header.
public struct PrintProfile: Codable, Sendable, Hashable {
    /// Sides to print on; raw values are the PJL `DUPLEX`/`BINDING` vocabulary in snake_case.
    public enum Duplex: String, Codable, Sendable, CaseIterable {
        case simplex
        case longEdge = "long_edge"
        case shortEdge = "short_edge"
    }

    public var duplex: Duplex
    /// `true` for colour, `false` for greyscale.
    public var color: Bool
    /// Media name, e.g. `A4` or `Letter`.
    public var paper: String
    /// Input tray name, or `nil` for automatic selection.
    public var tray: String?
    /// Copies, 1...999.
    public var copies: Int

    public init(duplex: Duplex = .simplex, color: Bool = false, paper: String = "A4", tray: String? = nil, copies: Int = 1) {
        self.duplex = duplex
        self.color = color
        self.paper = paper
        self.tray = tray
        self.copies = copies
    }

    /// The profile used when an assignment names none.
    public static let `default` = PrintProfile()

    /// Problems with the values, empty when valid.
    public var validationProblems: [String] {
        var problems = [String]()
        if !(1...999).contains(self.copies) { problems.append("copies must be between 1 and 999") }
        if self.paper.isEmpty || self.paper.utf8.count > 32 { problems.append("paper must be 1 to 32 characters") }
        if let tray = self.tray, tray.isEmpty || tray.utf8.count > 32 { problems.append("tray must be 1 to 32 characters") }
        return problems
    }
}
