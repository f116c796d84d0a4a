import ArgumentParser
import Foundation
import PrintplaneCore
import PrintplaneServer

/// `printplane import cups`: a print server's queues into Printplane, through the admin API.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import printers, drivers and profiles from an existing print server.",
        discussion: """
            Moving off a print server: its queues become Printplane printers that agents
            print to directly. Run `printplane help import cups` for the details.
            """,
        subcommands: [CUPS.self]
    )

    struct CUPS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cups",
            abstract: "Import a CUPS server's queues: over IPP, or from a copy of its printers.conf.",
            discussion: """
                Each queue whose device the agent can reach directly becomes a printer:
                  socket://HOST[:PORT]    RAW, port 9100 unless given
                  lpd://HOST[:PORT]/QUEUE LPR, port 515 unless given
                  (CUPS' beh:/…/socket://… wrapper is unwrapped)
                Queues printing through ipp://, ipps://, usb://, dnssd:// and other backends,
                and classes, are listed as skipped with the reason: their device does not say
                where a RAW or LPD port is, and the import never guesses one.

                The queue's PPD is uploaded as a signed driver package (os cups-ppd; queues
                with identical PPDs share one), and its job defaults (sides, colour mode, media,
                copies) become a profile (one per distinct set of defaults). With --assign, each
                new printer is assigned, with its profile, to each target given.

                Running the same import again changes nothing: printers that exist by name are
                left alone, PPDs already uploaded and identical profiles are reused. --dry-run
                shows the plan and writes nothing.

                The CUPS server must allow this host to read its queues (cupsd.conf
                <Location /> Allow from …); IPP reads need no CUPS credentials.

                Examples:
                  printplane import cups --from ipp://printserver.corp.example.com:631 --dry-run \\
                      --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                  printplane import cups --from ipp://printserver:631 --site HQ --assign ip_range:10.1.0.0/16 \\
                      --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem
                  printplane import cups --printers-conf backup/etc/cups/printers.conf --ppd-dir backup/etc/cups/ppd \\
                      --only Floor2-HP --only Annex --assign everyone \\
                      --server https://127.0.0.1:8443 --admin-key-file ./pp/admin.key --ca-file ./pp/ca.pem

                Targets for --assign: everyone, user:NAME, computer:NAME, ip_range:CIDR,
                group:DN, ou:DN (the last two need directory integration on the server).
                Exit status: 0 when every importable queue was created or already there,
                1 when any creation failed, 64 on bad flags.
                """)

        @Option(help: "The CUPS server, ipp://HOST[:PORT] (631 by default) or ipps://….")
        var from: String?

        @Option(name: .customLong("ipp-ca-file"), help: "PEM CA to trust for an ipps:// server (its self-signed certificate will do); system roots otherwise.")
        var ippCAFile: String?

        @Option(name: .customLong("printers-conf"), help: "Read the queues from this printers.conf instead of over IPP.")
        var printersConf: String?

        @Option(name: .customLong("ppd-dir"), help: "With --printers-conf: the directory of the queues' PPDs (NAME.ppd), e.g. /etc/cups/ppd.")
        var ppdDirectory: String?

        @Option(help: "Site given to every imported printer.")
        var site: String?

        @Option(name: .customLong("assign"), help: "Assign each new printer to this target (repeatable), e.g. everyone or ip_range:10.1.0.0/16.")
        var assignments: [String] = []

        @Option(name: .customLong("only"), help: "Import only this queue (repeatable); all queues by default.")
        var only: [String] = []

        @Flag(name: .customLong("dry-run"), help: "Show what would be created; change nothing.")
        var dryRun = false

        @OptionGroup var connection: TokenCommand.Connection

        func validate() throws {
            switch (self.from, self.printersConf) {
            case (nil, nil): throw ValidationError("give --from ipp://HOST:631 (a running CUPS server) or --printers-conf FILE (a copy of its configuration)")
            case (.some, .some): throw ValidationError("give --from or --printers-conf, not both")
            default: break
            }
            if self.ppdDirectory != nil, self.printersConf == nil { throw ValidationError("--ppd-dir goes with --printers-conf; over IPP the PPDs come from the server") }
            if let site = self.site, site.isEmpty || site.utf8.count > 256 { throw ValidationError("--site must be 1 to 256 characters") }
            _ = try self.targets()
        }

        func targets() throws -> [AssignmentTarget] {
            try self.assignments.map { text in
                let parts = text.split(separator: ":", maxSplits: 1)
                guard let kind = AssignmentTarget.Kind(rawValue: String(parts[0])) else {
                    throw ValidationError("--assign \(text): the kind must be one of \(AssignmentTarget.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                switch AssignmentTarget.make(kind: kind, value: parts.count > 1 ? String(parts[1]) : nil) {
                case .success(let target): return target
                case .failure(let error): throw ValidationError("--assign \(text): \(error.message)")
                }
            }
        }

        func run() async throws {
            let targets = try self.targets()
            var queues: [CUPSQueue]
            let source: String
            if let from = self.from {
                source = from
                queues = try await CUPSClient.with(url: from, caFile: self.ippCAFile) { try await $0.queues(ppds: true) }
            } else {
                let path = self.printersConf!
                source = path
                guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --printers-conf \(path)") }
                queues = try CUPSPrintersConf.queues(String(decoding: data, as: UTF8.self), ppdDirectory: self.ppdDirectory)
            }
            if !self.only.isEmpty {
                let missing = Set(self.only).subtracting(queues.map(\.name))
                if !missing.isEmpty { throw ValidationError("no queue named \(missing.sorted().joined(separator: ", ")) on \(source)") }
                queues = queues.filter { self.only.contains($0.name) }
            }
            let plan = ImportPlan.make(from: queues, site: self.site)
            let report = try await AdminClient.with(try self.connection.clientConfiguration()) { client in
                try await PlanApplier(client: client).apply(plan, assign: targets, dryRun: self.dryRun)
            }
            print(Self.render(report, source: source, queues: queues.count))
            if report.failed { throw ExitCode(1) }
        }

        static func render(_ report: PlanApplier.Report, source: String, queues: Int) -> String {
            func count(_ action: PlanApplier.Outcome.Action) -> Int { report.outcomes.filter { $0.action == action }.count }
            let verb = report.dryRun ? "would create" : "created"
            var lines = ["\(report.dryRun ? "dry run: " : "")import from \(source): \(queues) queue(s): \(count(.created)) \(verb), \(count(.exists)) already there, \(count(.skipped)) skipped, \(count(.failed)) failed"]
            let width = min(32, report.outcomes.map(\.queue.count).max() ?? 0)
            for outcome in report.outcomes {
                let label = outcome.action == .created && report.dryRun ? "would create" : outcome.action.rawValue
                lines.append("  \(label.padding(toLength: 12, withPad: " ", startingAt: 0)) \(outcome.queue.padding(toLength: width, withPad: " ", startingAt: 0))  \(outcome.detail)")
                for note in outcome.notes { lines.append("  \(String(repeating: " ", count: 12)) \(String(repeating: " ", count: width))  note: \(note)") }
            }
            lines.append("drivers: \(report.driversUploaded) \(report.dryRun ? "to upload" : "uploaded"), \(report.driversReused) reused; profiles: \(report.profilesCreated) \(report.dryRun ? "to create" : "created"); assignments: \(report.assignmentsCreated) \(report.dryRun ? "to create" : "created")")
            return lines.joined(separator: "\n")
        }
    }
}
