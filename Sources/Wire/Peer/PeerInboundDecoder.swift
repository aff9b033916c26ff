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

/// Decodes what a downloader sends to a peer daemon, binary frames or text lines, framed by
/// ``DualFormatFramer`` as the tracker's client port is.
///
/// The first byte decides: `0x89` means binary (``PeerPreface`` then frames of at most `maxFrame` bytes), anything
/// else text (lines of at most `maxLine` bytes). After a fatal error, or any binary error (a peer speaking the
/// protocol badly is not worth keeping), everything is discarded. Memory stays within the limits whatever comes.
public struct PeerInboundDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerInbound

    private var framer: DualFormatFramer

    /// A decoder refusing frames over `maxFrame` bytes and lines over `maxLine` bytes.
    public init(maxFrame: Int, maxLine: Int) {
        self.framer = DualFormatFramer(
            magic: PeerPreface.magic, version: PeerPreface.version, maxFrame: maxFrame, maxLine: maxLine)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = self.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        guard let message = self.next(&buffer, atEnd: seenEOF) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    /// The next message at the front of `buffer`, consuming its bytes; nil when more bytes are needed. With
    /// `atEnd` (the downloader will send nothing more) what is left is decoded too.
    public mutating func next(_ buffer: inout ByteBuffer, atEnd: Bool = false) -> PeerInbound? {
        guard let input = self.framer.next(&buffer) ?? (atEnd ? self.framer.finish(&buffer) : nil) else { return nil }
        switch input {
        case .preface:
            return .preface
        case .frame(var frame):
            do {
                return .request(try frame.payload.readPeerRequest(kind: frame.kind))
            } catch {
                self.framer.stop()
                return .invalid(error, binary: true)
            }
        case .line(let text):
            switch PeerTextCommand.parse(text) {
            case .success(let command): return .text(command)
            case .failure(let error): return .invalid(error, binary: false)
            }
        case .invalid(let format, let error):
            if format == .binary { self.framer.stop() }
            return .invalid(error, binary: format == .binary)
        }
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
