import Cluster
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Wire

/// The tracker's client port: binary and text clients, each served on its event loop by a
/// ``ClientConnectionHandler``.
///
/// Bounded: at most `limits.maxConnections` connections (more are closed at once), lines and frames up to the
/// configured limits, and a connection that sends nothing for `limits.idleTimeout` is closed. A client that
/// half-closes gets the replies to what it sent, then the connection closes. On graceful shutdown the listener
/// closes, each connection finishes the request it is serving, answers the ones waiting `unavailable` and closes,
/// and `run()` returns once all are closed (a client that reads none of it is cut off after
/// ``OpenConnections/shutdownGrace``).
struct TrackerServer: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let limits: LimitsConfig
    let engine: TrackerEngine
    let group: any EventLoopGroup
    let logger: Logger

    /// How service lifecycle logs name it: the address, and nothing of the engine (which holds the secret).
    var description: String { "TrackerServer(\(self.host):\(self.port))" }

    func run() async throws {
        let connections = OpenConnections()
        let budget = InputBudget(total: self.limits.maxBufferedInput)
        let (limits, engine, logger) = (self.limits, self.engine, self.logger)
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // One read (at most 64 KiB) per read event, so pausing reads takes effect at once.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 256 << 10))
            .childChannelInitializer { channel in
                switch connections.admit(channel, limit: limits.maxConnections) {
                case .admitted:
                    break
                case .full:
                    logger.warning(
                        "too many connections; closing a new one", metadata: ["limit": "\(limits.maxConnections)"])
                    return channel.close()
                case .closing:
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: TimeAmount(limits.idleTimeout)))
                    try sync.addHandler(
                        ClientConnectionHandler(
                            engine: engine,
                            decoder: ClientRequestDecoder(maxFrame: limits.maxFrame, maxLine: limits.maxLine),
                            encoder: ClientReplyEncoder(maxFrame: limits.maxFrame), budget: budget,
                            logger: logger, peer: channel.remoteAddress))
                }
            }
            .bind(host: self.host, port: self.port).get()
        self.logger.info(
            "listening for clients",
            metadata: ["tracker.address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
        await connections.closeAll()
    }
}

/// The open client connections: counted against the limit, and asked to finish when the tracker stops.
final class OpenConnections: Sendable {
    /// Whether a new connection may be served.
    enum Admission: Equatable {
        case admitted
        /// `limit` connections are open already.
        case full
        /// The tracker is stopping.
        case closing
    }

    /// How long a stopping connection may take to deliver its last replies before it is closed regardless.
    static let shutdownGrace = TimeAmount.seconds(10)

    private struct Registry {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let registry = NIOLockedValueBox(Registry())

    /// Registers `channel` unless `limit` connections are open already or the tracker is stopping.
    func admit(_ channel: any Channel, limit: Int) -> Admission {
        let admission = self.registry.withLockedValue { registry -> Admission in
            if registry.closing { return .closing }
            guard registry.channels.count < limit else { return .full }
            registry.channels[ObjectIdentifier(channel)] = channel
            return .admitted
        }
        if admission == .admitted {
            channel.closeFuture.whenComplete { _ in
                _ = self.registry.withLockedValue { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admission
    }

    /// Refuses new connections, asks every open one to finish and close, and waits until all have closed.
    func closeAll() async {
        let open = self.registry.withLockedValue { registry in
            registry.closing = true
            return Array(registry.channels.values)
        }
        for channel in open {
            channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(TrackerShutdown()) }
            let cutOff = channel.eventLoop.scheduleTask(in: Self.shutdownGrace) { channel.close(promise: nil) }
            channel.closeFuture.whenComplete { _ in cutOff.cancel() }
        }
        for channel in open { try? await channel.closeFuture.get() }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
