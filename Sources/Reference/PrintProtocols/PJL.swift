/// Printer Job Language framing shared by the agent and the fake printer.
///
/// HP's PJL Technical Reference: a job starts with the Universal Exit Language
/// command `ESC%-12345X`, PJL commands are lines starting `@PJL`, and replies on
/// the back channel end with a form feed.
public enum PJL {
    /// `ESC%-12345X`: Universal Exit Language, which resets the printer to PJL.
    public static let universalExitLanguage: [UInt8] = Array("\u{1B}%-12345X".utf8)
}
