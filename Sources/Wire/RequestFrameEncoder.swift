import NIOCore

/// Encodes a binary client's requests as frames.
///
/// It writes frames only: the client writes ``Preface/bytes`` itself as soon as it connects, before the first
/// request, and reads the tracker's preface back with ``ReplyFrameDecoder``.
public struct RequestFrameEncoder: MessageToByteEncoder, Sendable {
    /// What the encoder takes.
    public typealias OutboundIn = RequestFrame

    /// Creates an encoder; it keeps no state.
    public init() {}

    /// Writes one request frame.
    public func encode(data: RequestFrame, out: inout ByteBuffer) throws {
        out.writeRequestFrame(data)
    }
}
