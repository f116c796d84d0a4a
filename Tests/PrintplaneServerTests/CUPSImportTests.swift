import Crypto
import Foundation
import NIOCore
import PrintplaneCore
import Testing

@testable import PrintplaneServer

/// `printplane import cups` against a real CUPS scheduler (queues made by the real `lpadmin`
/// with PPDs from Debian's cups-filters) and a real Printplane server over TLS.
@Suite("Import from a real CUPS server", .serialized)
struct CUPSImportTests {
    static let ppds = "/usr/share/ppd/cupsfilters"
    static let colourPPD = ppds + "/HP-Color_LaserJet_CM3530_MFP-PDF.ppd"
    static let monoPPD = ppds + "/pxlmono.ppd"
    static let genericPPD = ppds + "/Generic-PDF_Printer-PDF.ppd"

    /// The queues every test sets up: printers over RAW and LPD with PPDs and defaults, an
    /// IPv6 RAW printer, two queues with identical PPDs, a raw queue without a PPD, an IPPS
    /// queue and a class (both to be skipped).
    static func setUpQueues(_ cups: CUPSDaemon) async throws {
        for ppd in [colourPPD, monoPPD, genericPPD] where !FileManager.default.fileExists(atPath: ppd) {
            Issue.record("\(ppd) is missing: run `bash scripts/bootstrap.sh` (or `apt-get install -y cups-filters`)")
            throw CancellationError()
        }
        try await cups.lpadmin([
            "-p", "Floor2-HP", "-E", "-v", "socket://10.1.2.30:9100", "-P", colourPPD, "-D", "HP colour, floor 2", "-L", "Building A, floor 2",
            "-o", "sides-default=two-sided-long-edge", "-o", "print-color-mode-default=monochrome", "-o", "media-default=iso_a4_210x297mm",
        ])
        try await cups.lpadmin(["-p", "Annex-LPR", "-E", "-v", "lpd://10.1.9.4/queue1", "-P", monoPPD, "-L", "Annex", "-o", "Duplex=DuplexNoTumble"])
        try await cups.lpadmin(["-p", "Mono-A", "-E", "-v", "socket://[fd00::9]:9101", "-P", monoPPD])
        try await cups.lpadmin(["-p", "Mono-B", "-E", "-v", "beh:/1/3/5/socket://10.1.9.6", "-P", monoPPD])
        try await cups.lpadmin(["-p", "Raw-Queue", "-E", "-v", "socket://10.1.9.5"])
        try await cups.lpadmin(["-p", "Cloud-IPP", "-E", "-v", "ipps://printer.example.com/ipp/print", "-P", genericPPD])
        try await cups.lpadmin(["-p", "Floor2-HP", "-c", "Pool"])
    }

    @Test("queues over IPP become printers, profiles and signed drivers; a dry run writes nothing; a second run changes nothing")
    func importOverIPP() async throws {
        try await CUPSDaemon.with { cups in
            try await Self.setUpQueues(cups)
            try await withTestServer { server in
                let admin = AdminClient.Configuration(serverURL: server.baseURL, adminKey: server.adminKey, caPEM: server.caPEM)
                let queues = try await CUPSClient.with(url: cups.url) { try await $0.queues(ppds: true) }
                #expect(Set(queues.map(\.name)) == ["Floor2-HP", "Annex-LPR", "Mono-A", "Mono-B", "Raw-Queue", "Cloud-IPP", "Pool"])
                let plan = ImportPlan.make(from: queues, site: "HQ")

                let dry = try await AdminClient.with(admin) { try await PlanApplier(client: $0).apply(plan, assign: [.everyone], dryRun: true) }
                #expect(dry.outcomes.filter { $0.action == .created }.count == 5)
                #expect(try await AdminClient.with(admin) { try await $0.listPrinters() }.isEmpty, "a dry run writes nothing")

                let report = try await AdminClient.with(admin) { try await PlanApplier(client: $0).apply(plan, assign: [.everyone], dryRun: false) }
                let actions = Dictionary(uniqueKeysWithValues: report.outcomes.map { ($0.queue, $0.action) })
                #expect(actions == [
                    "Floor2-HP": .created, "Annex-LPR": .created, "Mono-A": .created, "Mono-B": .created, "Raw-Queue": .created,
                    "Cloud-IPP": .skipped, "Pool": .skipped,
                ])
                #expect(report.outcomes.first { $0.queue == "Cloud-IPP" }?.detail.contains("ipps://") == true)
                #expect(report.driversUploaded == 3, "Floor2-HP, Annex-LPR and one PPD shared by Mono-A and Mono-B")
                #expect(report.assignmentsCreated == 5)

                let printers = try await AdminClient.with(admin) { try await $0.listPrinters() }
                let byName = Dictionary(uniqueKeysWithValues: printers.map { ($0.name, $0) })
                #expect(byName["Floor2-HP"].map { ($0.address, $0.protocol, $0.port, $0.location, $0.site) } ?? ("", .lpr, 0, nil, nil) == ("10.1.2.30", .raw, 9100, "Building A, floor 2", "HQ"))
                #expect(byName["Annex-LPR"].map { ($0.address, $0.protocol, $0.port, $0.queue) } ?? ("", .raw, 0, nil) == ("10.1.9.4", .lpr, 515, "queue1"))
                #expect(byName["Mono-A"].map { ($0.address, $0.port) } ?? ("", 0) == ("fd00::9", 9101))
                #expect(byName["Mono-B"]?.address == "10.1.9.6", "the beh wrapper is unwrapped")
                #expect(byName["Raw-Queue"].map { ($0.port, $0.driverID) } ?? (0, "x") == (9100, nil))
                #expect(byName["Mono-A"]?.driverID != nil && byName["Mono-A"]?.driverID == byName["Mono-B"]?.driverID)

                // Profiles follow the queues' defaults: options set on the queue, else the PPD's.
                let assignments = try await AdminClient.with(admin) { try await $0.listAssignments() }
                let profiles = Dictionary(uniqueKeysWithValues: try await AdminClient.with(admin) { try await $0.listProfiles() }.map { ($0.id, $0.profile) })
                func profile(_ printer: String) -> PrintProfile? {
                    assignments.first { $0.printerID == byName[printer]?.id }.flatMap { $0.profileID }.flatMap { profiles[$0] }
                }
                #expect(profile("Floor2-HP") == PrintProfile(duplex: .longEdge, color: false, paper: "A4"))
                // Duplex=DuplexNoTumble, but the PPD's duplexer defaults to not installed: CUPS says one-sided.
                #expect(profile("Annex-LPR") == PrintProfile(duplex: .simplex, color: false, paper: "Letter"))
                #expect(profile("Mono-A")?.duplex == .simplex)
                #expect(assignments.allSatisfy { $0.target == .everyone })

                // An agent gets the PPD as a driver: bytes identical to CUPS's, manifest signed by the server.
                let floorPPD = try #require(queues.first { $0.name == "Floor2-HP" }?.ppd)
                let agent = try await server.enrolledAgent()
                let checkIn = try await server.checkIn(agent.deviceCredential)
                let response = try checkIn.decode(CheckInResponse.self)
                let planned = try #require(response.plan?.printers.first { $0.name == "Floor2-HP" }?.driver)
                #expect(planned.manifest.manifest.os == ImportPlan.driverOS)
                let download = try await server.request(.GET, "/api/v1/drivers/\(planned.manifest.manifest.sha256)", bearer: agent.deviceCredential)
                #expect(download.body == Data(floorPPD.readableBytesView))
                let key = try Curve25519.Signing.PublicKey(rawRepresentation: try #require(Data(base64Encoded: agent.driverSigningPublicKey)))
                #expect(throws: Never.self, "digest, size and signature all check out") { try planned.manifest.verify(contents: download.body, publicKey: key) }

                // Again: nothing new.
                let again = try await AdminClient.with(admin) { try await PlanApplier(client: $0).apply(plan, assign: [.everyone], dryRun: false) }
                #expect(again.outcomes.filter { $0.action == .exists }.count == 5)
                #expect(again.driversUploaded == 0 && again.profilesCreated == 0 && again.assignmentsCreated == 0)
                #expect(try await AdminClient.with(admin) { try await $0.listPrinters() }.count == 5)
                #expect(try await AdminClient.with(admin) { try await $0.listAssignments() }.count == 5)
            }
        }
    }

    @Test("a copy of the server's printers.conf and ppd/ gives the same plan as IPP")
    func printersConfMatchesIPP() async throws {
        try await CUPSDaemon.with { cups in
            try await Self.setUpQueues(cups)
            let overIPP = ImportPlan.make(from: try await CUPSClient.with(url: cups.url) { try await $0.queues(ppds: true) }, site: nil)
            await cups.stop()  // cupsd writes printers.conf on its way out
            let text = try String(contentsOf: cups.serverRoot.appendingPathComponent("printers.conf"), encoding: .utf8)
            let fromFiles = ImportPlan.make(from: try CUPSPrintersConf.queues(text, ppdDirectory: cups.serverRoot.appendingPathComponent("ppd").path), site: nil)
            #expect(fromFiles.printers == overIPP.printers)
            #expect(fromFiles.drivers.map(\.sha256).sorted() == overIPP.drivers.map(\.sha256).sorted())
            // The class lives in classes.conf, which the file reader does not read: only Cloud-IPP is skipped.
            #expect(fromFiles.skipped.map(\.queue) == ["Cloud-IPP"])
        }
    }

    @Test("the CLI: a dry run prints the plan, bad flags and an unreachable server are clear errors")
    func commandLine() async throws {
        let binary = try Self.printplaneBinary()
        try await CUPSDaemon.with { cups in
            try await Self.setUpQueues(cups)
            try await withTestServer { server in
                try server.adminKey.write(toFile: server.dataDirectory + "/key-copy", atomically: true, encoding: .utf8)
                let connection = ["--server", server.baseURL, "--admin-key-file", server.dataDirectory + "/key-copy", "--ca-file", server.dataDirectory + "/ca.pem"]
                let dry = try await ChildProcess.run(binary, ["import", "cups", "--from", cups.url, "--dry-run", "--assign", "ip_range:10.1.0.0/16"] + connection)
                #expect(dry.status == 0, "\(dry.output)")
                #expect(dry.output.contains("dry run: import from \(cups.url): 7 queue(s): 5 would create, 0 already there, 2 skipped, 0 failed"), "\(dry.output)")
                #expect(dry.output.contains("Floor2-HP → raw 10.1.2.30:9100, duplex long edge, greyscale, A4, PPD driver"), "\(dry.output)")
                #expect(try await server.admin(.GET, "/api/v1/admin/printers").text == #"{"items":[]}"#)

                let real = try await ChildProcess.run(binary, ["import", "cups", "--from", cups.url, "--only", "Annex-LPR", "--site", "Annex"] + connection)
                #expect(real.status == 0, "\(real.output)")
                #expect(real.output.contains("1 created"), "\(real.output)")

                let badAssign = try await ChildProcess.run(binary, ["import", "cups", "--from", cups.url, "--assign", "ip_range:10.1.0.0/99"] + connection)
                #expect(badAssign.status == 64 && badAssign.output.contains("ip_range"), "\(badAssign.output)")
                let noSource = try await ChildProcess.run(binary, ["import", "cups"] + connection)
                #expect(noSource.status == 64 && noSource.output.contains("--from"), "\(noSource.output)")
                let unknownQueue = try await ChildProcess.run(binary, ["import", "cups", "--from", cups.url, "--only", "Nope"] + connection)
                #expect(unknownQueue.status != 0 && unknownQueue.output.contains("no queue named Nope"), "\(unknownQueue.output)")
                let unreachable = try await ChildProcess.run(binary, ["import", "cups", "--from", "ipp://127.0.0.1:\(try ChildProcess.freePort())"] + connection)
                #expect(unreachable.status != 0 && unreachable.output.contains("cannot reach the CUPS server"), "\(unreachable.output)")
                let notIPP = try await ChildProcess.run(binary, ["import", "cups", "--from", server.baseURL.replacingOccurrences(of: "https", with: "ipps"), "--ipp-ca-file", server.dataDirectory + "/ca.pem"] + connection)
                #expect(notIPP.status != 0 && notIPP.output.contains("is it a CUPS server?"), "\(notIPP.output)")
            }
        }
    }

    static func printplaneBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PRINTPLANE_BIN"] { return path }
        let candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("printplane").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            Issue.record("\(candidate) is missing: run `swift build --build-tests` first (or set PRINTPLANE_BIN)")
            throw CancellationError()
        }
        return candidate
    }
}
