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
            Foundation.exit(ClientError.usageExitCode)
        }
    }
}
