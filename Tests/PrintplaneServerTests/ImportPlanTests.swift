import Foundation
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneServer

@Suite("Import plan: CUPS queues to printers, profiles and drivers")
struct ImportPlanTests {
    @Test("device URIs the agent can print to become printers; others are skipped with the reason", arguments: [
        ("socket://10.1.2.30", "raw 10.1.2.30:9100"),
        ("socket://10.1.2.30:9101?waiteof=false", "raw 10.1.2.30:9101"),
        ("socket://printer-7.corp.example.com", "raw printer-7.corp.example.com:9100"),
        ("socket://[2001:db8::7]:9100", "raw 2001:db8::7:9100"),
        ("lpd://10.1.9.4/queue1", "lpr 10.1.9.4:515 queue queue1"),
        ("lpd://10.1.9.4:5515/Sales%20Team?reserve=none", "lpr 10.1.9.4:5515 queue Sales Team"),
        ("lpd://10.1.9.4", "lpr 10.1.9.4:515 queue lp"),
        ("beh:/1/3/5/socket://10.1.9.6:9100", "raw 10.1.9.6:9100"),
        ("ipps://printer.example.com/ipp/print", "skipped: prints through ipps://"),
        ("ipp://10.0.0.1/printers/x", "skipped: prints through ipp://"),
        ("usb://HP/LaserJet?serial=1", "skipped: prints through usb://"),
        ("dnssd://Printer._ipp._tcp.local/", "skipped: prints through dnssd://"),
        ("socket://", "skipped: device URI socket:// names no usable host"),
        ("socket://10.1.2.3:0", "skipped: device URI socket://10.1.2.3:0 has port 0"),
        ("beh:/1/3/socket", "skipped: a beh device URI that does not wrap another"),
        ("not a uri at all", "skipped: device URI not a uri at all is not a URI"),
    ])
    func devices(_ uri: String, _ expected: String) {
        let plan = ImportPlan.make(from: [CUPSQueue(name: "q", deviceURI: uri)], site: nil)
        if let printer = plan.printers.first {
            let target = printer.protocol == .raw ? "raw \(printer.address):\(printer.port)" : "lpr \(printer.address):\(printer.port) queue \(printer.lprQueue ?? "")"
            #expect(target == expected)
        } else {
            #expect(expected.hasPrefix("skipped: "))
            #expect(plan.skipped.first.map { $0.reason.contains(expected.dropFirst("skipped: ".count)) } == true, "\(plan.skipped)")
        }
    }

    @Test("classes and queues without a device are skipped; names are made safe and kept unique")
    func namesAndSkips() {
        let plan = ImportPlan.make(from: [
            CUPSQueue(name: "Pool", deviceURI: nil, isClass: true),
            CUPSQueue(name: "NoDevice"),
            CUPSQueue(name: "Büro@2", deviceURI: "socket://10.0.0.1"),
            CUPSQueue(name: "B-ro-2", deviceURI: "socket://10.0.0.2"),
            CUPSQueue(name: "a..b", deviceURI: "socket://10.0.0.3"),
        ], site: "HQ")
        #expect(plan.skipped.map(\.queue) == ["NoDevice", "Pool"])
        #expect(plan.skipped.first { $0.queue == "Pool" }?.reason.contains("class") == true)
        #expect(Set(plan.printers.map(\.name)) == ["B-ro-2", "B-ro-2-2", "a.-b"])
        #expect(plan.printers.allSatisfy { DriverManifest.isSafeField($0.name) && $0.site == "HQ" })
        #expect(plan.printers.first { $0.queue == "Büro@2" }?.notes.first?.contains("characters Printplane does not allow") == true)
    }

    @Test("job defaults become a profile; unknown values leave a note instead of a guess", arguments: [
        (CUPSQueue(name: "q", sides: "two-sided-short-edge", colorMode: "color", media: "na_legal_8.5x14in", copies: 2), PrintProfile(duplex: .shortEdge, color: true, paper: "Legal", copies: 2), 0),
        (CUPSQueue(name: "q", sides: "one-sided", colorMode: "monochrome", media: "Letter"), PrintProfile(duplex: .simplex, color: false, paper: "Letter"), 0),
        (CUPSQueue(name: "q", colorMode: "auto", media: "iso_a3_297x420mm", copies: 5000), PrintProfile(color: true, paper: "A3", copies: 999), 0),
        (CUPSQueue(name: "q", sides: "booklet", colorMode: "sepia", media: "custom_100x100mm"), PrintProfile(), 3),
    ])
    func profiles(_ queue: CUPSQueue, _ expected: PrintProfile, _ notes: Int) {
        let (profile, found) = ImportPlan.profile(for: queue)
        #expect(profile == expected)
        #expect(found.count == notes, "\(found)")
    }

    @Test("a PPD becomes one driver per distinct content, versioned by FileVersion and digest")
    func drivers() {
        let ppd = ByteBuffer(string: "*PPD-Adobe: \"4.3\"\n*FileVersion: \"1.1\"\n*NickName: \"Acme Laser/9 (PCL) 'Pro'\"\n")
        let other = ByteBuffer(string: "*PPD-Adobe: \"4.3\"\n*NickName: \"Acme Laser/9 (PCL) 'Pro'\"\n*DefaultDuplex: DuplexNoTumble\n")
        let plan = ImportPlan.make(from: [
            CUPSQueue(name: "a", deviceURI: "socket://10.0.0.1", ppd: ppd),
            CUPSQueue(name: "b", deviceURI: "socket://10.0.0.2", ppd: ppd),
            CUPSQueue(name: "c", deviceURI: "socket://10.0.0.3", ppd: other),
            CUPSQueue(name: "d", deviceURI: "socket://10.0.0.4", ppd: ByteBuffer()),
        ], site: nil)
        #expect(plan.drivers.count == 2)
        #expect(plan.printers.first { $0.queue == "a" }?.driverSHA256 == plan.printers.first { $0.queue == "b" }?.driverSHA256)
        #expect(plan.printers.first { $0.queue == "d" }?.driverSHA256 == nil, "an empty PPD is no driver")
        let first = plan.drivers[0]
        #expect(first.name == "Acme Laser 9 PCL Pro")
        #expect(first.version == "1.1+" + first.sha256.prefix(8))
        #expect(plan.drivers[1].version.hasPrefix("1+"), "no FileVersion: version 1")
        #expect(plan.drivers.allSatisfy { DriverManifest.isSafeField($0.name) && DriverManifest.isSafeField($0.version) && $0.os == "cups-ppd" })
    }

    @Test("PPD defaults, with constraints against installable options as CUPS applies them")
    func ppdSummary() {
        let text = """
            *PPD-Adobe: "4.3"
            *% *DefaultDuplex: DuplexTumble (a comment)
            *UIConstraints:	*Duplex *OptionDuplex False
            *UIConstraints:	*OptionDuplex False *Duplex
            *OpenUI *Duplex/Double-Sided Printing: PickOne
            *DefaultDuplex: DuplexNoTumble
            *Duplex None/Off: "<</Duplex false>>setpagedevice"
            *DefaultOptionDuplex: False
            *DefaultPageSize: A4
            *DefaultColorModel: Gray
            *NickName: "Acme"
            """
        let summary = PPDSummary(text)
        #expect(summary.defaults["Duplex"] == "DuplexNoTumble")
        #expect(summary.sides == "one-sided", "no duplexer fitted by default")
        #expect(PPDSummary(text.replacingOccurrences(of: "*DefaultOptionDuplex: False", with: "*DefaultOptionDuplex: True")).sides == "two-sided-long-edge")
        #expect(summary.pageSize == "A4")
        #expect(summary.colorMode == "monochrome")
        #expect(PPDSummary("*DefaultColorModel: CMYK").colorMode == "color")
        #expect(PPDSummary("garbage\n*\n*:\n*Default: x").sides == nil)
    }

    @Test("printers.conf: queues, options over PPD defaults, and clear errors with line numbers")
    func printersConf() throws {
        let text = """
            # Printer configuration file for CUPS v2.4.2
            NextPrinterId 3
            <Printer Floor2-HP>
            Info HP colour, floor 2
            Location Building A, floor 2
            MakeModel HP Color LaserJet CM3530 MFP PDF
            DeviceURI socket://10.1.2.30:9100
            Type 4124
            Option media iso_a4_210x297mm
            Option sides two-sided-long-edge
            </Printer>
            <DefaultPrinter Annex>
            DeviceURI lpd://10.1.9.4/queue1
            Location
            </Printer>
            """
        let queues = try CUPSPrintersConf.queues(text)
        #expect(queues == [
            CUPSQueue(name: "Floor2-HP", info: "HP colour, floor 2", location: "Building A, floor 2", makeAndModel: "HP Color LaserJet CM3530 MFP PDF",
                      deviceURI: "socket://10.1.2.30:9100", sides: "two-sided-long-edge", media: "iso_a4_210x297mm"),
            CUPSQueue(name: "Annex", deviceURI: "lpd://10.1.9.4/queue1"),
        ])
        for (broken, line, problem) in [
            ("<Printer A>\nDeviceURI socket://x\n", 3, "ends inside"),
            ("</Printer>\n", 1, "closes no section"),
            ("<Printer A>\n<Printer B>\n", 2, "inside another"),
            ("<Class Pool>\n</Class>\n", 1, "unknown section"),
            ("<Printer A\n", 1, "closing '>'"),
        ] {
            let error = #expect(throws: CUPSPrintersConf.Failure.self) { try CUPSPrintersConf.queues(broken) }
            #expect(error?.line == line && error?.problem.contains(problem) == true, "\(String(describing: error))")
        }
    }
}
