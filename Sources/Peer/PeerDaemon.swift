import Cluster
import Foundation
import Logging
import NIOCore
import NIOPosix
import PeerControl
import ServiceLifecycle
import Swarm
import TrackerClient
import Wire

/// A user's peer daemon: serves what the user shares and downloads, runs downloads, and takes `tandemctl`'s
/// commands. Its state lives under `home`, so it goes on seeding and downloading after a restart.
///
/// A `Service`: ``run()`` serves until a graceful shutdown (SIGTERM or SIGINT through its `ServiceGroup`) or the
/// `stop` command; everything it starts (command connections, re-announcing shares, resuming downloads, seeding
/// what completed) runs in child tasks of ``run()`` and ends with it. Its concerns are in
/// `PeerDaemon+Shares.swift` and `PeerDaemon+Downloads.swift`; this file holds its life and the command router.
public actor PeerDaemon: Service {
    let config: ClusterConfig
    let home: String
    private let host: String
    private let port: Int
    let group: MultiThreadedEventLoopGroup
    let client: ClusterClient
    let sessions: SessionStore
    let store: PeerStore
    let library: Library
    let logger: Logger
    /// What it sent and received, and its downloads, for Prometheus.
    public nonisolated let metrics = PeerMetrics()
    var server: PeerServer?
    var shares: Shares
    var downloads: [String: Download] = [:]
    /// Finished when the daemon is to stop.
    private let stopRequests = AsyncStream<Void>.makeStream()
    /// Set once the daemon stops its downloads: no other may begin after that.
    var isStopping = false
    /// Downloads that completed, to be seeded from their new place: they report on their event loops, the daemon
    /// takes them in order.
    let completions = AsyncStream<(DownloadRecord, FileIdentity)>.makeStream()

    /// A daemon for the user whose state is in `home`, to serve pieces on `host:port` (port 0 picks one).
    public init(
        config: ClusterConfig, home: String, host: String, port: Int, group: MultiThreadedEventLoopGroup,
        logger: Logger
    ) {
        self.config = config
        self.home = home
        self.host = host
        self.port = port
        self.group = group
        var client = ClusterClient(config: config, group: group)
        client.programName = "tandemd peer"
        self.client = client
        self.sessions = SessionStore(home: home)
        self.store = PeerStore(home: home)
        self.logger = logger
        self.library = Library()
        self.shares = Shares(library: self.library)
    }

    /// Serves pieces and takes commands on `<home>/peer/peer.sock` until stopped.
    ///
    /// - Throws: ``TrackerClient/ClientError/usage(_:)`` when the home or its state directory is not the user's own;
    ///   ``PeerError`` when another daemon runs for this home.
    public func run() async throws {
        // Everything the daemon trusts is under the home: nobody else may be able to change it.
        try PrivateFile.makeOwnDirectory(self.home)
        try PrivateFile.makeOwnDirectory(self.store.directory)
        chmod(self.store.directory, 0o700)
        let checker = AccessChecker(client: self.client, sessions: self.sessions)
        let server = try await PeerServer.start(
            host: self.host, port: self.port, group: self.group, library: self.library, checker: checker,
            metrics: self.metrics, maxPeers: self.config.swarm.maxPeers,
            maxPeersPerAddress: self.config.swarm.maxPeersPerAddress,
            peerTimeout: .nanoseconds(Int64(self.config.swarm.peerTimeout.components.seconds) * 1_000_000_000))
        self.server = server
        let control = try await ControlServer.bind(path: ControlRequest.socketPath(home: self.home), group: self.group)
        self.logger.info(
            "peer daemon serving", metadata: ["peer.port": "\(server.port)", "control.path": "\(control.path)"])
        let restored = try self.restoreShares()
        let resumable = try self.store.loadDownloads()
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                await control.serve { request, progress in
                    await self.handle(request, progress: progress)
                } answered: { request in
                    if case .stop = request { self.stop() }
                }
            }
            tasks.addTask {
                // Each completed download is seeded on its own: one slow tracker answer holds up no other.
                await withDiscardingTaskGroup { seeding in
                    for await (record, identity) in self.completions.stream {
                        seeding.addTask { await self.completed(record, identity: identity) }
                    }
                }
            }
            tasks.addTask {
                for await lost in self.library.lostSources { await self.shareLost(lost) }
            }
            for share in restored where share.broken != nil {
                // Its file went while the daemon was down: the tracker must stop listing this peer for it.
                tasks.addTask { try? await self.withdraw(share) }
            }
            for share in restored where share.broken == nil {
                tasks.addTask { try? await self.announce(share) }
            }
            for (record, have) in resumable {
                tasks.addTask { await self.resumeAtStart(record, haveBytes: have) }
            }
            await withGracefulShutdownHandler {
                for await _ in self.stopRequests.stream {}
            } onGracefulShutdown: {
                self.stop()
            }
            self.isStopping = true
            for download in self.downloads.values {
                try? await download.loop.submit { download.stop() }.get()
            }
            await control.close()
            self.completions.continuation.finish()
            self.library.finish()
            tasks.cancelAll()
        }
        await server.stop()
    }

    /// Asks the daemon to stop: ``run()`` finishes what it is doing and returns.
    public nonisolated func stop() {
        self.stopRequests.continuation.finish()
    }

    // MARK: Commands

    /// Answers one command; `progress` receives progress lines before the answer.
    func handle(
        _ request: ControlRequest, progress: @escaping @Sendable (ControlReply) async -> Void
    ) async -> ControlReply {
        do {
            switch request {
            case .share(let group, let path):
                return .shared(try await self.share(group: group, path: path, progress: progress))
            case .download(let group, let name, let to):
                return .downloadStarted(try await self.download(group: group, name: name, to: to))
            case .downloads:
                return .downloads(await self.downloadStatuses())
            case .awaitDownload(let fileID, let milliseconds):
                return .download(try await self.statusWhenEnded(fileID, milliseconds: milliseconds))
            case .pause(let group, let name):
                return .download(try await self.pause(group: group, name: name))
            case .resume(let group, let name):
                return .download(try await self.resume(group: group, name: name))
            case .cancel(let group, let name):
                try await self.cancel(group: group, name: name)
                return .done
            case .clearDownloads:
                return .downloads(await self.clearEndedDownloads())
            case .shares:
                return .shares(self.shares.statuses)
            case .stopShare(let group, let name):
                try await self.stopShare(group: group, name: name)
                return .done
            case .status:
                return .status(
                    DaemonStatus(
                        pid: getpid(), port: self.server?.port ?? 0, shares: self.shares.count,
                        downloads: self.downloads.count))
            case .stop:
                // The daemon stops once this answer is written (the control server's `answered`).
                return .done
            }
        } catch let error as PeerError {
            return .failed(message: error.description, exitCode: error.exitCode)
        } catch let error as ClientError {
            return .failed(message: error.description, exitCode: error.exitCode)
        } catch {
            return .failed(message: "\(error)", exitCode: 1)
        }
    }

    // MARK: Session

    func token() throws -> String {
        guard let token = try self.sessions.load() else { throw ClientError.notLoggedIn }
        return token
    }

    func user(_ token: String) async throws -> String {
        try await self.client.whoami(session: token)
    }
}
