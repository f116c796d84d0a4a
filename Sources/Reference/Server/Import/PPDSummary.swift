/// What `printplane import` reads from a PPD (Adobe PPD 4.3 §5): the model, the file
/// version, and the defaults CUPS derives a queue's job defaults from.
///
/// ```
/// *NickName: "HP Color LaserJet CM3530 MFP PDF"
/// *FileVersion: "1.1"
/// *DefaultDuplex: DuplexNoTumble
/// ```
///
/// Only main keywords at the start of a line are read; a PPD that has none of them is still
/// imported (its driver named after the queue).
public struct PPDSummary: Sendable, Hashable {
    public var nickName: String?
    public var modelName: String?
    public var manufacturer: String?
    public var fileVersion: String?
    /// `*DefaultX: value` keywords, by X (`Duplex`, `PageSize`, `ColorModel`, …).
    public var defaults: [String: String]
    /// `*UIConstraints: *A [a] *B [b]` pairs: option A at choice a (any choice when `nil`)
    /// cannot be used with option B at choice b.
    public var constraints: [Constraint]

    /// One `*UIConstraints` line: two option choices that cannot be used together.
    public struct Constraint: Sendable, Hashable {
        public struct Side: Sendable, Hashable {
            public var option: String
            /// `nil` for "any choice but None/Off/False".
            public var choice: String?
        }

        public var first: Side
        public var second: Side
    }

    /// Reads the summary from a PPD's text; lines that are not `*Keyword: value` are skipped.
    public init(_ text: String) {
        self.defaults = [:]
        self.constraints = []
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            guard rawLine.hasPrefix("*"), !rawLine.hasPrefix("*%"), let colon = rawLine.firstIndex(of: ":") else { continue }
            let key = rawLine[rawLine.index(after: rawLine.startIndex)..<colon]
            guard !key.contains(" "), !key.contains("/") else { continue }  // an option line (`*PageSize A4/A4: "…"`)
            var value = rawLine[rawLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            switch key {
            case "UIConstraints", "NonUIConstraints":
                if let constraint = Self.constraint(value) { self.constraints.append(constraint) }
            case "NickName": self.nickName = self.nickName ?? value
            case "ModelName": self.modelName = self.modelName ?? value
            case "Manufacturer": self.manufacturer = self.manufacturer ?? value
            case "FileVersion": self.fileVersion = self.fileVersion ?? value
            default:
                if key.hasPrefix("Default"), key.count > "Default".count {
                    let option = String(key.dropFirst("Default".count))
                    if self.defaults[option] == nil { self.defaults[option] = value }
                }
            }
        }
    }

    /// The CUPS `sides` keyword for the PPD's `*DefaultDuplex`, if it names one. As in CUPS,
    /// duplexing that a constraint rules out with the installable options as they default
    /// (`*UIConstraints: *Duplex *OptionDuplex False` with `*DefaultOptionDuplex: False`:
    /// no duplexer fitted) is one-sided.
    public var sides: String? {
        if self.isConstrainedByDefaults("Duplex") { return "one-sided" }
        switch self.defaults["Duplex"] {
        case "None", "Off", "False": return "one-sided"
        case "DuplexNoTumble": return "two-sided-long-edge"
        case "DuplexTumble": return "two-sided-short-edge"
        default: return nil
        }
    }

    /// The CUPS `print-color-mode` keyword for the PPD's colour default, if it names one.
    public var colorMode: String? {
        guard let model = self.defaults["ColorModel"] ?? self.defaults["ColorMode"] else { return nil }
        switch model.lowercased() {
        case "gray", "grayscale", "black", "mono", "monochrome", "kgray", "bw": return "monochrome"
        case "rgb", "cmyk", "cmy", "color", "colour", "rgbk", "kcmy": return "color"
        default: return nil
        }
    }

    /// Whether a constraint forbids every duplexing choice of `option` given the other
    /// options' defaults.
    func isConstrainedByDefaults(_ option: String) -> Bool {
        for constraint in self.constraints {
            for (mine, other) in [(constraint.first, constraint.second), (constraint.second, constraint.first)] where mine.option == option {
                let offChoices: Set<String> = ["None", "Off", "False"]
                if let choice = mine.choice, offChoices.contains(choice) { continue }
                guard let otherDefault = self.defaults[other.option] else { continue }
                if let choice = other.choice {
                    if otherDefault == choice { return true }
                } else if !offChoices.contains(otherDefault) {
                    return true
                }
            }
        }
        return false
    }

    private static func constraint(_ value: String) -> Constraint? {
        var parts: [Constraint.Side] = []
        for word in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if word.hasPrefix("*") {
                parts.append(Constraint.Side(option: String(word.dropFirst()), choice: nil))
            } else if !parts.isEmpty, parts[parts.count - 1].choice == nil {
                parts[parts.count - 1].choice = String(word)
            }
        }
        guard parts.count == 2 else { return nil }
        return Constraint(first: parts[0], second: parts[1])
    }

    /// The PPD's `*DefaultPageSize` (a PPD size name such as `Letter` or `A4`).
    public var pageSize: String? { self.defaults["PageSize"] }
}
