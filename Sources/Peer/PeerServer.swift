import NIOCore
import NIOPosix
import Synchronization
import Wire

/// The listening side of a peer daemon: accepts downloaders, up to `maxPeers` at once, each served by a
/// ``PeerServerHandler``.
final class PeerServer: Sendable {
    let channel: any Channel
    private let connections: Connections

    /// The port it listens on.
    var port: Int { self.channel.localAddress?.port ?? 0 }

    private init(channel: any Channel, connections: Connections) {
        self.channel = channel
        self.connections = connections
    }

    /// Binds `host:port` (port 0 picks a free one).
    static func start(
        host: String, port: Int, group: any EventLoopGroup, library: Library, checker: AccessChecker,
        maxPeers: Int, greetingTimeout: TimeAmount
    ) async throws -> PeerServer {
        let connections = Connections(limit: maxPeers)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 2 << 20, high: 4 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    guard connections.open() else {
                        try pipeline.addHandler(Refuser(limit: maxPeers))
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.close() }
                    try pipeline.addHandler(
                        ByteToMessageHandler(PeerInboundDecoder(maxFrame: 64 << 10, maxLine: 4 << 10)))
                    try pipeline.addHandler(
                        PeerServerHandler(library: library, checker: checker, greetingTimeout: greetingTimeout))
                }
            }
            .bind(host: host, port: port).get()
        return PeerServer(channel: channel, connections: connections)
    }

    func stop() async {
        try? await self.channel.close()
    }

    /// Counts open connections against the limit.
    private final class Connections: Sendable {
        private let count = Atomic<Int>(0)
        private let limit: Int

        init(limit: Int) { self.limit = limit }

        func open() -> Bool {
            if self.count.add(1, ordering: .relaxed).newValue <= self.limit { return true }
            self.count.subtract(1, ordering: .relaxed)
            return false
        }

        func close() { self.count.subtract(1, ordering: .relaxed) }
    }

    /// Answers a connection over the limit with an error (a frame, which a text client sees as bytes too) and
    /// closes it.
    private final class Refuser: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let limit: Int

        init(limit: Int) { self.limit = limit }

        func channelActive(context: ChannelHandlerContext) {
            var buffer = context.channel.allocator.buffer(capacity: 128)
            buffer.writeBytes(PeerPreface.bytes)
            buffer.writePeerReply(
                .error(
                    code: .unavailable, message: "this peer serves \(self.limit) connections already; try again later"))
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
