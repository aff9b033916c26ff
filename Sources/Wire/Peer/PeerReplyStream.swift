import NIOCore

/// What a downloader reads from a serving peer, in order.
public enum PeerStreamEvent: Hashable, Sendable {
    /// The serving peer answered the preface.
    case preface
    /// A whole reply; for a piece frame, its header: the data follows as ``data(_:)`` events.
    case reply(PeerReply)
    /// The next bytes of the current piece frame's data, as they arrive: never the whole piece held at once.
    /// `remaining` is how many bytes of the frame are still to come after these.
    case data(ByteBuffer, remaining: Int)
}

/// Cuts the byte stream from a serving peer into events without buffering piece data: a piece frame's bytes are
/// handed on as each read delivers them, so a downloader can write them to disk and hash them as they come.
///
/// Control frames are buffered whole, up to `maxFrame` bytes; a piece frame may carry up to `maxPieceData` bytes.
public struct PeerReplyStream: Sendable {
    private enum State: Sendable {
        case preface
        case frames
        case pieceData(remaining: Int)
    }

    private let maxFrame: Int
    private let maxPieceData: Int
    private var state: State = .preface

    /// The bytes of a piece frame's header after the length field: kind, piece, offset.
    private static let pieceHeaderLength = 1 + 4 + 4

    public init(maxFrame: Int, maxPieceData: Int) {
        self.maxFrame = maxFrame
        self.maxPieceData = maxPieceData
    }

    /// Whether the stream stopped in the middle of a frame.
    public var isMidFrame: Bool {
        if case .pieceData = self.state { true } else { false }
    }

    /// The next event from the front of `buffer`, consuming its bytes; nil when more bytes are needed.
    /// - Throws: ``WireError`` for a bad preface, a frame over the limits or one that does not decode. The stream
    ///   cannot be trusted after that.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireError) -> PeerStreamEvent? {
        switch self.state {
        case .preface:
            guard let bytes = buffer.getBytes(at: buffer.readerIndex, length: PeerPreface.bytes.count) else {
                return nil
            }
            guard bytes.prefix(PeerPreface.magic.count).elementsEqual(PeerPreface.magic) else { throw .badPreface }
            guard bytes.last == PeerPreface.version else { throw .unsupportedVersion(bytes.last ?? 0) }
            buffer.moveReaderIndex(forwardBy: bytes.count)
            self.state = .frames
            return .preface
        case .pieceData(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let take = min(remaining, buffer.readableBytes)
            let data = buffer.readSlice(length: take)!
            self.state = take == remaining ? .frames : .pieceData(remaining: remaining - take)
            return .data(data, remaining: remaining - take)
        case .frames:
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                let kind = buffer.getInteger(at: buffer.readerIndex + Frame.lengthFieldSize, as: UInt8.self)
            else { return nil }
            if kind == PeerReplyKind.piece.rawValue {
                return try self.pieceHeader(&buffer, length: Int(length))
            }
            guard var frame = try buffer.readFrame(maxFrame: self.maxFrame) else { return nil }
            return .reply(try frame.payload.readPeerReply(kind: frame.kind))
        }
    }

    private mutating func pieceHeader(_ buffer: inout ByteBuffer, length: Int) throws(WireError) -> PeerStreamEvent? {
        guard length >= Self.pieceHeaderLength else {
            throw .malformedPayload("a piece frame of \(length) bytes is shorter than its header")
        }
        let dataLength = length - Self.pieceHeaderLength
        guard dataLength <= self.maxPieceData else {
            throw .frameTooLarge(length: UInt64(length), limit: self.maxPieceData + Self.pieceHeaderLength)
        }
        guard buffer.readableBytes >= Frame.lengthFieldSize + Self.pieceHeaderLength else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.lengthFieldSize + 1)
        let piece = buffer.readInteger(as: UInt32.self)!
        let offset = buffer.readInteger(as: UInt32.self)!
        self.state = dataLength == 0 ? .frames : .pieceData(remaining: dataLength)
        return .reply(.piece(PieceRange(piece: piece, offset: offset, length: UInt32(dataLength))))
    }
}

/// ``PeerReplyStream`` behind NIO's `ByteToMessageHandler`: emits each ``PeerStreamEvent`` as its bytes arrive;
/// a bad frame is thrown (the connection cannot be trusted after it), and a stream that ends in the middle of a
/// frame ends with ``WireError/truncated``.
public struct PeerReplyDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerStreamEvent
    private var stream: PeerReplyStream

    public init(maxFrame: Int, maxPieceData: Int) {
        self.stream = PeerReplyStream(maxFrame: maxFrame, maxPieceData: maxPieceData)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws(WireError) -> PeerStreamEvent? {
        try self.stream.next(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(WireError) -> PeerStreamEvent? {
        if let event = try self.stream.next(&buffer) { return event }
        guard !seenEOF || (buffer.readableBytes == 0 && !self.stream.isMidFrame) else { throw .truncated }
        return nil
    }
}
