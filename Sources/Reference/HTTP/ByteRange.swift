import Foundation

/// A single `Range: bytes=…` request (RFC 9110 §14.1.2); multi-range requests are served whole.
///
/// ```
/// ranges-specifier = range-unit "=" range-set
/// int-range        = first-pos "-" [ last-pos ]
/// suffix-range     = "-" suffix-length
/// ```
public enum ByteRange: Equatable, Sendable {
    /// No usable range: answer the whole representation (RFC 9110 §14.2 lets a server ignore it).
    case none
    /// A range that does not overlap the representation: 416.
    case unsatisfiable
    case range(ClosedRange<Int64>)

    /// Reads `header` against a representation of `size` bytes.
    public static func parse(_ header: String, size: Int64) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .none }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .none }
        if parts[0].isEmpty {
            guard let suffix = Int64(parts[1]), suffix > 0 else { return .unsatisfiable }
            guard size > 0 else { return .unsatisfiable }
            return .range(max(0, size - suffix)...(size - 1))
        }
        guard let first = Int64(parts[0]), first >= 0 else { return .none }
        guard first < size else { return .unsatisfiable }
        if parts[1].isEmpty { return .range(first...(size - 1)) }
        guard let last = Int64(parts[1]), last >= first else { return .none }
        return .range(first...min(last, size - 1))
    }
}
