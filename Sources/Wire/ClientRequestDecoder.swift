import NIOCore

/// Decodes what a client sends to the tracker's client port, text or binary, into ``ClientInbound`` messages.
///
/// The first byte decides the format for the whole connection: `0x89` (the first byte of ``Preface/magic``) means
/// binary, anything else text. The framing is ``DualFormatFramer``'s, which the peer port's
/// ``PeerInboundDecoder`` shares; this decoder turns frames and lines into requests.
///
/// - Binary: the 5-byte ``Preface`` first, emitted as ``ClientInbound/preface``; then request frames, each
///   emitted as ``ClientInbound/request(_:requestID:_:)``. A frame whose kind is unknown or whose payload does not
///   decode is skipped and reported as ``ClientInbound/invalid(_:requestID:_:)``, and decoding goes on.
/// - Text: `COMMAND|arg|arg` lines ended by `\n` (a `\r` before it is dropped), parsed by
///   ``TextAdapter/parse(_:)``; empty lines are ignored. Every message carries request id 0.
///
/// After an error that ``WireError/isFatal`` (a bad preface, a frame over `maxFrame`, a line over `maxLine`,
/// a connection cut mid-frame) the decoder emits nothing more and discards every byte it is given: the stream can
/// no longer be trusted, and the connection is expected to close once the error is answered.
///
/// Until the connection has a session (``hasSession``), a frame may be no longer than `maxFrameBeforeSession`:
/// a connection that has not logged in can make the tracker hold only small frames.
///
/// Memory is bounded by the limits, whatever the client sends: between calls the decoder leaves at most
/// `maxFrame + 4` bytes buffered in binary mode (`maxFrameBeforeSession + 4` without a session, 5 before the
/// preface) and `maxLine + 1` in text mode.
public struct ClientRequestDecoder: ByteToMessageDecoder, Sendable {
    /// What the decoder emits.
    public typealias InboundOut = ClientInbound

    /// The largest frame accepted before a session by default: enough for any request but an upload.
    public static let defaultMaxFrameBeforeSession = 64 << 10

    private let maxFrame: Int
    private let maxFrameBeforeSession: Int
    private var framer: DualFormatFramer
    /// Whether the connection has a session: frames up to `maxFrame` are taken only then.
    public var hasSession = false {
        didSet { self.framer.maxFrame = self.hasSession ? self.maxFrame : self.maxFrameBeforeSession }
    }

    /// Creates a decoder for one connection.
    /// - Parameters:
    ///   - maxFrame: The largest frame length accepted (kind byte plus payload): `limits.max_frame`.
    ///   - maxLine: The longest text line accepted, without its `\r\n` or `\n`: `limits.max_line`.
    ///   - maxFrameBeforeSession: The largest frame length accepted while ``hasSession`` is false.
    public init(maxFrame: Int, maxLine: Int, maxFrameBeforeSession: Int = Self.defaultMaxFrameBeforeSession) {
        self.maxFrame = maxFrame
        self.maxFrameBeforeSession = min(maxFrame, maxFrameBeforeSession)
        self.framer = DualFormatFramer(
            magic: Preface.magic, version: Preface.version, maxFrame: self.maxFrameBeforeSession, maxLine: maxLine)
    }

    /// How many bytes the binary frame starting at the front of `buffer` takes whole (its length field too), once
    /// its length field is there; nil for text, before the preface, or when `buffer` holds less than the field.
    public func pendingFrameSize(in buffer: ByteBuffer) -> Int? {
        guard self.framer.isReadingFrames, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)
        else { return nil }
        return Frame.lengthFieldSize + Int(length)
    }

    /// The next message at the front of `buffer`, consuming its bytes; nil when more bytes are needed. With
    /// `atEnd` (the client will send nothing more) what is left is decoded too, as
    /// ``decodeLast(context:buffer:seenEOF:)`` does. A connection handler that takes messages only when it has
    /// room for them calls this directly.
    public mutating func nextMessage(from buffer: inout ByteBuffer, atEnd: Bool) -> ClientInbound? {
        guard let input = self.framer.next(&buffer) ?? (atEnd ? self.framer.finish(&buffer) : nil) else { return nil }
        switch input {
        case .preface:
            return .preface
        case .frame(let frame):
            do {
                let decoded = try frame.decodeRequest()
                return .request(.binary, requestID: decoded.requestID, decoded.request)
            } catch {
                return .invalid(.binary, requestID: frame.requestID, error)
            }
        case .line(let text):
            switch TextAdapter.parse(Substring(text)) {
            case .success(let request): return .request(.text, requestID: 0, request)
            case .failure(let error): return .invalid(.text, requestID: 0, error)
            }
        case .invalid(.binary, let error)
        where !self.hasSession && (error.refusedFrameLength ?? .max) <= UInt64(self.maxFrame):
            // A frame a session could send says so; one over max_frame is refused as such either way.
            let length = error.refusedFrameLength ?? 0
            return .invalid(
                .binary, requestID: 0, .frameTooLargeBeforeSession(length: length, limit: self.maxFrameBeforeSession))
        case .invalid(let format, let error):
            return .invalid(format, requestID: 0, error)
        }
    }

    /// Emits the next message once its bytes are all there.
    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = self.nextMessage(from: &buffer, atEnd: false) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    /// Emits what is left at the end of the stream: a partial text line is parsed as a line, a partial frame or
    /// preface is reported once as ``WireError/truncated``.
    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        guard let message = self.nextMessage(from: &buffer, atEnd: seenEOF) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }
}
