import Foundation
import Yams

/// What loading a scenario produced: the scenario when there were no errors, and every issue
/// found (errors and warnings), in file order.
public struct ScenarioLoadResult: Sendable {
    public var scenario: Scenario?
    public var issues: [ScenarioIssue]

    public var errors: [ScenarioIssue] { self.issues.filter { $0.severity == .error } }
    public var warnings: [ScenarioIssue] { self.issues.filter { $0.severity == .warning } }

    /// The scenario, or a ``ScenarioError`` carrying every error.
    public func get() throws(ScenarioError) -> Scenario {
        guard let scenario = self.scenario, self.errors.isEmpty else { throw .invalid(self.errors) }
        return scenario
    }
}

/// Why a scenario cannot run.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case invalid([ScenarioIssue])
    }

    private let base: Base

    /// The file had errors; every one is listed.
    public static func invalid(_ issues: [ScenarioIssue]) -> ScenarioError { ScenarioError(base: .invalid(issues)) }

    public var issues: [ScenarioIssue] {
        switch self.base {
        case .invalid(let issues): issues
        }
    }

    public var description: String {
        self.issues.map(\.description).joined(separator: "\n")
    }
}

/// Reads `scenarios/*.yaml` into a ``Scenario``, checking the whole schema of
/// docs/scenarios.md and reporting every problem with file, line, column and field path.
///
/// The YAML is composed into `Node`s (which keep their marks) and walked by hand, so even a
/// cross-field problem (an event after the end of the run) points at the line that caused it.
public enum ScenarioLoader {
    /// Loads a file; a missing or unreadable file is an issue too, never a crash.
    public static func load(contentsOf path: String) -> ScenarioLoadResult {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return ScenarioLoadResult(scenario: nil, issues: [
                ScenarioIssue(file: path, line: 0, column: 0, path: "", message: "no such file", suggestion: Self.siblingHint(for: path)),
            ])
        }
        guard !isDirectory.boolValue else {
            return ScenarioLoadResult(scenario: nil, issues: [
                ScenarioIssue(file: path, line: 0, column: 0, path: "", message: "is a directory, not a scenario file", suggestion: "pass a file such as \(path)/quickstart.yaml"),
            ])
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            return ScenarioLoadResult(scenario: nil, issues: [
                ScenarioIssue(file: path, line: 0, column: 0, path: "", message: "cannot read the file as UTF-8 text: \(error.localizedDescription)"),
            ])
        }
        return self.parse(text, file: path, baseDirectory: url.deletingLastPathComponent().path)
    }

    /// Parses scenario text. `file` names it in issues; relative paths inside (admin key, CA)
    /// are resolved against `baseDirectory`, or the working directory when nil.
    public static func parse(_ text: String, file: String = "<scenario>", baseDirectory: String? = nil) -> ScenarioLoadResult {
        var reader = ScenarioReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            if case .duplicatedKeysInMapping(let duplicates, let context) = error, let key = duplicates.first {
                let second = Self.repeatedKeyLine(key, after: context.mark, in: text)
                reader.error(line: second?.line ?? context.mark.line, column: second?.column ?? context.mark.column,
                             key, "duplicate key `\(key)`; the first is at line \(context.mark.line)",
                             suggestion: "merge the two `\(key)` sections into one")
                return ScenarioLoadResult(scenario: nil, issues: reader.issues)
            }
            reader.error(at: Self.mark(of: error), "", "YAML syntax error: \(Self.message(of: error))")
            return ScenarioLoadResult(scenario: nil, issues: reader.issues)
        } catch {
            reader.error(at: nil, "", "YAML syntax error: \(error)")
            return ScenarioLoadResult(scenario: nil, issues: reader.issues)
        }
        guard let root, !root.isNull else {
            reader.error(at: root?.mark, "", "the file is empty", suggestion: "start from scenarios/quickstart.yaml")
            return ScenarioLoadResult(scenario: nil, issues: reader.issues)
        }
        var schema = ScenarioSchema(reader: reader, baseDirectory: baseDirectory ?? FileManager.default.currentDirectoryPath)
        let scenario = schema.scenario(root, sourceFile: file)
        let issues = schema.reader.issues.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        let hasErrors = issues.contains { $0.severity == .error }
        return ScenarioLoadResult(scenario: hasErrors ? nil : scenario, issues: issues)
    }

    private static func mark(of error: YamlError) -> Mark? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark
        case .duplicatedKeysInMapping(_, let context): context.mark
        default: nil
        }
    }

    private static func message(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        case .duplicatedKeysInMapping(let duplicates, _):
            "duplicate key\(duplicates.count == 1 ? "" : "s") " + duplicates.map { "`\($0)`" }.joined(separator: ", ")
        default:
            "\(error)"
        }
    }

    /// Where a key repeats at the same indentation after its first occurrence (Yams only
    /// reports the first), so the message points at the line to delete or merge.
    private static func repeatedKeyLine(_ key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: max(0, mark.column - 1))
        for index in mark.line..<lines.count {
            let line = lines[index]
            if line.hasPrefix(indent + key + ":") || line.hasPrefix(indent + "\"" + key + "\":") { return (index + 1, mark.column) }
        }
        return nil
    }

    private static func siblingHint(for path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            return "the folder \(folder) does not exist either"
        }
        let yaml = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        if let guess = Suggestion.closest(to: url.lastPathComponent, in: yaml) { return "did you mean `\(guess)`?" }
        return yaml.isEmpty ? nil : "scenarios there: " + yaml.joined(separator: ", ")
    }
}
