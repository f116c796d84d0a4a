/// The page-tree facts gathered from a PDF's objects, in file order, with
/// later definitions of an object number replacing earlier ones (ISO 32000-1
/// §7.5.6: an incremental update redefines objects by number, it does not add
/// to them).
struct PDFPageTree: Sendable {
    /// `/Type /Pages` nodes by object number, with their `/Count`.
    private var pagesNodes: [Int: Int?] = [:]
    /// The `/Count` of the last page-tree root (a `/Pages` node without `/Parent`) seen.
    private var lastRootCount: Int?
    /// Object numbers of `/Type /Page` leaves, for the fallback count.
    private var pageObjects: Set<Int> = []
    /// Catalogs by object number, with their `/Pages` reference.
    private var catalogs: [Int: Int] = [:]
    private var lastCatalog: Int?
    /// The last trailer's (or cross-reference stream's) `/Root`.
    private var rootReference: Int?
    /// Set when part of the file could not be read (an object stream that could
    /// not be decoded, too many objects): the fallback count is then not trusted.
    var incomplete = false
    private let maxTrackedObjects: Int

    init(maxTrackedObjects: Int) {
        self.maxTrackedObjects = maxTrackedObjects
    }

    /// Records one object's dictionary.
    mutating func record(object number: Int, _ summary: PDFDictionarySummary) {
        guard number >= 0 else { return }
        if summary.kind == .page {
            if pageObjects.count < maxTrackedObjects || pageObjects.contains(number) {
                pageObjects.insert(number)
            } else {
                incomplete = true
            }
        } else if !pageObjects.isEmpty {
            pageObjects.remove(number)
        }

        if summary.kind == .pages {
            let count = summary.count.flatMap { $0 >= 0 ? $0 : nil }
            if pagesNodes.count < maxTrackedObjects || pagesNodes[number] != nil {
                pagesNodes[number] = .some(count)
            } else {
                incomplete = true
            }
            if !summary.hasParent, let count {
                lastRootCount = count
            }
        } else if !pagesNodes.isEmpty {
            pagesNodes.removeValue(forKey: number)
        }

        if summary.kind == .catalog {
            if let pages = summary.pagesReference, catalogs.count < maxTrackedObjects || catalogs[number] != nil {
                catalogs[number] = pages
            }
            lastCatalog = number
        }

        if summary.kind == .crossReferenceStream, let root = summary.rootReference {
            rootReference = root
        }
    }

    /// Records a classic `trailer` dictionary.
    mutating func recordTrailer(_ summary: PDFDictionarySummary) {
        if let root = summary.rootReference { rootReference = root }
    }

    /// The page count, or nil when the file does not tell it.
    ///
    /// 1. The `/Count` of the `/Pages` node that the catalog named by the last
    ///    trailer's `/Root` points to.
    /// 2. Otherwise, when nothing was unreadable, the last root `/Count` seen.
    /// 3. Otherwise, when nothing was unreadable, the number of distinct
    ///    `/Type /Page` objects.
    func pageCount() -> Int? {
        if let catalog = rootReference ?? lastCatalog, let pages = catalogs[catalog],
            let node = pagesNodes[pages], let count = node
        {
            return count
        }
        guard !incomplete else { return nil }
        if let lastRootCount { return lastRootCount }
        return pageObjects.isEmpty ? nil : pageObjects.count
    }
}
