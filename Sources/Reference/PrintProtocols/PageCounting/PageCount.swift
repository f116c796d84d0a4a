/// The result of counting one document (or one print job of several documents).
///
/// `pages` is what one copy of the document prints; `copies` is how many copies
/// the job itself asks for. A job whose pages cannot be known has `pages == nil`:
/// the counter never guesses.
public struct PageCount: Sendable, Hashable, Codable {
    /// Pages in one copy of the document; nil when the data is unknown / could not be counted (never guessed).
    public var pages: Int?
    /// Copies the document itself asks for (PCL ESC&l#X, PJL @PJL SET COPIES= / QTY=, PostScript /NumCopies or #copies), 1 if none.
    public var copies: Int
    /// The language the pages were counted in.
    public var language: DocumentLanguage

    /// pages * copies, or nil when pages is nil.
    public var impressions: Int? {
        guard let pages else { return nil }
        let (product, overflow) = pages.multipliedReportingOverflow(by: copies)
        return overflow ? nil : product
    }

    /// Builds a result; callers outside the counter use this in tests and fakes.
    public init(pages: Int?, copies: Int = 1, language: DocumentLanguage) {
        self.pages = pages
        self.copies = copies
        self.language = language
    }

    private enum CodingKeys: String, CodingKey {
        case pages, copies, language, impressions
    }

    /// Decodes `pages`, `copies` and `language`; `impressions` is derived, so it is ignored on input.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.pages = try container.decodeIfPresent(Int.self, forKey: .pages)
        self.copies = try container.decodeIfPresent(Int.self, forKey: .copies) ?? 1
        self.language = try container.decode(DocumentLanguage.self, forKey: .language)
    }

    /// Encodes `impressions` too, so a job listing in JSON needs no arithmetic from its reader.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.pages, forKey: .pages)
        try container.encode(self.copies, forKey: .copies)
        try container.encode(self.language, forKey: .language)
        try container.encode(self.impressions, forKey: .impressions)
    }
}
