import Foundation
import NIOCore
import NIOPosix
import PeerControl
import Wire

/// The daemon's command socket, `<home>/peer/peer.sock` (mode 0600, bound in the 0700 state directory): one JSON
/// ``ControlRequest`` per connection, on one line, answered by JSON ``ControlReply`` lines, the last of which is not
/// progress. Each connection is served in a child task of ``serve(_:)``; nothing outlives it.
struct ControlServer: Sendable {
    /// Answers one command; progress lines go out through the second argument before the answer.
    typealias Handler =
        @Sendable (ControlRequest, _ progress: @escaping @Sendable (ControlReply) async -> Void) async
        -> ControlReply

    let path: String
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

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
        let server = try await ServerBootstrap(group: group).bind(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLine: Self.maxLine)))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        chmod(path, 0o600)
        return ControlServer(path: path, server: server)
    }

    /// Serves commands with `handle` until ``close()``, and until every command taken has been answered;
    /// `answered` runs once a command's answer is written (a `stop` takes effect only then, so that its answer
    /// is not cut off by the stop).
    func serve(_ handle: @escaping Handler, answered: @escaping @Sendable (ControlRequest) -> Void) async {
        try? await self.server.executeThenClose { connections in
            await withDiscardingTaskGroup { group in
                do {
                    for try await connection in connections {
                        group.addTask { try? await Self.answer(connection, handle, answered) }
                    }
                } catch {
                    // The listening socket failed: no more commands are taken; those taken are answered.
                }
            }
        }
    }

    /// Stops taking commands and removes the socket file.
    func close() async {
        try? await self.server.channel.close()
        unlink(self.path)
    }

    private static func answer(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, _ handle: Handler,
        _ answered: @Sendable (ControlRequest) -> Void
    ) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var lines = inbound.makeAsyncIterator()
            guard let line = try await lines.next() else { return }
            let send: @Sendable (ControlReply) async -> Void = { reply in
                guard let data = try? JSONEncoder().encode(reply) else { return }
                var buffer = ByteBuffer(bytes: data)
                buffer.writeInteger(UInt8(ascii: "\n"))
                try? await outbound.write(buffer)
            }
            guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line.readableBytesView))
            else {
                return await send(
                    .failed(
                        message: "the peer daemon did not understand the command; tandemctl and tandemd differ?",
                        exitCode: 2))
            }
            await send(await handle(request, send))
            answered(request)
        }
    }
}
