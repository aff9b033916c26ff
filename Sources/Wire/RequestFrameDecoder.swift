import NIOCore

/// Decodes request frames alone, with no preface: the binary frame layer for tests and fuzzing.
///
/// The tracker uses ``ClientRequestDecoder``, which also handles the preface, text clients and recovery from bad
/// frames. This decoder throws instead: a frame whose kind is unknown or whose payload is malformed is consumed
/// before the error is thrown, so a caller driving ``decode(buffer:)`` directly can go on with the next frame.
public struct RequestFrameDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// What the decoder emits.
    public typealias InboundOut = RequestFrame

    private let maxFrame: Int

    /// Creates a decoder that refuses frames longer than `maxFrame` (kind byte plus payload).
    public init(maxFrame: Int) {
        self.maxFrame = maxFrame
    }

    /// The next request frame, or nil until its bytes are all there.
    /// - Throws: ``WireError/frameTooLarge(length:limit:)`` (before the frame is buffered),
    ///   ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    public mutating func decode(buffer: inout ByteBuffer) throws(WireError) -> RequestFrame? {
        try buffer.readFrame(maxFrame: self.maxFrame)?.decodeRequest()
    }

    /// Like ``decode(buffer:)``; at the end of the stream a partial frame throws ``WireError/truncated``.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(WireError) -> RequestFrame? {
        if let frame = try self.decode(buffer: &buffer) {
            return frame
        }
        guard !seenEOF || buffer.readableBytes == 0 else { throw .truncated }
        return nil
    }
}
