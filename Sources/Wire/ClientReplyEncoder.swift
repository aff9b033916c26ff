import NIOCore

/// Encodes what the tracker writes to a client connection, in the format the client chose.
///
/// ``ClientOutbound/preface`` writes ``Preface/bytes``; a binary reply writes a reply frame; a text reply writes
/// ``TextAdapter/render(_:)-(Reply)`` and a `\n`. A binary reply longer than `maxFrame` (which the client's
/// decoder would refuse) is replaced by a `too_large` error frame, so the stream stays in step.
public struct ClientReplyEncoder: MessageToByteEncoder, Sendable {
    /// What the encoder takes.
    public typealias OutboundIn = ClientOutbound

    private let maxFrame: Int

    /// Creates an encoder for clients that accept frames of up to `maxFrame` bytes (kind byte plus payload).
    public init(maxFrame: Int) {
        self.maxFrame = maxFrame
    }

    /// Writes one message.
    public func encode(data: ClientOutbound, out: inout ByteBuffer) throws {
        switch data {
        case .preface:
            out.writeBytes(Preface.bytes)
        case .reply(.binary, let requestID, let reply):
            let start = out.writerIndex
            let written = out.writeReplyFrame(ReplyFrame(requestID: requestID, reply: reply))
            let frameLength = written - Frame.lengthFieldSize
            if frameLength > self.maxFrame {
                out.moveWriterIndex(to: start)
                let refusal = Reply.error(
                    .tooLarge,
                    "the reply is \(frameLength) bytes, over max_frame (\(self.maxFrame)); raise limits.max_frame")
                out.writeReplyFrame(ReplyFrame(requestID: requestID, reply: refusal))
            }
        case .reply(.text, _, let reply):
            out.writeString(TextAdapter.render(reply))
            out.writeInteger(UInt8(ascii: "\n"))
        }
    }
}
