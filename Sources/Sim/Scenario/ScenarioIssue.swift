/// One problem found in a scenario file, with enough position to jump straight to it.
///
/// `description` follows the compiler convention editors understand
/// (`quickstart.yaml:12:5: phases[0].checkins: expected a rate like 20/s, got "fast"`),
/// with the suggestion appended when there is one.
public struct ScenarioIssue: Sendable, Equatable, Error, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable {
        /// The file is refused and no run starts.
        case error
        /// Legal but probably not what was meant; the run still starts.
        case warning
    }

    public var severity: Severity
    public var file: String
    /// 1-based; 0 when the problem has no position (a missing file).
    public var line: Int
    /// 1-based; 0 when the problem has no position.
    public var column: Int
    /// Dotted path of the field, like `phases[1].print.rate`; empty for the whole file.
    public var path: String
    public var message: String
    /// "did you mean `checkins`?" or the list of valid values.
    public var suggestion: String?

    public init(severity: Severity = .error, file: String, line: Int, column: Int, path: String, message: String, suggestion: String? = nil) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String {
        var text = self.file
        if self.line > 0 { text += ":\(self.line):\(self.column)" }
        text += ": "
        if self.severity == .warning { text += "warning: " }
        if !self.path.isEmpty { text += "\(self.path): " }
        text += self.message
        if let suggestion = self.suggestion { text += " (\(suggestion))" }
        return text
    }
}
