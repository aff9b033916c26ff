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
/// configured limits, and a connection that sends nothing for `limits.idleTimeout` is closed. On graceful
/// shutdown the listener closes, each connection finishes the request it is serving and closes, and `run()`
/// returns once all are closed.
struct TrackerServer: Service {
    let host: String
    let port: Int
    let limits: LimitsConfig
    let engine: TrackerEngine
    let group: any EventLoopGroup
    let logger: Logger

    func run() async throws {
        let connections = OpenConnections()
        let (limits, engine, logger) = (self.limits, self.engine, self.logger)
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 256 << 10))
            .childChannelInitializer { channel in
                guard connections.admit(channel, limit: limits.maxConnections) else {
                    logger.warning(
                        "too many connections; closing a new one", metadata: ["limit": "\(limits.maxConnections)"])
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: TimeAmount(limits.idleTimeout)))
                    try sync.addHandler(IdleConnectionCloser())
                    try sync.addHandler(
                        ByteToMessageHandler(ClientRequestDecoder(maxFrame: limits.maxFrame, maxLine: limits.maxLine)))
                    try sync.addHandler(MessageToByteHandler(ClientReplyEncoder()))
                    try sync.addHandler(
                        ClientConnectionHandler(engine: engine, logger: logger, peer: channel.remoteAddress))
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
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    /// Registers `channel` unless `limit` connections are open already.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let admitted = self.channels.withLockedValue { channels in
            guard channels.count < limit else { return false }
            channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in
                _ = self.channels.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return admitted
    }

    /// Asks every connection to finish its request in flight and close, and waits until all have closed.
    func closeAll() async {
        let open = self.channels.withLockedValue { Array($0.values) }
        for channel in open {
            channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(TrackerShutdown()) }
        }
        for channel in open { try? await channel.closeFuture.get() }
    }
}

/// Closes a connection on the idle event that ``IdleStateHandler`` raises.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

@available(*, unavailable)
extension IdleConnectionCloser: Sendable {}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
