import Foundation

/// Parses the unit-carrying scalars of scenario files: durations (`250ms`, `10s`, `5m`,
/// `1h`), sizes (`512KB`, `20MB`, 1024-based) and rates (`20/s`, `300/m`, `1000/h`).
///
/// Each parser returns nil for text it does not understand, and the loader turns that into
/// an issue that shows an example, so users learn the syntax from the message.
public enum ScenarioUnits {
    /// `250ms`, `10s`, `1.5s`, `5m`, `1h`; a bare `0` is zero. Negative values are returned
    /// as negative, so the caller can say "must be positive" instead of "not a duration".
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "0" { return .zero }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard let value = Double(number), value.isFinite, !number.isEmpty, number.first != "+" else { continue }
            let nanoseconds = (value * scale * 1e9).rounded()
            // Beyond about 292 years a Duration's nanoseconds overflow: not a duration.
            guard abs(nanoseconds) < 9e18 else { return nil }
            return .nanoseconds(Int64(nanoseconds))
        }
        return nil
    }

    /// `512KB`, `20MB`, `1GB`, `300B`, or a plain byte count; K/M/G are 1024-based.
    public static func size(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let plain = Int(trimmed) { return plain }
        let units: [(String, Double)] = [("KB", 1024), ("MB", 1024 * 1024), ("GB", 1024 * 1024 * 1024), ("B", 1)]
        for (suffix, scale) in units where trimmed.uppercased().hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard !number.isEmpty, let value = Double(number), value.isFinite else { continue }
            let bytes = (value * scale).rounded()
            guard abs(bytes) < Double(Int.max / 2) else { return nil }
            return Int(bytes)
        }
        return nil
    }

    /// `20/s`, `300/m`, `1000/h`, `0.5/s`. Negative rates are returned, for a precise message.
    public static func rate(_ text: String) -> Rate? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let number = parts[0].trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, let value = Double(number), value.isFinite else { return nil }
        let scale: Double
        switch parts[1].trimmingCharacters(in: .whitespaces) {
        case "s": scale = 1
        case "m": scale = 1.0 / 60
        case "h": scale = 1.0 / 3600
        default: return nil
        }
        return Rate(perSecond: value * scale)
    }

    /// How a duration is shown back to users: the largest unit that keeps it exact-ish.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds == 0 { return "0s" }
        if seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds >= 1, seconds == seconds.rounded() { return "\(Int(seconds))s" }
        let millis = seconds * 1000
        if millis == millis.rounded() { return "\(Int(millis))ms" }
        return "\(seconds)s"
    }
}
