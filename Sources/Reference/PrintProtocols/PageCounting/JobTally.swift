/// One document of a job.
struct DocumentCount: Sendable {
    var language: DocumentLanguage
    /// Pages of one copy; nil when not countable.
    var pages: Int?
    /// Copies of every page, or nil when its pages asked for different copies.
    var copies: Int?
    /// Pages printed, copies included.
    var impressions: Int
}

/// The documents of one job (one document per UEL-delimited section), added up.
struct JobTally: Sendable {
    private var documents = 0
    private var language = DocumentLanguage.unknown
    private var firstCopies = 1
    private var uncountable = false
    private var pages = 0
    private var impressions = 0
    /// The copies shared by every document that has pages.
    private var sharedCopies: Int?
    private var sawPages = false
    private var mixedCopies = false

    mutating func add(_ document: DocumentCount) {
        documents += 1
        if documents == 1 {
            language = document.language
            firstCopies = document.copies ?? 1
        }
        guard let documentPages = document.pages else {
            uncountable = true
            return
        }
        pages = Self.saturating(pages, plus: documentPages)
        impressions = Self.saturating(impressions, plus: document.impressions)
        guard documentPages > 0 else { return }
        if let copies = document.copies, !sawPages || sharedCopies == copies {
            sharedCopies = copies
        } else {
            mixedCopies = true
        }
        sawPages = true
    }

    /// The job's count: a job with no document has 0 pages; one with an
    /// uncountable document has unknown pages; pages asking for different
    /// copies are folded into `pages` (with `copies` 1) so impressions stay right.
    func result() -> PageCount {
        guard documents > 0 else { return PageCount(pages: 0, copies: 1, language: .unknown) }
        if uncountable { return PageCount(pages: nil, copies: firstCopies, language: language) }
        if mixedCopies { return PageCount(pages: impressions, copies: 1, language: language) }
        return PageCount(pages: pages, copies: sawPages ? (sharedCopies ?? 1) : firstCopies, language: language)
    }

    static func saturating(_ value: Int, plus other: Int) -> Int {
        let (sum, overflow) = value.addingReportingOverflow(other)
        return overflow ? Int.max : sum
    }

    static func saturating(_ value: Int, times other: Int) -> Int {
        let (product, overflow) = value.multipliedReportingOverflow(by: other)
        return overflow ? Int.max : product
    }
}
