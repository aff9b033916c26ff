import NIOCore
import NIOPosix
import ServerSupport
import Wire

/// The listening side of a peer daemon: accepts downloaders, up to `maxPeers` at once and `maxPeersPerAddress`
/// from one address, each served by a ``PeerServerHandler``.
final class PeerServer: Sendable {
    let channel: any Channel
    private let connections: ConnectionGate

    /// The port it listens on.
    var port: Int { self.channel.localAddress?.port ?? 0 }

    private init(channel: any Channel, connections: ConnectionGate) {
        self.channel = channel
        self.connections = connections
    }

    /// Binds `host:port` (port 0 picks a free one). A connection has `peerTimeout` to say hello, and is closed
    /// when it does not read what it asked for within `peerTimeout` either.
    static func start(
        host: String, port: Int, group: any EventLoopGroup, library: Library, checker: any AccessChecking,
        metrics: PeerMetrics, maxPeers: Int, maxPeersPerAddress: Int, peerTimeout: TimeAmount
    ) async throws -> PeerServer {
        let connections = ConnectionGate(limit: maxPeers, perAddress: maxPeersPerAddress)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 2 << 20, high: 4 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    switch connections.admit(channel) {
                    case .admitted:
                        break
                    case .full:
                        return try pipeline.addHandler(
                            Refuser(reason: "this peer serves \(maxPeers) connections already; try again later"))
                    case .addressFull:
                        return try pipeline.addHandler(
                            Refuser(
                                reason: "this peer serves \(maxPeersPerAddress) connections from your address already; "
                                    + "close some, or try again later"))
                    }
                    try pipeline.addHandler(
                        ByteToMessageHandler(PeerInboundDecoder(maxFrame: 64 << 10, maxLine: 4 << 10)))
                    try pipeline.addHandler(
                        PeerServerHandler(
                            library: library, checker: checker, metrics: metrics, peerTimeout: peerTimeout))
                }
            }
            .bind(host: host, port: port).get()
        return PeerServer(channel: channel, connections: connections)
    }

    func stop() async {
        try? await self.channel.close()
    }

    /// Answers a connection over the limit with an error (a frame, which a text client sees as bytes too) and
    /// closes it.
    private final class Refuser: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let reason: String

        init(reason: String) { self.reason = reason }

        func channelActive(context: ChannelHandlerContext) {
            var buffer = context.channel.allocator.buffer(capacity: 128)
            buffer.writeBytes(PeerPreface.bytes)
            buffer.writePeerReply(.error(code: .unavailable, message: self.reason))
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
