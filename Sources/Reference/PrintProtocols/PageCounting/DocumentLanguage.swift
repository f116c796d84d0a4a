/// A page description language we can recognise.
///
/// Recognition is by the job's own signature (`%!`, `%PDF-`, a PCL escape, a
/// PCL XL stream header) and, failing that, by the PJL `@PJL ENTER LANGUAGE=`
/// that introduced it. Anything else is `.unknown`: it is never counted by guesswork.
public enum DocumentLanguage: String, Sendable, Codable, Hashable {
    /// Adobe PostScript, counted by its DSC `%%Page:` comments.
    case postScript = "postscript"
    /// PDF, counted by its page tree's `/Count`.
    case pdf
    /// HP PCL 5 (and the PCL 3 family), counted by its page ejects.
    case pcl
    /// HP PCL XL (PCL 6), counted by its `EndPage` operators.
    case pclXL = "pclxl"
    /// Data we do not count: plain text, raster formats, noise.
    case unknown
}
