import Foundation
import NIOCore
import NIOPosix
import PeerControl
import Wire

/// The daemon's command socket, `<home>/peer/peer.sock` (mode 0600, bound in the 0700 state directory): one JSON
/// ``ControlRequest`` per connection, on one line, answered by JSON ``ControlReply`` lines, the last of which is not
/// progress. Each command is answered in a child task of ``serve(_:answered:)``; nothing outlives it.
///
/// Connections are plain channels whose first line is handed over through a stream, not `NIOAsyncChannel`s: a
/// connection accepted while the socket closes would be an `NIOAsyncChannel` that nobody takes, on which NIO traps
/// (apple/swift-nio#3481; `tandemd peer` died so when a new daemon probed the socket of one that was stopping).
struct ControlServer: Sendable {
    /// Answers one command; progress lines go out through the second argument before the answer.
    typealias Handler =
        @Sendable (ControlRequest, _ progress: @escaping @Sendable (ControlReply) async -> Void) async
        -> ControlReply

    /// A connection's command line, with the connection to answer on.
    struct Command: Sendable {
        let connection: any Channel
        let line: ByteBuffer
    }

    let path: String
    private let listener: any Channel
    private let commands: AsyncStream<Command>
    private let arrivals: AsyncStream<Command>.Continuation

    /// The longest request line taken.
    static let maxLine = 64 << 10

    /// Binds `path`, replacing a stale socket that nobody answers on.
    ///
    /// - Throws: ``PeerError`` when another daemon answers there.
    static func bind(path: String, group: any EventLoopGroup) async throws -> ControlServer {
        if FileManager.default.fileExists(atPath: path) {
            if let other = try? await ClientBootstrap(group: group).connect(unixDomainSocketPath: path).get() {
                try? await other.close()
                throw PeerError.daemonRunning(socket: path)
            }
            unlink(path)
        }
        let (commands, arrivals) = AsyncStream<Command>.makeStream()
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(LineDecoder(maxLine: Self.maxLine)), CommandReader(arrivals: arrivals))
                }
            }
            .bind(unixDomainSocketPath: path).get()
        chmod(path, 0o600)
        return ControlServer(path: path, listener: listener, commands: commands, arrivals: arrivals)
    }

    /// Serves commands with `handle` until ``close()``, and until every command taken has been answered;
    /// `answered` runs once a command's answer is written (a `stop` takes effect only then, so that its answer
    /// is not cut off by the stop).
    func serve(_ handle: @escaping Handler, answered: @escaping @Sendable (ControlRequest) -> Void) async {
        await withDiscardingTaskGroup { group in
            for await command in self.commands {
                group.addTask { await Self.answer(command, handle, answered) }
            }
        }
    }

    /// Stops taking commands and removes the socket file.
    func close() async {
        try? await self.listener.close()
        self.arrivals.finish()
        unlink(self.path)
    }

    private static func answer(
        _ command: Command, _ handle: @escaping Handler, _ answered: @Sendable (ControlRequest) -> Void
    ) async {
        let connection = command.connection
        let send: @Sendable (ControlReply) async -> Void = { reply in
            guard let data = try? JSONEncoder().encode(reply) else { return }
            var buffer = ByteBuffer(bytes: data)
            buffer.writeInteger(UInt8(ascii: "\n"))
            try? await connection.writeAndFlush(buffer)
        }
        if let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(command.line.readableBytesView)) {
            // A client that goes away before its answer (Ctrl-C) cancels the command: a share is not published.
            await withTaskGroup(of: ControlReply?.self) { group in
                group.addTask { await handle(request, send) }
                group.addTask {
                    try? await connection.closeFuture.get()
                    return nil
                }
                guard case .some(.some(let reply)) = await group.next() else {
                    group.cancelAll()
                    return
                }
                await send(reply)
                answered(request)
                // The close ends the task that waits for it.
                try? await connection.close()
            }
            return
        } else {
            await send(
                .failed(
                    message: "the peer daemon did not understand the command; tandemctl and tandemd differ?",
                    exitCode: 2))
        }
        try? await connection.close()
    }
}

/// Hands a connection's first line to the server's stream; a connection that comes once the server has closed,
/// or whose line is too long, is closed.
private final class CommandReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let arrivals: AsyncStream<ControlServer.Command>.Continuation
    private var taken = false

    init(arrivals: AsyncStream<ControlServer.Command>.Continuation) {
        self.arrivals = arrivals
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.taken else { return }
        self.taken = true
        let command = ControlServer.Command(connection: context.channel, line: Self.unwrapInboundIn(data))
        if case .terminated = self.arrivals.yield(command) { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension CommandReader: Sendable {}
