import NIOCore

/// Encodes what the tracker writes to a client connection, in the format the client chose.
///
/// ``ClientOutbound/preface`` writes ``Preface/bytes``; a binary reply writes a reply frame; a text reply writes
/// ``TextAdapter/render(_:)-(Reply)`` and a `\n`.
public struct ClientReplyEncoder: MessageToByteEncoder, Sendable {
    /// What the encoder takes.
    public typealias OutboundIn = ClientOutbound

    /// Creates an encoder; it keeps no state.
    public init() {}

    /// Writes one message.
    public func encode(data: ClientOutbound, out: inout ByteBuffer) throws {
        switch data {
        case .preface:
            out.writeBytes(Preface.bytes)
        case .reply(.binary, let requestID, let reply):
            out.writeReplyFrame(ReplyFrame(requestID: requestID, reply: reply))
        case .reply(.text, _, let reply):
            out.writeString(TextAdapter.render(reply))
            out.writeInteger(UInt8(ascii: "\n"))
        }
    }
}
