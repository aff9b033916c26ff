import Foundation
import NIOCore
import NIOPosix
import Wire

/// The daemon's command socket, `<home>/peer/peer.sock` (mode 0600, bound in the 0700 state directory): one JSON
/// ``ControlRequest`` per connection, on one line, answered by JSON ``ControlReply`` lines, the last of which is not
/// progress.
final class ControlServer: Sendable {
    let path: String
    private let channel: any Channel

    /// The longest request line taken.
    static let maxLine = 64 << 10

    private init(path: String, channel: any Channel) {
        self.path = path
        self.channel = channel
    }

    /// Binds `path`, replacing a stale socket that nobody answers on.
    ///
    /// - Throws: ``PeerError`` when another daemon answers there.
    static func start(path: String, group: any EventLoopGroup, daemon: PeerDaemon) async throws -> ControlServer {
        if FileManager.default.fileExists(atPath: path) {
            if let other = try? await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get() {
                try? await other.close()
                throw PeerError("a peer daemon already runs for this home (its socket \(path) answers)", exitCode: 2)
            }
            unlink(path)
        }
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ByteToMessageHandler(LineDecoder(maxLine: Self.maxLine)))
                    try pipeline.addHandler(ControlHandler(daemon: daemon))
                }
            }
            .bind(unixDomainSocketPath: path).get()
        chmod(path, 0o600)
        return ControlServer(path: path, channel: channel)
    }

    func stop() async {
        try? await self.channel.close()
        unlink(self.path)
    }
}

/// Runs one command and writes its reply lines.
private final class ControlHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let daemon: PeerDaemon

    init(daemon: PeerDaemon) { self.daemon = daemon }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let channel = context.channel
        let send: @Sendable (ControlReply) -> Void = { reply in
            guard let data = try? JSONEncoder().encode(reply) else { return }
            var buffer = channel.allocator.buffer(capacity: data.count + 1)
            buffer.writeBytes(data)
            buffer.writeInteger(UInt8(ascii: "\n"))
            channel.writeAndFlush(buffer, promise: nil)
        }
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line.readableBytesView)) else {
            send(
                .failed(
                    message: "the peer daemon did not understand the command; tandemctl and tandemd differ?",
                    exitCode: 2))
            channel.close(promise: nil)
            return
        }
        let daemon = self.daemon
        Task {
            let reply = await daemon.handle(request, progress: send)
            send(reply)
            try? await channel.close()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
