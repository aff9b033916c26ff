import Foundation
import TandemTestKit
import Testing

/// Every `tandemctl` help screen, from the real binary, matches docs/cli/ (regenerate with scripts/cli-help).
struct HelpScreenTests {
    static let screens: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/cli")

    static var commands: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.screens.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }

    @Test func everySubcommandHasAScreen() throws {
        let root = try Self.help(for: "tandemctl")
        let listed = root.split(separator: "\n").drop { $0 != "SUBCOMMANDS:" }.dropFirst()
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") && !$0.contains("See 'tandemctl") }
            // A command with an alias is listed as `create-user, create_user`.
            .map { "tandemctl-" + $0.split(separator: " ")[0].trimmingCharacters(in: [","]) }
        #expect(!listed.isEmpty)
        #expect(Set(listed + ["tandemctl"]) == Set(Self.commands))
    }

    @Test(arguments: Self.commands)
    func helpScreenMatchesTheDocs(command: String) throws {
        let expected = try String(contentsOf: Self.screens.appendingPathComponent("\(command).txt"), encoding: .utf8)
        #expect(try Self.help(for: command) == expected)
    }

    static func help(for command: String) throws -> String {
        let words = command.split(separator: "-", maxSplits: 1).dropFirst().map(String.init)
        let result = try TestCluster.run(
            Binaries.tandemctl, words + ["--help"], stdin: nil, in: Self.screens, environment: ["COLUMNS": "80"])
        #expect(result.status == 0)
        return result.stdout
    }
}
