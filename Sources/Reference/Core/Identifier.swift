import Foundation

/// A typed, opaque identifier that travels as a plain JSON string.
///
/// The phantom `Kind` keeps an agent's ID from being passed where a printer's is
/// expected, while the wire format stays a bare string that any client can echo.
public struct Identifier<Kind>: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The string form, as stored and sent.
    public let rawValue: String

    /// Wraps an existing identifier string.
    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// A new random identifier (a lowercase UUID, so it sorts and reads like the others).
    public static func random() -> Self {
        Self(UUID().uuidString.lowercased())
    }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }

    public var description: String { self.rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Identifier: ExpressibleByStringLiteral {
    /// Lets tests and fixtures write IDs as literals.
    public init(stringLiteral value: String) { self.init(value) }
}

/// Phantom kinds for ``Identifier``.
public enum IdentifierKind {
    /// An enrolled workstation agent.
    public enum Agent {}
    /// A network printer.
    public enum Printer {}
    /// A print profile (duplex, colour, paper...).
    public enum Profile {}
    /// An assignment of a printer to a target.
    public enum Assignment {}
    /// A driver package version.
    public enum Driver {}
    /// An enrollment token.
    public enum EnrollmentToken {}
    /// A print job, chosen by the agent so that uploads are idempotent.
    public enum Job {}
}

public typealias AgentID = Identifier<IdentifierKind.Agent>
public typealias PrinterID = Identifier<IdentifierKind.Printer>
public typealias ProfileID = Identifier<IdentifierKind.Profile>
public typealias AssignmentID = Identifier<IdentifierKind.Assignment>
public typealias DriverID = Identifier<IdentifierKind.Driver>
public typealias EnrollmentTokenID = Identifier<IdentifierKind.EnrollmentToken>
public typealias JobID = Identifier<IdentifierKind.Job>
