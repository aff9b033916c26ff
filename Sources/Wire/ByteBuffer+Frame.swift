import NIOCore

/// One frame cut from a stream: `[UInt32 length][UInt8 kind][payload]`, where the length counts the kind and the
/// payload. The client port and the sync port both speak in frames; each gives the kinds its own meaning.
public struct Frame: Sendable {
    /// The bytes of the length field before each frame.
    public static let lengthFieldSize = 4

    /// The kind byte: which message the payload holds.
    public var kind: UInt8
    /// Everything after the kind byte, complete.
    public var payload: ByteBuffer

    /// A frame of `kind` holding `payload`.
    public init(kind: UInt8, payload: ByteBuffer) {
        self.kind = kind
        self.payload = payload
    }

    /// The request id the payload starts with, or 0 when the payload is too short to hold one; for error replies
    /// about a frame that did not decode.
    var requestID: UInt32 {
        self.payload.getInteger(at: self.payload.readerIndex) ?? 0
    }

    /// Decodes the payload as a request frame.
    /// - Throws: ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    func decodeRequest() throws(WireError) -> RequestFrame {
        guard RequestKind(rawValue: self.kind) != nil else { throw .unknownKind(self.kind) }
        var payload = self.payload
        let requestID = try payload.readWireInteger("request id", as: UInt32.self)
        let request = try payload.readRequest(kind: self.kind)
        try payload.expectEnd()
        return RequestFrame(requestID: requestID, request: request)
    }

    /// Decodes the payload as a reply frame.
    /// - Throws: ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    func decodeReply() throws(WireError) -> ReplyFrame {
        guard ReplyKind(rawValue: self.kind) != nil else { throw .unknownKind(self.kind) }
        var payload = self.payload
        let requestID = try payload.readWireInteger("request id", as: UInt32.self)
        let reply = try payload.readReply(kind: self.kind)
        try payload.expectEnd()
        return ReplyFrame(requestID: requestID, reply: reply)
    }
}

extension ByteBuffer {
    /// Writes `frame` as one binary request frame.
    ///
    /// - Returns: The number of bytes written, length field included.
    @discardableResult
    public mutating func writeRequestFrame(_ frame: RequestFrame) -> Int {
        self.writeFrame(kind: frame.request.kind.rawValue) { payload in
            payload.writeInteger(frame.requestID) + payload.writeRequest(frame.request)
        }
    }

    /// Writes `frame` as one binary reply frame.
    ///
    /// - Returns: The number of bytes written, length field included.
    @discardableResult
    public mutating func writeReplyFrame(_ frame: ReplyFrame) -> Int {
        self.writeFrame(kind: frame.reply.kind.rawValue) { payload in
            payload.writeInteger(frame.requestID) + payload.writeReply(frame.reply)
        }
    }

    /// Writes one frame of `kind`; `writePayload` appends the payload and returns how many bytes it wrote.
    ///
    /// - Returns: The number of bytes written, length field included.
    @discardableResult
    public mutating func writeFrame(kind: UInt8, _ writePayload: (inout ByteBuffer) -> Int) -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt32(0))
        let length = self.writeInteger(kind) + writePayload(&self)
        self.setFrameLength(length, at: start)
        return Frame.lengthFieldSize + length
    }

    /// Cuts the next frame off the front of the buffer once it is all there.
    ///
    /// Peeks at the length without consuming anything until the whole frame is buffered, and refuses a length
    /// over `maxFrame` as soon as the length field is readable, so an oversized frame is never waited for.
    /// - Returns: The frame, or nil when more bytes are needed (nothing consumed).
    /// - Throws: ``WireError/frameTooLarge(length:limit:)`` (nothing consumed), or
    ///   ``WireError/malformedPayload(_:)`` for a zero length (the length field is consumed, so the stream stays in
    ///   step).
    public mutating func readFrame(maxFrame: Int) throws(WireError) -> Frame? {
        guard let length = self.getInteger(at: self.readerIndex, as: UInt32.self) else { return nil }
        guard UInt64(length) <= UInt64(max(maxFrame, 0)) else {
            throw .frameTooLarge(length: UInt64(length), limit: maxFrame)
        }
        guard length > 0 else {
            self.moveReaderIndex(forwardBy: Frame.lengthFieldSize)
            throw .malformedPayload("frame length is 0; it counts the kind byte and the payload, so it is at least 1")
        }
        // getSlice is nil until the whole frame is buffered; the kind byte is there since the length is at least 1.
        guard var body = self.getSlice(at: self.readerIndex + Frame.lengthFieldSize, length: Int(length)),
            let kind = body.readInteger(as: UInt8.self)
        else { return nil }
        self.moveReaderIndex(forwardBy: Frame.lengthFieldSize + Int(length))
        return Frame(kind: kind, payload: body)
    }

    /// Refuses bytes left after a payload's fields.
    func expectEnd() throws(WireError) {
        guard self.readableBytes == 0 else {
            throw .malformedPayload("\(self.readableBytes) trailing bytes after the fields")
        }
    }

    /// Fills in a frame's length field, written as a placeholder before the kind and payload.
    ///
    /// Clamped rather than trapping: a frame over 4 GiB then declares 0xFFFFFFFF and the receiver refuses it by
    /// its size.
    private mutating func setFrameLength(_ length: Int, at index: Int) {
        self.setInteger(UInt32(clamping: length), at: index)
    }
}
