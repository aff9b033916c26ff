import NIOCore

/// Decodes what the tracker sends a binary client: its 5-byte preface, then reply frames.
///
/// Any error is thrown as a ``WireError``: a wrong preface (``WireError/badPreface``,
/// ``WireError/unsupportedVersion(_:)``), a frame over `maxFrame` (refused before it is buffered), an unknown kind
/// or a malformed payload. A bad frame is consumed before its error is thrown, so a caller driving
/// ``decode(buffer:)`` directly can go on with the next frame.
public struct ReplyFrameDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// What the decoder emits.
    public typealias InboundOut = ReplyFrame

    private let maxFrame: Int
    private var sawPreface = false

    /// Creates a decoder that refuses frames longer than `maxFrame` (kind byte plus payload).
    public init(maxFrame: Int) {
        self.maxFrame = maxFrame
    }

    /// The next reply frame, or nil until its bytes are all there; the preface is checked and consumed first.
    /// - Throws: ``WireError/badPreface``, ``WireError/unsupportedVersion(_:)``,
    ///   ``WireError/frameTooLarge(length:limit:)``, ``WireError/unknownKind(_:)`` or
    ///   ``WireError/malformedPayload(_:)``.
    public mutating func decode(buffer: inout ByteBuffer) throws(WireError) -> ReplyFrame? {
        if !self.sawPreface {
            guard let preface = buffer.getBytes(at: buffer.readerIndex, length: Preface.length),
                let version = preface.last
            else { return nil }
            guard preface.prefix(Preface.magic.count).elementsEqual(Preface.magic) else { throw .badPreface }
            guard version == Preface.version else { throw .unsupportedVersion(version) }
            buffer.moveReaderIndex(forwardBy: Preface.length)
            self.sawPreface = true
        }
        return try buffer.readFrame(maxFrame: self.maxFrame)?.decodeReply()
    }

    /// Like ``decode(buffer:)``; at the end of the stream a partial preface or frame throws
    /// ``WireError/truncated``.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(WireError) -> ReplyFrame? {
        if let frame = try self.decode(buffer: &buffer) {
            return frame
        }
        guard !seenEOF || buffer.readableBytes == 0 else { throw .truncated }
        return nil
    }
}
