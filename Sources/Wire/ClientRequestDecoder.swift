import NIOCore

/// Decodes what a client sends to the tracker's client port, text or binary, into ``ClientInbound`` messages.
///
/// The first byte decides the format for the whole connection: `0x89` (the first byte of ``Preface/magic``) means
/// binary, anything else text.
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

    private enum State: Sendable {
        /// No byte seen yet.
        case undecided
        /// Binary, waiting for the rest of the preface.
        case preface
        /// Binary, reading frames.
        case frames
        /// Text; `scanned` bytes from the reader index are known to hold no newline.
        case lines(scanned: Int)
        /// A fatal error was reported: discard everything.
        case dead
    }

    /// The largest frame accepted before a session by default: enough for any request but an upload.
    public static let defaultMaxFrameBeforeSession = 64 << 10

    private let maxFrame: Int
    private let maxFrameBeforeSession: Int
    private let maxLine: Int
    private var state: State = .undecided
    /// Whether the connection has a session: frames up to `maxFrame` are taken only then.
    public var hasSession = false

    /// Creates a decoder for one connection.
    /// - Parameters:
    ///   - maxFrame: The largest frame length accepted (kind byte plus payload): `limits.max_frame`.
    ///   - maxLine: The longest text line accepted, without its `\r\n` or `\n`: `limits.max_line`.
    ///   - maxFrameBeforeSession: The largest frame length accepted while ``hasSession`` is false.
    public init(maxFrame: Int, maxLine: Int, maxFrameBeforeSession: Int = Self.defaultMaxFrameBeforeSession) {
        self.maxFrame = maxFrame
        self.maxFrameBeforeSession = min(maxFrame, maxFrameBeforeSession)
        self.maxLine = maxLine
    }

    /// How many bytes the binary frame starting at the front of `buffer` takes whole (its length field too), once
    /// its length field is there; nil for text, before the preface, or when `buffer` holds less than the field.
    public func pendingFrameSize(in buffer: ByteBuffer) -> Int? {
        guard case .frames = self.state, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self)
        else { return nil }
        return Frame.lengthFieldSize + Int(length)
    }

    /// The next message at the front of `buffer`, consuming its bytes; nil when more bytes are needed. With
    /// `atEnd` (the client will send nothing more) what is left is decoded too, as
    /// ``decodeLast(context:buffer:seenEOF:)`` does. A connection handler that takes messages only when it has
    /// room for them calls this directly.
    public mutating func nextMessage(from buffer: inout ByteBuffer, atEnd: Bool) -> ClientInbound? {
        self.next(&buffer) ?? (atEnd ? self.finish(&buffer) : nil)
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

    /// The next message from the front of `buffer`, consuming its bytes; nil when more bytes are needed.
    private mutating func next(_ buffer: inout ByteBuffer) -> ClientInbound? {
        switch self.state {
        case .undecided:
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
            self.state = first == Preface.magic.first ? .preface : .lines(scanned: 0)
            return self.next(&buffer)
        case .preface:
            return self.nextPreface(&buffer)
        case .frames:
            return self.nextFrame(&buffer)
        case .lines(let scanned):
            return self.nextLine(&buffer, scanned: scanned)
        case .dead:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    /// What the bytes left at the end of the stream amount to, once ``next(_:)`` has taken every whole message.
    private mutating func finish(_ buffer: inout ByteBuffer) -> ClientInbound? {
        switch self.state {
        case .undecided, .dead:
            return nil
        case .preface, .frames:
            return buffer.readableBytes > 0 ? self.fail(.binary, .truncated, &buffer) : nil
        case .lines:
            let line = buffer.readableBytesView
            buffer.moveReaderIndex(to: buffer.writerIndex)
            self.state = .lines(scanned: 0)
            return self.parse(line: line)
        }
    }

    private mutating func nextPreface(_ buffer: inout ByteBuffer) -> ClientInbound? {
        let available = min(buffer.readableBytes, Preface.length)
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: available) ?? []
        // Refuse a wrong magic as soon as it shows rather than waiting for all five bytes.
        guard bytes.prefix(Preface.magic.count).elementsEqual(Preface.magic.prefix(bytes.count)) else {
            return self.fail(.binary, .badPreface, &buffer)
        }
        guard bytes.count == Preface.length, let version = bytes.last else { return nil }
        guard version == Preface.version else { return self.fail(.binary, .unsupportedVersion(version), &buffer) }
        buffer.moveReaderIndex(forwardBy: Preface.length)
        self.state = .frames
        return .preface
    }

    private mutating func nextFrame(_ buffer: inout ByteBuffer) -> ClientInbound? {
        let frame: Frame
        let limit = self.hasSession ? self.maxFrame : self.maxFrameBeforeSession
        do {
            guard let next = try buffer.readFrame(maxFrame: limit) else { return nil }
            frame = next
        } catch {
            // A frame a session could send says so; one over max_frame is refused as such either way.
            if !self.hasSession, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                Int(length) > limit, Int(length) <= self.maxFrame
            {
                return self.fail(.binary, .frameTooLargeBeforeSession(length: UInt64(length), limit: limit), &buffer)
            }
            return error.isFatal ? self.fail(.binary, error, &buffer) : .invalid(.binary, requestID: 0, error)
        }
        do {
            let decoded = try frame.decodeRequest()
            return .request(.binary, requestID: decoded.requestID, decoded.request)
        } catch {
            return .invalid(.binary, requestID: frame.requestID, error)
        }
    }

    private mutating func nextLine(_ buffer: inout ByteBuffer, scanned: Int) -> ClientInbound? {
        var scanned = scanned
        while true {
            let readable = buffer.readableBytesView
            let unscanned = readable.index(readable.startIndex, offsetBy: min(scanned, readable.count))
            guard let newline = readable[unscanned...].firstIndex(of: UInt8(ascii: "\n")) else {
                self.state = .lines(scanned: readable.count)
                // The line is at least this long, even if the next byte is the `\n` after a buffered `\r`.
                let shortest = readable.last == UInt8(ascii: "\r") ? readable.count - 1 : readable.count
                return shortest > self.maxLine ? self.fail(.text, .lineTooLong(limit: self.maxLine), &buffer) : nil
            }
            let line = readable[readable.startIndex..<newline]
            buffer.moveReaderIndex(forwardBy: readable.distance(from: readable.startIndex, to: newline) + 1)
            self.state = .lines(scanned: 0)
            scanned = 0
            guard line.count <= self.maxLine + (line.last == UInt8(ascii: "\r") ? 1 : 0) else {
                return self.fail(.text, .lineTooLong(limit: self.maxLine), &buffer)
            }
            if let message = self.parse(line: line) {
                return message
            }
        }
    }

    /// Parses one line without its `\n`; nil for an empty line, which is ignored.
    private func parse(line: ByteBufferView.SubSequence) -> ClientInbound? {
        let content = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        guard !content.isEmpty else { return nil }
        // Decoding repairs invalid sequences with U+FFFD; valid UTF-8, and only valid UTF-8, comes back unchanged.
        let text = String(decoding: content, as: UTF8.self)
        guard text.utf8.elementsEqual(content) else {
            return .invalid(.text, requestID: 0, .badLine("line is not valid UTF-8"))
        }
        switch TextAdapter.parse(Substring(text)) {
        case .success(let request): return .request(.text, requestID: 0, request)
        case .failure(let error): return .invalid(.text, requestID: 0, error)
        }
    }

    /// Reports a fatal error and enters the dead state, discarding what is buffered.
    private mutating func fail(
        _ format: ClientFormat, _ error: WireError, _ buffer: inout ByteBuffer
    ) -> ClientInbound {
        self.state = .dead
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .invalid(format, requestID: 0, error)
    }
}
