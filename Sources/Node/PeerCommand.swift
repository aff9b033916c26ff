import ArgumentParser
import Cluster
import Foundation
import Logging
import NIOCore
import NIOPosix
import Peer
import ServiceLifecycle

extension Tandemd {
    /// `tandemd peer --config cluster.yaml --home DIR`: one user's peer daemon, in the foreground.
    struct PeerCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "peer",
            abstract: "Run a user's peer daemon: serve shared files, run downloads, keep seeding.",
            discussion: "tandemctl starts it by itself when a command needs it; its state lives in --home "
                + "(the same directory as tandemctl's session), so it resumes after a restart. SIGTERM or SIGINT "
                + "stop it; downloads resume from their verified pieces next time."
        )

        @OptionGroup var daemon: DaemonOptions

        @Option(help: "The user's directory: the session tandemctl stored, and the daemon's state.")
        var home: String

        @Option(help: "The address to serve pieces on.")
        var host: String = "0.0.0.0"

        @Option(help: "The port to serve pieces on; 0 picks a free one.")
        var port: Int = 0

        @Option(help: "Serve Prometheus metrics on this port of --host, at /metrics; none without it.")
        var metricsPort: Int?

        func run() async throws {
            let cluster = try self.daemon.loadCluster()
            var logger = Logger(label: "tandemd.peer")
            logger.logLevel = self.daemon.logLevel
            let home = self.home.hasPrefix("/") ? self.home : FileManager.default.currentDirectoryPath + "/" + self.home
            let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
            let daemon = PeerDaemon(
                config: cluster, home: home, host: self.host, port: self.port, group: group, logger: logger)
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup)
            ]
            if let metricsPort = self.metricsPort {
                services.append(
                    .init(
                        service: MetricsServer(
                            host: self.host, port: metricsPort,
                            render: { [metrics = daemon.metrics] in metrics.render() },
                            group: group, logger: logger)))
            }
            let serviceGroup = ServiceGroup(
                configuration: .init(
                    services: services,
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await serviceGroup.run()
            } catch let error as PeerError {
                printError("tandemd: \(error)")
                throw ExitCode(error.exitCode)
            } catch {
                printError("tandemd: cannot start the peer daemon: \(error)")
                throw ExitCode(1)
            }
            try? await group.shutdownGracefully()
        }
    }
}
