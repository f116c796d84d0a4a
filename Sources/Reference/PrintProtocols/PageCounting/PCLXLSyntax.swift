/// The token grammar of PCL XL (HP "PCL XL Feature Reference Protocol Class
/// 2.0/2.1/3.0"), as one table indexed by tag byte: what each tag is, how many
/// bytes follow it, and in which parser states it is legal.
///
/// The states and their checks are GhostPCL's (`pcl/pxl/pxparse.c`), so a
/// stream the reference interpreter rejects is rejected here too:
///
///     bit 0x01  in a session (BeginSession … EndSession)
///     bit 0x02  in a page (BeginPage … EndPage)
///     bit 0x04  a data value was read and waits for its attribute ID
///     0x38      reading: 0x08 stream, 0x10 raster pattern, 0x18 char,
///               0x20 font header, 0x28 image, 0x30 scan lines
///
/// A tag is legal when `state & mask == value`; the state then becomes
/// `state ^ transition`.
enum PCLXLSyntax {
    enum Kind: UInt8, Sendable {
        /// Not a legal tag: an undefined operator or data type, or a stray byte.
        case illegal
        /// NUL, HT, LF, VT, FF, CR and space between tokens.
        case whiteSpace
        /// ESC: only the start of a UEL, which the job splitter has already cut.
        case escape
        /// A scalar, xy pair or box: `size` bytes follow the tag.
        case value
        /// An array: a length (itself a ubyte or uint16 scalar) and `elementSize` × length bytes.
        case array
        /// An attribute ID: `0xF8` + one byte or `0xF9` + two bytes.
        case attribute
        /// Embedded data: `0xFA` + uint32 length or `0xFB` + ubyte length, then the data.
        case data
        case `operator`
    }

    struct Entry: Sendable {
        var kind: Kind
        /// Bytes after the tag (values, attribute IDs, data lengths); element size for arrays.
        var size: UInt8
        var value: UInt8
        var mask: UInt8
        var transition: UInt8
        /// For values: the low three bits of the tag (0 ubyte … 5 real32).
        var scalarType: UInt8
    }

    static let inSession: UInt8 = 0x01
    static let inPage: UInt8 = 0x02
    static let data: UInt8 = 0x04
    static let reading: UInt8 = 0x38
    static let readingStream: UInt8 = 0x08
    static let readingRasterPattern: UInt8 = 0x10
    static let readingChar: UInt8 = 0x18
    static let readingFont: UInt8 = 0x20
    static let readingImage: UInt8 = 0x28
    static let readingScan: UInt8 = 0x30
    static let executingStream: UInt8 = 0x40
    /// No pending value and not inside a Begin…/End… reading sequence.
    static let normal: UInt8 = data | reading

    // Operators this scanner acts on.
    static let beginSession: UInt8 = 0x41
    static let endSession: UInt8 = 0x42
    static let beginPage: UInt8 = 0x43
    static let endPage: UInt8 = 0x44
    static let vendorUnique: UInt8 = 0x46
    static let execStream: UInt8 = 0x5E
    static let passthrough: UInt8 = 0xBF

    // Attributes this scanner reads.
    static let pageCopies = 49
    static let vendorUniqueDataLength = 146

    /// Byte sizes of the six scalar types, by the low three bits of a value tag.
    static func scalarSize(_ type: UInt8) -> Int {
        switch type {
        case 0: return 1  // ubyte
        case 1, 3: return 2  // uint16, sint16
        default: return 4  // uint32, sint32, real32
        }
    }

    static let table: [Entry] = {
        let illegal = Entry(kind: .illegal, size: 0, value: 0, mask: 0, transition: 0, scalarType: 0)
        var table = [Entry](repeating: illegal, count: 256)
        func op(_ tag: Int, _ value: UInt8, _ mask: UInt8, _ transition: UInt8 = 0) {
            table[tag] = Entry(kind: .operator, size: 0, value: value, mask: mask, transition: transition, scalarType: 0)
        }
        // Ordinary operators need a page; control operators a session (GhostPCL's P and C).
        func page(_ tag: Int) { op(tag, inPage, inPage | normal) }
        func control(_ tag: Int) { op(tag, inSession, inSession | normal) }
        // Reading operators: Begin…, Read…, End… of fonts, characters, images, patterns, scans.
        func reading(_ tag: Int, page: Bool, requires: UInt8, toggles: UInt8) {
            let pageBit = page ? inPage : 0
            op(tag, inSession | pageBit | requires, inSession | pageBit | normal, toggles)
        }

        for tag in [0x00, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20] {
            table[tag] = Entry(kind: .whiteSpace, size: 0, value: 0, mask: 0, transition: 0, scalarType: 0)
        }
        table[0x1B] = Entry(kind: .escape, size: 0, value: 0, mask: 0, transition: 0, scalarType: 0)

        op(0x41, 0, inSession | normal, inSession)  // BeginSession
        op(0x42, inSession, inSession | inPage | normal, inSession)  // EndSession
        op(0x43, inSession, inSession | inPage | normal, inPage)  // BeginPage
        op(0x44, inPage, inPage | normal, inPage)  // EndPage
        op(0x46, inSession, inSession)  // VendorUnique
        control(0x47)  // Comment
        control(0x48)  // OpenDataSource
        control(0x49)  // CloseDataSource
        reading(0x4F, page: false, requires: 0, toggles: readingFont)  // BeginFontHeader
        reading(0x50, page: false, requires: readingFont, toggles: 0)  // ReadFontHeader
        reading(0x51, page: false, requires: readingFont, toggles: readingFont)  // EndFontHeader
        reading(0x52, page: false, requires: 0, toggles: readingChar)  // BeginChar
        reading(0x53, page: false, requires: readingChar, toggles: 0)  // ReadChar
        reading(0x54, page: false, requires: readingChar, toggles: readingChar)  // EndChar
        control(0x55)  // RemoveFont
        for tag in 0x56...0x58 { page(tag) }  // SetCharAttributes, SetDefaultGS, SetColorTreatment
        op(0x5B, inSession, inSession | executingStream | normal, readingStream)  // BeginStream
        op(0x5C, inSession | readingStream, inSession | executingStream | normal)  // ReadStream
        op(0x5D, inSession | readingStream, inSession | executingStream | normal, readingStream)  // EndStream
        op(0x5E, inSession, inSession | readingStream | normal)  // ExecStream
        page(0x5F)  // RemoveStream
        for tag in 0x60...0x86 { page(tag) }  // graphics state, clipping, paths: PopGS … PaintPath
        for tag in [0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9B, 0x9D, 0x9E, 0x9F] { page(tag) }
        for tag in [0xA0, 0xA1, 0xA2, 0xA3, 0xA8, 0xA9] { page(tag) }  // rectangles, Text, TextPath
        reading(0xB0, page: true, requires: 0, toggles: readingImage)  // BeginImage
        reading(0xB1, page: true, requires: readingImage, toggles: 0)  // ReadImage
        reading(0xB2, page: true, requires: readingImage, toggles: readingImage)  // EndImage
        reading(0xB3, page: true, requires: 0, toggles: readingRasterPattern)  // BeginRastPattern
        reading(0xB4, page: true, requires: readingRasterPattern, toggles: 0)  // ReadRastPattern
        reading(0xB5, page: true, requires: readingRasterPattern, toggles: readingRasterPattern)  // EndRastPattern
        reading(0xB6, page: true, requires: 0, toggles: readingScan)  // BeginScan
        reading(0xB8, page: true, requires: readingScan, toggles: readingScan)  // EndScan
        reading(0xB9, page: true, requires: readingScan, toggles: 0)  // ScanLineRel
        page(0xBF)  // Passthrough

        // Scalars, xy pairs and boxes of ubyte, uint16, uint32, sint16, sint32, real32.
        for (base, count) in [(0xC0, 1), (0xD0, 2), (0xE0, 4)] {
            for type in 0..<6 {
                let size = UInt8(scalarSize(UInt8(type)) * count)
                table[base + type] = Entry(kind: .value, size: size, value: 0, mask: data, transition: data, scalarType: UInt8(type))
            }
        }
        for type in 0..<6 {
            table[0xC8 + type] = Entry(
                kind: .array, size: UInt8(scalarSize(UInt8(type))), value: 0, mask: data, transition: data, scalarType: UInt8(type))
        }
        table[0xF8] = Entry(kind: .attribute, size: 1, value: data, mask: data, transition: data, scalarType: 0)
        table[0xF9] = Entry(kind: .attribute, size: 2, value: data, mask: data, transition: data, scalarType: 0)
        table[0xFA] = Entry(kind: .data, size: 4, value: 0, mask: 0, transition: 0, scalarType: 0)
        table[0xFB] = Entry(kind: .data, size: 1, value: 0, mask: 0, transition: 0, scalarType: 0)
        return table
    }()
}
