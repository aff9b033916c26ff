import ArgumentParser
import Cluster
import Logging

/// The options every `tandemd` daemon takes: the cluster file and how much to log.
struct DaemonOptions: ParsableArguments {
    @Option(help: "The cluster file to read.")
    var config: String = "cluster.yaml"

    @Option(help: "The lowest level of log message to print (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    /// The cluster file, or exit code 2 with what is wrong with it on standard error.
    func loadCluster() throws -> ClusterConfig {
        do {
            return try ClusterConfig.load(path: self.config)
        } catch {
            printError("tandemd: \(error)")
            throw ExitCode(2)
        }
    }
}
