import Cluster
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Wire

/// The tracker's client port: binary and text clients, each connection served in order by its own task.
///
/// Bounded: at most `limits.maxConnections` connections (more are closed at once), lines and frames up to the
/// configured limits, and a connection that sends nothing for `limits.idleTimeout` is closed. On graceful
/// shutdown the listener closes, each connection finishes the request it is serving, and `run()` returns.
struct TrackerServer: Service {
    let host: String
    let port: Int
    let limits: LimitsConfig
    let engine: TrackerEngine
    let group: any EventLoopGroup
    let logger: Logger

    func run() async throws {
        let limits = self.limits
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: self.host, port: self.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(readTimeout: TimeAmount(limits.idleTimeout)))
                    try sync.addHandler(IdleConnectionCloser())
                    try sync.addHandler(
                        ByteToMessageHandler(
                            ClientRequestDecoder(maxFrame: limits.maxFrame, maxLine: limits.maxLine)))
                    try sync.addHandler(MessageToByteHandler(ClientReplyEncoder()))
                    return try NIOAsyncChannel<ClientInbound, ClientOutbound>(wrappingChannelSynchronously: channel)
                }
            }
        self.logger.info(
            "listening for clients",
            metadata: ["tracker.address": "\(listener.channel.localAddress.map { "\($0)" } ?? "?")"])
        let open = ConnectionCount()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        guard open.enter(limit: limits.maxConnections) else {
                            self.logger.warning(
                                "too many connections; closing a new one",
                                metadata: ["limit": "\(limits.maxConnections)"])
                            try? await connection.channel.close()
                            continue
                        }
                        tasks.addTask {
                            await ClientConnection(engine: self.engine, logger: self.logger).serve(connection)
                            open.leave()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }
}

/// How many client connections are open, against the configured maximum.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)

    /// Counts a new connection; false (and not counted) when `limit` are open already.
    func enter(limit: Int) -> Bool {
        if self.open.add(1, ordering: .relaxed).newValue <= limit { return true }
        self.open.subtract(1, ordering: .relaxed)
        return false
    }

    /// Counts a connection that closed.
    func leave() {
        self.open.subtract(1, ordering: .relaxed)
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
