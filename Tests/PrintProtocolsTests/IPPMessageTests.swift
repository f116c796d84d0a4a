import Foundation
import NIOCore
import Testing

@testable import PrintProtocols

@Suite("IPP messages (RFC 8010)")
struct IPPMessageTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ipp")

    static func fixture(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    /// RFC 8010 Appendix A.1, "Print-Job Request", byte for byte.
    static let rfcPrintJob: [UInt8] = {
        func attribute(_ tag: UInt8, _ name: String, _ value: [UInt8]) -> [UInt8] {
            [tag, UInt8(name.utf8.count >> 8), UInt8(name.utf8.count & 0xFF)] + Array(name.utf8) + [UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
        }
        return [0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01]
            + attribute(0x47, "attributes-charset", Array("utf-8".utf8))
            + attribute(0x48, "attributes-natural-language", Array("en-us".utf8))
            + attribute(0x45, "printer-uri", Array("ipp://printer.example.com/ipp/print/pinetree".utf8))
            + attribute(0x42, "job-name", Array("foobar".utf8))
            + attribute(0x22, "ipp-attribute-fidelity", [0x01])
            + [0x03] + Array("%!PS...".utf8)
    }()

    @Test("RFC 8010 A.1: decodes to the message the RFC describes and encodes back to the same bytes")
    func rfcVector() throws {
        let message = try IPPMessage(parsing: ByteBuffer(bytes: Self.rfcPrintJob))
        #expect(message.version == .v1_1)
        #expect(message.code == 0x0002)
        #expect(message.requestID == 1)
        #expect(message.groups == [IPPAttributeGroup(tag: .operation, attributes: [
            IPPAttribute("attributes-charset", .charset("utf-8")),
            IPPAttribute("attributes-natural-language", .naturalLanguage("en-us")),
            IPPAttribute("printer-uri", .uri("ipp://printer.example.com/ipp/print/pinetree")),
            IPPAttribute("job-name", .name("foobar")),
            IPPAttribute("ipp-attribute-fidelity", .boolean(true)),
        ])])
        #expect(String(buffer: message.data) == "%!PS...")
        #expect(Array(try message.encoded().readableBytesView) == Self.rfcPrintJob)
    }

    @Test("our CUPS-Get-Printers request is the one captured against CUPS 2.4 (which answered it)")
    func requestVector() throws {
        let names = ["printer-name", "printer-info", "printer-location", "printer-make-and-model", "device-uri", "printer-type",
                     "sides-default", "print-color-mode-default", "media-default", "copies-default", "media-col-default"]
        let request = IPPMessage.request(.cupsGetPrinters, requestID: 7, operationAttributes: [IPPAttribute("requested-attributes", values: names.map { .keyword($0) })])
        #expect(try request.encoded() == (try Self.fixture("cups-get-printers-request.bin")))
    }

    @Test("a real CUPS 2.4 answer: queues, repeated attributes (first wins), a class, a collection; re-encodes losslessly")
    func cupsAnswer() throws {
        let bytes = try Self.fixture("cups-2.4-get-printers-response.bin")
        let answer = try IPPMessage(parsing: bytes)
        #expect(answer.status == .successfulOK)
        #expect(answer.requestID == 7)
        let printers = answer.groups(.printer)
        #expect(printers.compactMap { $0["printer-name"]?.string } == ["Annex-LPR", "Floor2-HP", "Pool"])
        let floor = try #require(printers.first { $0["printer-name"]?.string == "Floor2-HP" })
        #expect(floor["device-uri"]?.values == [.uri("socket://10.1.2.30:9100")])
        #expect(floor["printer-location"]?.string == "Building A, floor 2")
        #expect(floor["sides-default"]?.string == "two-sided-long-edge", "CUPS repeats it with the PPD's one-sided after; the first is the queue's")
        #expect(floor.attributes.filter { $0.name == "sides-default" }.count == 2)
        #expect(floor["media-default"]?.string == "iso_a4_210x297mm")
        guard case .collection(let members)? = floor["media-col-default"]?.values.first else {
            Issue.record("media-col-default is not a collection")
            return
        }
        guard case .collection(let size)? = members.first(where: { $0.name == "media-size" })?.values.first else {
            Issue.record("media-size is not a collection")
            return
        }
        // CUPS derives media-col-default from the PPD (Letter, 215.9 mm) even when the queue's
        // media-default option says A4: the import reads media-default.
        #expect(size.first { $0.name == "x-dimension" }?.integer == 21590)
        let pool = try #require(printers.first { $0["printer-name"]?.string == "Pool" })
        #expect((pool["printer-type"]?.integer ?? 0) & 1 == 1, "a class")
        #expect(try answer.encoded() == bytes, "every value kept, in order")
    }

    @Test("every value syntax and nested collections round-trip")
    func roundTrip() throws {
        let message = IPPMessage(code: 0x0000, requestID: -5, groups: [
            IPPAttributeGroup(tag: .operation, attributes: [IPPAttribute("attributes-charset", .charset("utf-8"))]),
            IPPAttributeGroup(tag: .printer, attributes: [
                IPPAttribute("numbers", .integer(Int32.min), .integer(0), .integer(Int32.max)),
                IPPAttribute("state", .enumeration(3)),
                IPPAttribute("ok", .boolean(false)),
                IPPAttribute("bytes", .octetString([0, 1, 255])),
                IPPAttribute("when", .dateTime([7, 234, 12, 7, 13, 5, 9, 0, 43, 0, 0])),
                IPPAttribute("resolution", .resolution(crossFeed: 600, feed: 1200, units: 3)),
                IPPAttribute("range", .rangeOfInteger(lower: 1, upper: 999)),
                IPPAttribute("texts", .textWithLanguage(language: "de", text: "Büro 2"), .nameWithLanguage(language: "fr", name: "Étage"), .text("plain")),
                IPPAttribute("strings", .name("n"), .keyword("k"), .uri("ipp://h/"), .uriScheme("ipps"), .naturalLanguage("en"), .mimeMediaType("application/pdf")),
                IPPAttribute("nothing", .outOfBand(0x13)),
                IPPAttribute("future", .other(tag: 0x4F, bytes: [1, 2])),
                IPPAttribute("media-col", .collection([
                    IPPAttribute("media-size", .collection([IPPAttribute("x-dimension", .integer(21000)), IPPAttribute("y-dimension", .integer(29700))])),
                    IPPAttribute("media-type", .keyword("stationery"), .keyword("photographic")),
                ]), .collection([IPPAttribute("media-source", .keyword("tray-1"))])),
            ]),
            IPPAttributeGroup(tag: .job, attributes: []),
        ], data: ByteBuffer(string: "data"))
        let decoded = try IPPMessage(parsing: try message.encoded())
        #expect(decoded == message)
    }

    @Test("every truncation of a real answer is an error, never a crash or a partial message")
    func truncations() throws {
        let bytes = Array(try Self.fixture("cups-2.4-get-printers-response.bin").readableBytesView)
        // The last byte of the attributes section is the end-of-attributes tag; any shorter
        // prefix must fail (the data section is empty here).
        for length in 0..<bytes.count {
            #expect(throws: IPPCodecError.self, "prefix of \(length) bytes") { try IPPMessage(parsing: ByteBuffer(bytes: bytes[0..<length])) }
        }
    }

    @Test("malformed input gets an error that says what is wrong", arguments: [
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x21, 0x00, 0x01, 0x61, 0x00, 0x03, 1, 2, 3, 0x03] as [UInt8], "integer value of 3 bytes"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21, 0x00, 0x01, 0x61, 0x00, 0x00, 0x03], "value tag 0x21 where a group must begin"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x22, 0x00, 0x01, 0x61, 0x00, 0x01, 0x02, 0x03], "boolean value 2"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x44, 0x00, 0x00, 0x00, 0x01, 0x61, 0x03], "additional value with no attribute"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x37, 0x00, 0x01, 0x61, 0x00, 0x00, 0x03], "endCollection outside a collection"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x7F, 0x00, 0x01, 0x61, 0x00, 0x00, 0x03], "extension value tag"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x35, 0x00, 0x01, 0x61, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x03], "language longer than its value"),
        ([0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x34, 0x00, 0x01, 0x61, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1, 0x37, 0x00, 0x00, 0x00, 0x00, 0x03], "collection value without a memberAttrName"),
    ])
    func malformed(_ bytes: [UInt8], _ why: String) {
        let error = #expect(throws: IPPCodecError.self) { try IPPMessage(parsing: ByteBuffer(bytes: bytes)) }
        #expect(error.map { "\($0)".contains(why) } == true, "\(String(describing: error))")
    }

    @Test("limits: deep nesting and too many attributes are refused without exhausting memory or stack")
    func limits() throws {
        var nested = IPPValue.integer(1)
        for _ in 0..<40 { nested = .collection([IPPAttribute("m", nested)]) }
        let deep = IPPMessage(code: 0, requestID: 1, groups: [IPPAttributeGroup(tag: .printer, attributes: [IPPAttribute("deep", nested)])])
        let error = #expect(throws: IPPCodecError.self) { try IPPMessage(parsing: try deep.encoded()) }
        #expect(error.map { "\($0)".contains("nested deeper than 16") } == true)

        var limits = IPPMessage.Limits()
        limits.maximumAttributes = 10
        let wide = IPPMessage(code: 0, requestID: 1, groups: [IPPAttributeGroup(tag: .printer, attributes: (0..<11).map { IPPAttribute("a\($0)", .integer(1)) })])
        #expect(throws: IPPCodecError.tooLarge("more than 10 attributes")) { try IPPMessage(parsing: try wide.encoded(), limits: limits) }
    }

    @Test("random bytes never crash the decoder")
    func garbage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? IPPMessage(parsing: ByteBuffer(bytes: bytes))
        }
    }
}
