import NIOCore

/// Printer Job Language framing shared by the agent and the fake printer.
///
/// HP PJL Technical Reference, ch. 2 and 7: a PJL job starts with the Universal
/// Exit Language command `ESC%-12345X`; PJL commands are lines that start with
/// `@PJL` and end with `[CR]LF`; status readback replies are lines ending with
/// `CR LF`, the whole reply terminated by a form feed.
public enum PJL {
    /// `ESC%-12345X`: Universal Exit Language, which resets the printer to PJL.
    public static let universalExitLanguage: [UInt8] = Array("\u{1B}%-12345X".utf8)

    /// The longest PJL command line we accept before treating the data as document data.
    public static let maximumLineLength = 4096

    /// Formats a status readback reply: `@PJL <echo><CR><LF>` + lines, each `<CR><LF>`, then `<FF>`.
    public static func reply(echoing header: String, lines: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("@PJL \(header)\r\n")
        for line in lines { buffer.writeString(line + "\r\n") }
        buffer.writeInteger(UInt8(0x0C))
        return buffer
    }

    /// Builds the PJL header an agent wraps around a document to apply a print profile:
    /// UEL, `@PJL JOB`, one `@PJL SET` per setting, then `@PJL ENTER LANGUAGE` when known.
    public static func jobHeader(name: String, settings: [(String, String)], language: String?) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes(universalExitLanguage)
        buffer.writeString("@PJL JOB NAME=\"\(sanitized(name))\"\r\n")
        for (key, value) in settings { buffer.writeString("@PJL SET \(key)=\(value)\r\n") }
        if let language { buffer.writeString("@PJL ENTER LANGUAGE=\(language)\r\n") }
        return buffer
    }

    /// The trailer matching `jobHeader`: UEL, `@PJL EOJ`, UEL.
    public static func jobTrailer(name: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeBytes(universalExitLanguage)
        buffer.writeString("@PJL EOJ NAME=\"\(sanitized(name))\"\r\n")
        buffer.writeBytes(universalExitLanguage)
        return buffer
    }

    /// PJL strings cannot contain quotes or line breaks.
    public static func sanitized(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\"" && $0 != "\r" && $0 != "\n" && $0.value >= 0x20 && $0.value < 0x7F }.prefix(80))
    }
}

/// One parsed `@PJL` command line.
///
/// Grammar (PJL Technical Reference §2): `@PJL [command [command modifiers : value] [options]] [<CR>]<LF>`,
/// where options are `name[ = value]`, and values may be quoted strings.
public struct PJLCommand: Sendable, Hashable {
    /// The command word, upper-cased (`INFO`, `ECHO`, `JOB`, `SET`, …); empty for a bare `@PJL` line.
    public var verb: String
    /// Words after the verb that are not options, upper-cased (e.g. `STATUS` in `INFO STATUS`).
    public var arguments: [String]
    /// `name = value` options, names upper-cased, quotes removed.
    public var options: [String: String]
    /// The raw text after `@PJL` with the line ending removed, for `ECHO` and logs.
    public var text: String

    public init(verb: String, arguments: [String] = [], options: [String: String] = [:], text: String = "") {
        self.verb = verb
        self.arguments = arguments
        self.options = options
        self.text = text
    }

    /// Parses one line (without its line ending). Returns nil unless it starts with `@PJL`.
    public init?(line: String) {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.uppercased().hasPrefix("@PJL") else { return nil }
        let rest = trimmed.dropFirst(4)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" || rest.first == "\r" else { return nil }
        self.text = rest.trimmingWhitespace()
        var tokens = Self.tokenize(self.text)
        self.verb = tokens.isEmpty ? "" : tokens.removeFirst().uppercased()
        self.arguments = []
        self.options = [:]
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            if index + 2 < tokens.count, tokens[index + 1] == "=" {
                self.options[token.uppercased()] = tokens[index + 2]
                index += 3
            } else if token != "=" {
                self.arguments.append(token.uppercased())
                index += 1
            } else {
                index += 1
            }
        }
    }

    /// Splits on whitespace and `=`, keeping `=` as its own token and quoted strings whole.
    private static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inQuotes = false
        func flush() {
            if !current.isEmpty { tokens.append(current); current = "" }
        }
        for character in text {
            if inQuotes {
                if character == "\"" { inQuotes = false; tokens.append(current); current = "" } else { current.append(character) }
            } else if character == "\"" {
                flush(); inQuotes = true
            } else if character == " " || character == "\t" {
                flush()
            } else if character == "=" {
                flush(); tokens.append("=")
            } else {
                current.append(character)
            }
        }
        if inQuotes { tokens.append(current) } else { flush() }
        return tokens
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
