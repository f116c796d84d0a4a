import Foundation
import Sim
import PrintProtocols
import Testing

/// Real producers run at test time (their output is too big to commit), and every
/// committed fixture checked against an independent page count: `pdfinfo` for PDF,
/// ghostscript re-rendering PostScript to its `bbox` device. The counter must agree
/// with the reference or say nil; it must never give another number.
@Suite("Page counting against real producers and reference counts", .timeLimit(.minutes(5)))
struct PageCountProducerTests {
    static let pdfFixtures = [
        "gs-pdfwrite-5pages.pdf", "gs-pdfwrite14-5pages.pdf", "gs-pdfwrite17-5pages.pdf", "qpdf-objstm-5pages.pdf",
        "qpdf-linearized-5pages.pdf", "qpdf-aes128-5pages.pdf", "qpdf-aes256-5pages.pdf", "qpdf-aes256-objstm-5pages.pdf",
        "pypdf-incremental-4pages.pdf", "pypdf-objstm-incremental-4pages.pdf", "pypdf-incremental-add-7pages.pdf",
        "pdftocairo-5pages.pdf", "reportlab-7pages.pdf", "libreoffice-3pages.pdf",
    ]
    /// Fixtures whose page tree cannot be read without decrypting: nil is the right answer.
    static let unreadable: Set<String> = ["qpdf-aes256-objstm-5pages.pdf"]

    @Test("PDF fixtures agree with pdfinfo", arguments: pdfFixtures)
    func pdfAgreesWithPdfinfo(_ name: String) async throws {
        let path = PageCountingFixtures.directory + "/" + name
        let result = try await ProducerTool.run("/usr/bin/pdfinfo", [path], package: "poppler-utils")
        let reference = try #require(Self.field("Pages:", in: result.output), "pdfinfo: \(result.output)")
        let count = PageCounter.count(try PageCountingFixtures.bytes(name))
        #expect(count.language == .pdf)
        if Self.unreadable.contains(name) {
            #expect(count.pages == nil)
        } else {
            #expect(count.pages == reference)
        }
    }

    @Test(
        "PostScript fixtures agree with ghostscript rendering them",
        arguments: [
            "groff-3pages.ps", "pdftops-5pages.ps", "groff-pspic-eps-3pages.ps", "cupsfilter-pstops-duplex-copies2-8pages.ps",
        ])
    func postScriptAgreesWithGhostscript(_ name: String) async throws {
        let reference = try await Self.renderedPages(PageCountingFixtures.directory + "/" + name)
        #expect(PageCounter.count(try PageCountingFixtures.bytes(name)).pages == reference)
    }

    struct Producer: Sendable, CustomTestStringConvertible {
        var device: String
        var options: [String]
        var pages: Int
        var expected: PageCount
        var testDescription: String { "gs -sDEVICE=\(device) \(options.joined(separator: " "))" }
    }

    /// Ghostscript devices whose output is too large to commit; the reference is the page count asked for.
    static let producers: [Producer] = [
        Producer(device: "ps2write", options: [], pages: 4, expected: PageCount(pages: 4, copies: 1, language: .postScript)),
        Producer(device: "pxlmono", options: ["-r600"], pages: 3, expected: PageCount(pages: 3, copies: 1, language: .pclXL)),
        Producer(device: "pxlcolor", options: ["-r300", "-dNumCopies=3"], pages: 2, expected: PageCount(pages: 2, copies: 3, language: .pclXL)),
        // The LaserJet 5 devices write PCL XL 1.0 raster, without PageCopies.
        Producer(device: "lj5gray", options: ["-r300"], pages: 2, expected: PageCount(pages: 2, copies: 1, language: .pclXL)),
        Producer(device: "lj5mono", options: ["-r300"], pages: 3, expected: PageCount(pages: 3, copies: 1, language: .pclXL)),
        Producer(device: "ljet4pjl", options: ["-r600", "-dNumCopies=2"], pages: 3, expected: PageCount(pages: 3, copies: 2, language: .pcl)),
    ]

    @Test("ghostscript devices counted as asked", arguments: producers)
    func ghostscriptProducer(_ producer: Producer) async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/out"
        let result = try await ProducerTool.run(
            "/usr/bin/gs",
            ["-q", "-dNOPAUSE", "-dBATCH", "-dPAGES=\(producer.pages)", "-sDEVICE=\(producer.device)"] + producer.options
                + ["-o", output, PageCountingFixtures.directory + "/pages.ps.in"],
            package: "ghostscript")
        #expect(result.status == 0, "\(result.output)")
        let data = try PageCountingFixtures.bytes(atPath: output)
        #expect(PageCounter.count(data) == producer.expected)
        #expect(Chunked.random(data, seed: 11, maxChunk: 65536) == producer.expected)
        if producer.expected.language == .postScript {
            #expect(try await Self.renderedPages(output) == producer.pages)
        }
    }

    @Test("CUPS' PCL 6 driver path (pdftopdf, gstopxl) with the colour PPD")
    func cupsGstopxl() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pdf = PageCountingFixtures.directory + "/reportlab-7pages.pdf"
        let result = try await ProducerTool.run(
            "/usr/sbin/cupsfilter",
            ["-e", "-p", "/usr/share/ppd/cupsfilters/pxlcolor.ppd", "-m", "printer/cupsfilter", "-o", "Resolution=150dpi", pdf],
            package: "cups-filters", outputPath: directory + "/job.pxl")
        #expect(result.status == 0)
        let data = try PageCountingFixtures.bytes(atPath: directory + "/job.pxl")
        #expect(PageCounter.count(data) == PageCount(pages: 7, copies: 1, language: .pclXL))
    }

    // MARK: - Helpers

    /// Pages ghostscript renders: one `%%BoundingBox` per page from the `bbox` device.
    static func renderedPages(_ path: String) async throws -> Int {
        let result = try await ProducerTool.run("/usr/bin/gs", ["-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=bbox", path], package: "ghostscript")
        return result.output.split(separator: "\n").filter { $0.hasPrefix("%%BoundingBox:") }.count
    }

    static func field(_ name: String, in output: String) -> Int? {
        for line in output.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-producer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs a real producer or reference tool with a hard timeout, waiting through
/// `terminationHandler` so no cooperative-pool thread blocks on the child. A missing
/// tool fails the test with the command that installs it; it is never skipped.
enum ProducerTool {
    struct Result {
        var status: Int32
        /// Standard output and error (or standard error only, when standard output went to a file).
        var output: String
    }

    static func run(
        _ path: String, _ arguments: [String], package: String, outputPath: String? = nil, timeout: Int = 120
    ) async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("\(path) is missing: run `bash scripts/bootstrap.sh` (or `apt-get install -y \(package)`)")
            throw CancellationError()
        }
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("printplane-tool-\(UUID().uuidString).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        // posix_spawn, not Foundation's Process (its run() can crash on Swift 6.3.1: see Spawn).
        let status = try await Spawn.run(
            "/usr/bin/timeout", ["--kill-after=5", String(timeout), path] + arguments, stdoutPath: outputPath ?? logPath, stderrPath: logPath)
        let text = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        if status == 124 { Issue.record("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s") }
        return Result(status: status, output: text)
    }
}
