import Cluster
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Replica
import ReplicaCore
import ServerSupport
import ServiceLifecycle
import TandemCrypto
import Tracker

/// The tracker's sync port and its link to the other tracker: the listener, the dialer, and the replica's clock.
///
/// Both trackers listen on their sync port; the second tracker of cluster.yaml dials the first, again at once
/// when the connection drops and then every heartbeat, so the pair has one connection when both run. While
/// there is none, the first tracker knocks on the second's sync port every heartbeat (connects and closes). A
/// refused connection tells the replica the other process is gone, so it need not wait out the failover
/// timeout (``ReplicatedStateMachine/peerRefusedConnection()``). Every connection
/// proves the cluster secret both ways (``SyncConnectionHandler``) before a message is taken. The clock ticks
/// every heartbeat; when the process did not run for more than half the failover timeout since the last tick
/// (``StallWatch``: it was stopped, or starved), the tick tells the replica it stalled, so it does not count
/// its own pause as the peer's silence. The sync connections share the replica driver's event loop (the first
/// client loop); a FULLSYNC install runs on the storage's writer thread, not on it.
struct SyncService: Service, CustomStringConvertible {
    let index: Int
    let me: TrackerConfig
    let peer: TrackerConfig
    let replication: ReplicationConfig
    let secret: [UInt8]
    let maxFrame: Int
    let store: ReplicatedStateMachine<TrackerState>
    let group: any EventLoopGroup
    let logger: Logger

    /// Connections the sync port holds at once (in all, and from one address): the other tracker needs one, and
    /// nobody else passes the handshake, which must end within ``SyncConnectionHandler/handshakeTimeout``.
    static let maxConnections = 16
    static let maxConnectionsPerAddress = 4

    /// Refused handshakes are logged at most every 10 s: anyone can knock.
    let refusals = LogThrottle()

    /// Never the secret.
    var description: String { "SyncService(\(self.me.host):\(self.me.syncPort))" }

    func run() async throws {
        let open = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let gate = ConnectionGate(limit: Self.maxConnections, perAddress: Self.maxConnectionsPerAddress)
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard gate.admit(channel) == .admitted else { return channel.close() }
                self.track(channel, in: open)
                return channel.eventLoop.makeCompletedFuture { try self.setUp(channel, dialing: false) }
            }
            .bind(host: self.me.host, port: self.me.syncPort).get()
        self.logger.info(
            "listening for the other tracker",
            metadata: ["sync.address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])
        let watch = StallWatch(interval: TimeAmount(self.replication.heartbeat / 4))
        let ticker = self.startClock(on: self.group.next(), watch: watch)
        let dialer = Task {
            if self.index == 1 { await self.keepDialing(open: open) } else { await self.keepKnocking() }
        }
        try await withGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
        ticker.cancel()
        await watch.stop()
        dialer.cancel()
        for channel in open.withLockedValue({ Array($0.values) }) { try? await channel.close() }
        // Its connect in flight uses the driver's event loop, which is shut down after this returns; it ends once
        // the connection it waits on is closed, just above.
        await dialer.value
    }

    private func track(_ channel: any Channel, in open: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) {
        open.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = open.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Connects to the first tracker whenever there is no connection, until the service stops.
    private func keepDialing(open: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) async {
        var failures = 0
        while !Task.isCancelled {
            let bootstrap = ClientBootstrap(group: self.group)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(1))
                .channelInitializer { channel in
                    self.track(channel, in: open)
                    return channel.eventLoop.makeCompletedFuture { try self.setUp(channel, dialing: true) }
                }
            do {
                let channel = try await bootstrap.connect(host: self.peer.host, port: self.peer.syncPort).get()
                failures = 0
                let opened = ContinuousClock.now
                try? await channel.closeFuture.get()
                // A connection that lasted dropped: dial again at once. One refused at once waits a heartbeat.
                if ContinuousClock.now - opened > self.replication.heartbeat { continue }
            } catch {
                if Self.isRefused(error) { self.store.peerRefusedConnection() }
                failures += 1
                // Once, not every heartbeat: the other tracker is simply not up.
                if failures == 1 {
                    self.logger.info(
                        "the other tracker's sync port does not answer; retrying",
                        metadata: ["sync.peer": "\(self.peer.host):\(self.peer.syncPort)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: self.replication.heartbeat)
        }
    }

    /// Every heartbeat while there is no connection, connects to the second tracker's sync port and closes at
    /// once (it dials this one; a connection that sends nothing is not logged), to learn whether it runs.
    private func keepKnocking() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: self.replication.heartbeat)
            guard !self.store.status.peerConnected else { continue }
            do {
                let channel = try await ClientBootstrap(group: self.group).connectTimeout(.seconds(1))
                    .connect(host: self.peer.host, port: self.peer.syncPort).get()
                try? await channel.close()
            } catch {
                if Self.isRefused(error) { self.store.peerRefusedConnection() }
            }
        }
    }

    /// Whether connecting failed because nothing listens on the port (the host answered with a reset).
    static func isRefused(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { Self.isRefused($0.error) }
        }
        return false
    }

    /// Ticks the replica every heartbeat, telling it when the process stalled.
    private func startClock(on loop: any EventLoop, watch: StallWatch) -> RepeatedTask {
        let interval = TimeAmount(self.replication.heartbeat)
        let stallLimit = TimeAmount(self.replication.failoverTimeout / 2)
        let store = self.store
        return loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            store.tick(stalled: watch.takeLongestGap() > stallLimit)
        }
    }

    /// Puts the sync handler on a new connection and ties its events to the replica.
    private func setUp(_ channel: any Channel, dialing: Bool) throws {
        let link = ChannelSyncLink(channel: channel, logger: self.logger)
        let (store, logger, peerIndex) = (self.store, self.logger, UInt8(1 - self.index))
        let events = SyncConnectionHandler.Events(
            authenticated: { peer in
                guard peer == peerIndex else {
                    logger.warning("refused a sync connection from a tracker claiming this one's place")
                    channel.close(promise: nil)
                    return
                }
                store.connected(link)
            },
            received: { store.receive($0) },
            snapshotBytes: { store.receiveSnapshotBytes($0) },
            snapshotEnd: { store.receiveSnapshotEnd() },
            forwarded: { store.receiveForwarded($0) })
        channel.closeFuture.whenComplete { _ in store.disconnected(link) }
        let nonce = try Crypto.randomBytes(SyncHandshake.nonceLength)
        let handler =
            dialing
            ? SyncConnectionHandler(
                dialing: peerIndex, as: UInt8(self.index), secret: self.secret, nonce: nonce, maxFrame: self.maxFrame,
                events: events, refusals: self.refusals, logger: self.logger)
            : SyncConnectionHandler(
                listeningWith: self.secret, nonce: nonce, maxFrame: self.maxFrame, events: events,
                refusals: self.refusals, logger: self.logger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }
}

/// The replica's view of one sync connection. Every write goes through the channel's event loop in the order
/// it was asked for, whichever thread asks.
final class ChannelSyncLink: SyncLink {
    /// FULLSYNC sends the snapshot in frames of this many bytes, one at a time: memory stays bounded however
    /// large the state, and the stream goes at the pace the other tracker reads it.
    static let snapshotChunk = 256 << 10

    private let channel: any Channel
    private let logger: Logger

    init(channel: any Channel, logger: Logger) {
        self.channel = channel
        self.logger = logger
    }

    func send(_ messages: [SyncMessage]) {
        var encoded = self.channel.allocator.buffer(capacity: 256)
        for message in messages { encoded.writeSyncFrame(message) }
        let buffer = encoded
        let channel = self.channel
        channel.eventLoop.execute { channel.writeAndFlush(buffer, promise: nil) }
    }

    func forward(_ frame: ForwardFrame) {
        var encoded = self.channel.allocator.buffer(capacity: 128)
        encoded.writeForwardFrame(frame)
        let (buffer, channel) = (encoded, self.channel)
        channel.eventLoop.execute { channel.writeAndFlush(buffer, promise: nil) }
    }

    func close() {
        self.channel.close(promise: nil)
    }

    func sendSnapshot(path: String, epoch: UInt64, done: @escaping @Sendable (LogPosition?) -> Void) {
        let position: LogPosition
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        do {
            guard fd >= 0 else { throw ReplicaError.io("open", path: path, errno: errno) }
            position = try SnapshotFile.position(ofFileAt: path)
        } catch {
            if fd >= 0 { Glibc.close(fd) }
            self.logger.error("cannot send the snapshot", metadata: ["error": "\(error)"])
            return done(nil)
        }
        self.send([.snapshotFollows(epoch: epoch, position: position)])
        let channel = self.channel
        channel.eventLoop.execute {
            self.stream(fd: fd, from: 0, position: position, done: done)
        }
    }

    /// Sends the next chunk once the last one is written; the end frame after the last.
    private func stream(
        fd: Int32, from offset: Int, position: LogPosition, done: @escaping @Sendable (LogPosition?) -> Void
    ) {
        var chunk = self.channel.allocator.buffer(capacity: Self.snapshotChunk)
        let count = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.snapshotChunk) { raw in
            max(pread(fd, raw.baseAddress, Self.snapshotChunk, off_t(offset)), 0)
        }
        var frame = self.channel.allocator.buffer(capacity: count + 8)
        if count == 0 {
            Glibc.close(fd)
            frame.writeSnapshotEndFrame()
            self.channel.writeAndFlush(frame).whenComplete { result in
                done((try? result.get()) == nil ? nil : position)
            }
            return
        }
        frame.writeSnapshotBytesFrame(chunk)
        self.channel.writeAndFlush(frame).whenComplete { result in
            guard case .success = result else {
                Glibc.close(fd)
                return done(nil)
            }
            self.stream(fd: fd, from: offset + count, position: position, done: done)
        }
    }
}
