import NIOCore
import PrintProtocols
import PrintplaneCore

/// Wraps a document in the PJL job the profile asks for (DESIGN.md §5): UEL,
/// `@PJL JOB NAME=<job ID>`, the user, `DUPLEX`/`BINDING`, `COPIES` (RAW only: LPR
/// repeats the print line instead), `RENDERMODE`, paper and tray, `ENTER LANGUAGE`,
/// the document, then `EOJ` and UEL. The job ID in `JOB NAME` is what lets the
/// printer's record be matched with the metadata the cloud receives.
public enum PrintJobFormatter {
    public static func payload(document: ByteBuffer, language: DocumentLanguage, profile: PrintProfile, jobID: JobID, user: String, protocol: PrinterProtocol) -> ByteBuffer {
        var settings: [(String, String)] = [("USERNAME", "\"\(PJL.sanitized(user))\"")]
        switch profile.duplex {
        case .simplex: settings.append(("DUPLEX", "OFF"))
        case .longEdge: settings += [("DUPLEX", "ON"), ("BINDING", "LONGEDGE")]
        case .shortEdge: settings += [("DUPLEX", "ON"), ("BINDING", "SHORTEDGE")]
        }
        if `protocol` == .raw { settings.append(("COPIES", String(profile.copies))) }
        settings.append(("RENDERMODE", profile.color ? "COLOR" : "GRAYSCALE"))
        settings.append(("PAPER", PJL.sanitized(profile.paper).uppercased().replacingOccurrences(of: " ", with: "")))
        if let tray = profile.tray { settings.append(("MEDIASOURCE", PJL.sanitized(tray).uppercased().replacingOccurrences(of: " ", with: ""))) }
        let enter: String? = switch language {
        case .postScript: "POSTSCRIPT"
        case .pdf: "PDF"
        case .pcl: "PCL"
        case .pclXL: "PCLXL"
        case .unknown: nil
        }
        var header = ByteBuffer()
        header.writeBytes(PJL.universalExitLanguage)
        header.writeString("@PJL USTATUS JOB=ON\r\n")
        header.writeString("@PJL JOB NAME=\"\(PJL.sanitized(jobID.rawValue))\"\r\n")
        for (key, value) in settings { header.writeString("@PJL SET \(key)=\(value)\r\n") }
        if let enter { header.writeString("@PJL ENTER LANGUAGE=\(enter)\r\n") }
        var out = ByteBuffer()
        out.reserveCapacity(header.readableBytes + document.readableBytes + 64)
        out.writeImmutableBuffer(header)
        out.writeImmutableBuffer(document)
        out.writeImmutableBuffer(PJL.jobTrailer(name: jobID.rawValue))
        return out
    }
}
