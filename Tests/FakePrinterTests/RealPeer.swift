import Foundation
import Sim
import Testing

/// Runs real programs nobody here wrote (CUPS backends, ghostscript) for interop tests.
/// A missing program fails the test with the command that installs it; it is never skipped.
enum RealPeer {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Fails the test (with the install hint) unless `path` is executable.
    static func require(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("\(path) is missing: run `bash scripts/bootstrap.sh` (or `apt-get install -y \(package)`)")
            throw CancellationError()
        }
    }

    /// Runs `path` with `arguments` and `environment`, killed after `timeout`, through the
    /// simulator's `ChildProcess` (posix_spawn, polled, output in a file), so no thread of the (2-thread)
    /// cooperative pool is ever blocked on a child process.
    static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> Result {
        let finished = try await Sim.ChildProcess.run(path, arguments, environment: environment, timeout: Int(timeout.components.seconds))
        if finished.status == 124 { Issue.record("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout)") }
        return Result(status: finished.status, output: finished.output)
    }

    /// Makes real documents with ghostscript: PostScript (ps2write), PDF (pdfwrite) and PCL (ljet4).
    static func documents(pages: Int, in directory: String) async throws -> (ps: String, pdf: String, pcl: String) {
        try require("/usr/bin/gs", package: "ghostscript")
        let source = directory + "/source-\(pages).ps"
        var text = "%!PS\n"
        for page in 1...pages {
            text += "/Helvetica findfont 36 scalefont setfont 72 700 moveto (Printplane page \(page) of \(pages)) show\n"
            text += "newpath 72 72 moveto 300 300 lineto stroke showpage\n"
        }
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        let outputs = (ps: directory + "/doc-\(pages).ps", pdf: directory + "/doc-\(pages).pdf", pcl: directory + "/doc-\(pages).pcl")
        for (device, path) in [("ps2write", outputs.ps), ("pdfwrite", outputs.pdf), ("ljet4", outputs.pcl)] {
            let result = try await run("/usr/bin/gs", ["-q", "-dSAFER", "-dNOPAUSE", "-dBATCH", "-sDEVICE=\(device)", "-r150", "-o", path, source])
            guard result.status == 0 else {
                Issue.record("gs -sDEVICE=\(device) failed: \(result.output)")
                throw CancellationError()
            }
        }
        return outputs
    }
}
