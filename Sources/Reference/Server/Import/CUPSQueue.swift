import NIOCore
import PrintProtocols

/// One queue of a CUPS print server, as `printplane import` reads it: over IPP
/// (`CUPS-Get-Printers`, `CUPS-Get-PPD`) or from a copy of the server's `printers.conf`
/// and `ppd/` directory.
public struct CUPSQueue: Sendable, Hashable {
    /// The queue name (`printer-name`).
    public var name: String
    public var info: String?
    public var location: String?
    public var makeAndModel: String?
    /// Where CUPS sends the queue's jobs: `socket://…`, `lpd://…`, `ipp://…`, `usb://…`.
    public var deviceURI: String?
    /// A class (a pool of queues) rather than a printer: nothing to print to directly.
    public var isClass: Bool
    /// The queue's job defaults, as CUPS keywords.
    public var sides: String?
    public var colorMode: String?
    public var media: String?
    public var copies: Int?
    /// The PPD, when the queue has one (driverless and raw queues do not).
    public var ppd: ByteBuffer?

    public init(
        name: String, info: String? = nil, location: String? = nil, makeAndModel: String? = nil, deviceURI: String? = nil,
        isClass: Bool = false, sides: String? = nil, colorMode: String? = nil, media: String? = nil, copies: Int? = nil, ppd: ByteBuffer? = nil
    ) {
        self.name = name
        self.info = info
        self.location = location
        self.makeAndModel = makeAndModel
        self.deviceURI = deviceURI
        self.isClass = isClass
        self.sides = sides
        self.colorMode = colorMode
        self.media = media
        self.copies = copies
        self.ppd = ppd
    }

    /// The attributes `CUPS-Get-Printers` is asked for.
    static let requestedAttributes = [
        "printer-name", "printer-info", "printer-location", "printer-make-and-model", "device-uri", "printer-type",
        "sides-default", "print-color-mode-default", "media-default", "copies-default",
    ]

    /// `printer-type` bit for a class (CUPS `cups_ptype_e`: `CUPS_PRINTER_CLASS`).
    static let classBit: Int32 = 0x0001

    /// A queue from one printer-attributes group; `nil` without a `printer-name`.
    init?(_ group: IPPAttributeGroup) {
        guard let name = group["printer-name"]?.string, !name.isEmpty else { return nil }
        func text(_ attribute: String) -> String? {
            guard let value = group[attribute]?.string, !value.isEmpty else { return nil }
            return value
        }
        self.init(
            name: name, info: text("printer-info"), location: text("printer-location"), makeAndModel: text("printer-make-and-model"),
            deviceURI: text("device-uri"), isClass: (group["printer-type"]?.integer ?? 0) & Self.classBit != 0,
            sides: text("sides-default"), colorMode: text("print-color-mode-default"), media: text("media-default"),
            copies: group["copies-default"]?.integer.map(Int.init))
    }
}
