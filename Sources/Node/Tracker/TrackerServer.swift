import Cluster
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServerSupport
import ServiceLifecycle
import Wire

/// The tracker's client port: binary and text clients, each served on its event loop by a
/// ``ClientConnectionHandler``.
///
/// Bounded: at most `limits.maxConnections` connections, `limits.maxConnectionsPerAddress` of them from one
/// address (more are closed at once, and said so in the log at most every 10 s), lines and frames up to the
/// configured limits, and a connection that sends nothing for `limits.idleTimeout` is closed (unless it waits
/// for an answer while reading its replies). A client that half-closes gets the replies to what it sent, then
/// the connection closes. On graceful shutdown the listener closes, each connection finishes the request it is
/// serving, answers the ones waiting `unavailable` and closes, and `run()` returns once all are closed (a client
/// that reads none of it is cut off after ``shutdownGrace``).
struct TrackerServer: Service, CustomStringConvertible {
    let host: String
    let port: Int
    let limits: LimitsConfig
    let engine: TrackerEngine
    let group: any EventLoopGroup
    let logger: Logger

    /// How long a stopping connection may take to deliver its last replies before it is closed regardless.
    static let shutdownGrace = TimeAmount.seconds(10)

    /// How service lifecycle logs name it: the address, and nothing of the engine (which holds the secret).
    var description: String { "TrackerServer(\(self.host):\(self.port))" }

    func run() async throws {
        let gate = ConnectionGate(limit: self.limits.maxConnections, perAddress: self.limits.maxConnectionsPerAddress)
        let refusals = LogThrottle()
        let budget = InputBudget(total: self.limits.maxBufferedInput)
        let (limits, engine, logger) = (self.limits, self.engine, self.logger)
        let quiesce = ServerQuiescingHelper(group: self.group)
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // One read (at most 64 KiB) per read event, so pausing reads takes effect at once.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 << 10, high: 256 << 10))
            .childChannelInitializer { channel in
                switch gate.admit(channel) {
                case .admitted:
                    break
                case .full, .addressFull:
                    if let suppressed = refusals.permit() {
                        logger.warning(
                            "too many connections; closing new ones",
                            metadata: [
                                "limit": "\(limits.maxConnections)",
                                "limit.per_address": "\(limits.maxConnectionsPerAddress)",
                                "conn.peer": "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")",
                                "log.suppressed": "\(suppressed)",
                            ])
                    }
                    return channel.close()
                }
                engine.metrics.connectionOpened()
                channel.closeFuture.whenComplete { _ in engine.metrics.connectionClosed() }
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
        // The listener closes and each connection is asked to finish (`ChannelShouldQuiesceEvent`); run() returns
        // once every one has closed.
        try await withGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onGracefulShutdown: {
            quiesce.initiateShutdown(promise: nil)
        }
        let allClosed = listener.eventLoop.makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: allClosed)
        try? await allClosed.futureResult.get()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
