import ArgumentParser
import Cluster
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Replica
import ReplicaCore
import ServiceLifecycle
import Tracker

extension Tandemd {
    /// `tandemd tracker --config cluster.yaml --id t1`: one tracker, in the foreground.
    struct TrackerCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tracker",
            abstract: "Run one tracker of cluster.yaml in the foreground.",
            discussion: "SIGTERM, SIGINT or an authenticated QUIT stop it cleanly: open requests are answered, "
                + "the WAL is flushed and the ports are released."
        )

        @OptionGroup var daemon: DaemonOptions

        @Option(help: "The id of the tracker to run, as listed under trackers: in the cluster file.")
        var id: String

        @Option(
            help: ArgumentHelp(
                "The number of event-loop threads serving clients.",
                discussion: "The default is one less than the number of cores, at least one: the WAL writer and "
                    + "the password-hashing threads need the rest."))
        var eventLoops: Int = max(1, NIOCore.System.coreCount - 1)

        @Flag(
            help: ArgumentHelp(
                "Serve without the other tracker: take the primary role at once and replicate nothing.",
                discussion: "For a trial on one host. Whatever the other tracker acknowledged and this one lacks "
                    + "is not seen; to promote a tracker of a running pair, use `tandemctl promote --force`."))
        var alone = false

        func validate() throws {
            guard self.eventLoops >= 1 else { throw ValidationError("--event-loops must be at least 1") }
        }

        func run() async throws {
            let cluster = try self.daemon.loadCluster()
            let secret: [UInt8]
            do {
                secret = try cluster.readSecret()
            } catch {
                printError("tandemd: \(error)")
                throw ExitCode(2)
            }
            guard let index = cluster.trackers.firstIndex(where: { $0.id == self.id }) else {
                let known = cluster.trackers.map(\.id).joined(separator: ", ")
                printError("tandemd: no tracker '\(self.id)' in \(self.daemon.config); the file lists: \(known)")
                throw ExitCode(2)
            }
            let tracker = cluster.trackers[index]
            let peer = cluster.trackers[1 - index]
            let level = self.daemon.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "tandemd")
            logger[metadataKey: "tracker.id"] = "\(tracker.id)"

            // The first client loop also carries the replica's driver, its clock and the sync connections (and the
            // metrics): the writes of the connections it serves reach the driver and are answered without a hop
            // between threads (docs/PERFORMANCE.md).
            let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: self.eventLoops)
            let driverLoop = eventLoops.next()
            let metrics = TrackerMetrics(tracker: tracker.id)
            let store: ReplicatedStateMachine<TrackerState>
            let replication = cluster.replication
            let failoverTicks = max(2, Int(replication.failoverTimeout / replication.heartbeat))
            do {
                store = try ReplicatedStateMachine(
                    directory: DataDirectory(path: tracker.dataDir),
                    initial: TrackerState(pieceSize: UInt32(cluster.pieceSize)),
                    configuration: .init(
                        snapshotEveryOps: cluster.storage.snapshotEveryOps,
                        snapshotEveryBytes: cluster.storage.snapshotEveryBytes,
                        replica: .init(index: index, heartbeatTicks: 1, failoverTicks: failoverTicks)),
                    observer: metrics.replica, eventLoop: driverLoop, logger: logger)
            } catch {
                logger.critical("cannot open the data directory", metadata: ["error": "\(error)"])
                throw ExitCode(1)
            }
            let threadPool = NIOThreadPool(numberOfThreads: 2)
            threadPool.start()
            let quit = QuitSignal()
            let quotas = cluster.quotas
            let engine = TrackerEngine(
                store: store, dataDirectory: DataDirectory(path: tracker.dataDir), trackerID: tracker.id,
                secret: secret, threadPool: threadPool, quit: quit, logger: logger,
                quotas: Quotas(
                    groupsPerUser: quotas.groupsPerUser, filesPerUser: quotas.filesPerUser,
                    metadataPerUser: quotas.metadataPerUser),
                registrations: NIOLockedValueBox(RegistrationWindow(limit: quotas.usersPerAddressPerHour)),
                metrics: metrics)
            let server = TrackerServer(
                host: tracker.host, port: tracker.clientPort, limits: cluster.limits, engine: engine,
                group: eventLoops, logger: logger)
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if self.alone {
                logger.warning("serving alone, as primary, without the other tracker (--alone)")
                store.forcePromote()
            } else {
                services.append(
                    .init(
                        service: SyncService(
                            index: index, me: tracker, peer: peer, replication: replication, secret: secret,
                            maxFrame: cluster.limits.maxFrame, store: store, group: driverLoop, logger: logger)))
            }
            if let metricsPort = cluster.metricsPort {
                services.append(
                    .init(
                        service: MetricsServer(
                            host: tracker.host, port: metricsPort + index,
                            render: { [metrics = engine.metrics] in metrics.render(store.status) }, group: driverLoop,
                            logger: logger)))
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: services + [
                        .init(service: server),
                        .init(service: QuitWatcher(signal: quit), successTerminationBehavior: .gracefullyShutdownGroup),
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            var failed = false
            do {
                try await group.run()
            } catch {
                logger.error("stopping after an error", metadata: ["error": "\(error)"])
                failed = true
            }
            store.close()
            try? await threadPool.shutdownGracefully()
            try? await eventLoops.shutdownGracefully()
            logger.info("stopped; the WAL is flushed")
            if failed { throw ExitCode(1) }
        }
    }
}

/// Prints a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
