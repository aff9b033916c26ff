import NIOCore
import Wire

/// A blocking binary-protocol client for tests: sends the preface, frames or raw bytes, and decodes replies.
public final class BinaryClient {
    /// The underlying socket, for raw bytes.
    public let socket: LineSocket
    private var decoder = ReplyFrameDecoder(maxFrame: 64 << 20)
    private var received = ByteBuffer()
    private var nextID: UInt32 = 1

    /// Connects to `port`; sends the preface unless `preface` says otherwise.
    public init(port: Int, preface: [UInt8]? = Preface.bytes) throws {
        self.socket = try LineSocket(port: port)
        if let preface { self.socket.send(preface) }
    }

    /// Sends `request` with a fresh request id and returns the reply to it.
    public func request(_ request: Request) throws -> Reply {
        let id = self.nextID
        self.nextID += 1
        return try self.request(request, id: id)
    }

    /// Sends `request` numbered `id` (a retry, or a forgery of another client's number) and returns the reply.
    public func request(_ request: Request, id: UInt32) throws -> Reply {
        var buffer = ByteBuffer()
        buffer.writeRequestFrame(RequestFrame(requestID: id, request: request))
        self.socket.send(Array(buffer.readableBytesView))
        let reply = try self.readReply()
        guard reply.requestID == id else {
            throw SocketError(description: "reply to request \(reply.requestID), expected \(id)")
        }
        return reply.reply
    }

    /// Reads and decodes the next reply frame (checking the server's preface first).
    public func readReply() throws -> ReplyFrame {
        while true {
            if let frame = try self.decoder.decode(buffer: &self.received) { return frame }
            guard let bytes = try self.socket.readSome() else {
                throw SocketError(description: "connection closed before a whole reply")
            }
            self.received.writeBytes(bytes)
        }
    }
}
