import ArgumentParser
import Cluster
import Foundation
import TrackerClient

extension Tandemctl {
    /// Parses the command line and runs the command, mapping every failure to Tandem's exit codes:
    /// 1 refused by the cluster, 2 usage or configuration, 3 no tracker reachable.
    static func main() async {
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ClientError {
            Console.error("error: \(error)")
            Foundation.exit(error.exitCode)
        } catch let error as PeerCommandFailure {
            Console.error("error: \(error)")
            Foundation.exit(error.exitCode)
        } catch let error as ClusterConfigError {
            Console.error("error: \(error)")
            Foundation.exit(ClientError.usageExitCode)
        } catch {
            // ArgumentParser's own usage errors exit 64 (EX_USAGE); Tandem documents 2 for every usage error.
            guard Self.exitCode(for: error) == .validationFailure else { Self.exit(withError: error) }
            Console.error(Self.fullMessage(for: error))
            if let hint = Self.suggestion(for: Array(CommandLine.arguments.dropFirst())) { Console.error(hint) }
            Foundation.exit(ClientError.usageExitCode)
        }
    }

    /// "Did you mean" for a first word that names no command but nearly does.
    static func suggestion(for arguments: [String]) -> String? {
        guard let typed = arguments.first(where: { !$0.hasPrefix("-") }) else { return nil }
        let commands = Self.configuration.subcommands.flatMap { command in
            [command._commandName] + command.configuration.aliases
        }
        guard !commands.contains(typed), let near = CommandSuggestion.nearest(to: typed, among: commands) else {
            return nil
        }
        return "  did you mean `tandemctl \(near)`?"
    }
}
