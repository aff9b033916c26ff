import NIOCore

/// A line a text client sends to a peer daemon (`nc` works): `HELLO|user|group|proof` then
/// `GET_PIECE|file|index`, where `file` is the file id or its name in the group.
public enum PeerTextCommand: Hashable, Sendable {
    case hello(user: String, group: String, proof: [UInt8])
    case getPiece(file: String, index: UInt32)
}

/// What a peer daemon reads from a connection.
public enum PeerInbound: Hashable, Sendable {
    /// A binary client's preface arrived; answer with ``PeerPreface/bytes``.
    case preface
    /// A binary request.
    case request(PeerRequest)
    /// A text command.
    case text(PeerTextCommand)
    /// Bytes that are not a request: answer with the error; close when ``WireError/isFatal`` or binary.
    case invalid(WireError, binary: Bool)
}

/// Decodes what a downloader sends to a peer daemon, binary frames or text lines.
///
/// The first byte decides: `0x89` means binary (``PeerPreface`` then frames of at most `maxFrame` bytes), anything
/// else text (lines of at most `maxLine` bytes). After a fatal error, or any binary error (a peer speaking the
/// protocol badly is not worth keeping), everything is discarded. Memory stays within the limits whatever comes.
public struct PeerInboundDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerInbound

    private enum State: Sendable {
        case undecided
        case preface
        case frames
        case lines(scanned: Int)
        case dead
    }

    private let maxFrame: Int
    private let maxLine: Int
    private var state: State = .undecided

    /// A decoder refusing frames over `maxFrame` bytes and lines over `maxLine` bytes.
    public init(maxFrame: Int, maxLine: Int) {
        self.maxFrame = maxFrame
        self.maxLine = maxLine
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        if let message = self.next(&buffer) {
            context.fireChannelRead(Self.wrapInboundOut(message))
            return .continue
        }
        if case .lines = self.state, buffer.readableBytes > 0 {
            let line = buffer.readableBytesView
            buffer.moveReaderIndex(to: buffer.writerIndex)
            if let message = Self.parse(line: line) { context.fireChannelRead(Self.wrapInboundOut(message)) }
        }
        return .needMoreData
    }

    /// The next message at the front of `buffer`, consuming its bytes; nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) -> PeerInbound? {
        switch self.state {
        case .undecided:
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
            self.state = first == PeerPreface.magic[0] ? .preface : .lines(scanned: 0)
            return self.next(&buffer)
        case .preface:
            let available = min(buffer.readableBytes, PeerPreface.bytes.count)
            let bytes = buffer.getBytes(at: buffer.readerIndex, length: available) ?? []
            guard bytes.prefix(PeerPreface.magic.count).elementsEqual(PeerPreface.magic.prefix(bytes.count)) else {
                return self.fail(.badPreface, binary: true, &buffer)
            }
            guard bytes.count == PeerPreface.bytes.count, let version = bytes.last else { return nil }
            guard version == PeerPreface.version else {
                return self.fail(.unsupportedVersion(version), binary: true, &buffer)
            }
            buffer.moveReaderIndex(forwardBy: PeerPreface.bytes.count)
            self.state = .frames
            return .preface
        case .frames:
            do {
                guard var frame = try buffer.readFrame(maxFrame: self.maxFrame) else { return nil }
                return .request(try frame.payload.readPeerRequest(kind: frame.kind))
            } catch {
                return self.fail(error, binary: true, &buffer)
            }
        case .lines(let scanned):
            return self.nextLine(&buffer, scanned: scanned)
        case .dead:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    private mutating func nextLine(_ buffer: inout ByteBuffer, scanned: Int) -> PeerInbound? {
        while true {
            let readable = buffer.readableBytesView
            let from = readable.index(readable.startIndex, offsetBy: min(scanned, readable.count))
            guard let newline = readable[from...].firstIndex(of: UInt8(ascii: "\n")) else {
                self.state = .lines(scanned: readable.count)
                return readable.count > self.maxLine + 1
                    ? self.fail(.lineTooLong(limit: self.maxLine), binary: false, &buffer) : nil
            }
            let line = readable[readable.startIndex..<newline]
            buffer.moveReaderIndex(forwardBy: readable.distance(from: readable.startIndex, to: newline) + 1)
            self.state = .lines(scanned: 0)
            guard line.count <= self.maxLine + 1 else {
                return self.fail(.lineTooLong(limit: self.maxLine), binary: false, &buffer)
            }
            if let message = Self.parse(line: line) { return message }
        }
    }

    /// One line without its `\n`; nil for an empty line.
    private static func parse(line: ByteBufferView.SubSequence) -> PeerInbound? {
        let content = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        guard !content.isEmpty else { return nil }
        let text = String(decoding: content, as: UTF8.self)
        guard text.utf8.elementsEqual(content) else {
            return .invalid(.badLine("line is not valid UTF-8"), binary: false)
        }
        switch PeerTextCommand.parse(text) {
        case .success(let command): return .text(command)
        case .failure(let error): return .invalid(error, binary: false)
        }
    }

    private mutating func fail(_ error: WireError, binary: Bool, _ buffer: inout ByteBuffer) -> PeerInbound {
        if binary || error.isFatal {
            self.state = .dead
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        return .invalid(error, binary: binary)
    }
}

extension PeerTextCommand {
    /// Parses `HELLO|user|group|proof` or `GET_PIECE|file|index`.
    public static func parse(_ line: String) -> Result<PeerTextCommand, WireError> {
        let fields = line.unicodeScalars.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "HELLO":
            guard fields.count == 4, !fields[1].isEmpty, !fields[2].isEmpty else {
                return .failure(.badLine("HELLO takes 3 fields: HELLO|user|group|proof"))
            }
            guard let proof = Hex.decode(Substring(fields[3])) else {
                return .failure(.badLine("HELLO: proof '\(fields[3].prefix(64))' is not hex"))
            }
            return .success(.hello(user: fields[1], group: fields[2], proof: proof))
        case "GET_PIECE":
            guard fields.count == 3, !fields[1].isEmpty else {
                return .failure(.badLine("GET_PIECE takes 2 fields: GET_PIECE|file|index"))
            }
            let index = fields[2]
            guard !index.isEmpty, index.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = UInt32(index)
            else {
                return .failure(
                    .badLine("GET_PIECE: index '\(index.prefix(64))' is not a piece number (0 to \(UInt32.max))"))
            }
            return .success(.getPiece(file: fields[1], index: value))
        default:
            return .failure(.unknownCommand(String((fields.first ?? "").prefix(64))))
        }
    }
}
