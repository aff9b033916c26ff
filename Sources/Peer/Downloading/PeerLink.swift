import NIOCore
import Swarm
import Wire

/// The downloader's side of one connection to a serving peer: says hello, turns the serving peer's events
/// (decoded by ``PeerReplyDecoder``) into reports to its download through ``Events``, and writes piece data to the
/// part file as it arrives; a ``PieceDigester`` hashes the same bytes on another core, and the connection stops
/// reading while more than ``maxBacklog`` bytes wait for it.
///
/// It runs on its download's event loop, and it is the only one that writes to its channel: the download asks
/// for pieces through ``request(_:)`` and ``cancel(_:)``.
final class PeerLink: ChannelInboundHandler {
    typealias InboundIn = PeerStreamEvent
    typealias OutboundOut = ByteBuffer

    /// What the link reports to its download, on the download's event loop.
    struct Events {
        /// The serving peer admitted this downloader: it has these pieces, and these peers serve the file too.
        var welcomed: (_ has: Bitfield, _ peers: [PeerAddress]) -> Void
        /// The serving peer verified one more piece.
        var has: (_ piece: Int) -> Void
        /// The serving peer does not have a piece it was asked for.
        var lacks: (_ piece: Int) -> Void
        /// The serving peer named more peers that serve the file.
        var exchanged: (_ peers: [PeerAddress]) -> Void
        /// Whether the bytes of `piece` are still wanted from this peer (not cancelled, not verified meanwhile).
        var accepts: (_ piece: Int) -> Bool
        /// Every byte of `piece` arrived and was written; `digest` is the SHA1 of what arrived.
        var delivered: (_ piece: Int, _ digest: [UInt8]) -> Void
        /// Bytes arrived: the peer is alive.
        var progressed: () -> Void
        /// Writing to the part file failed; the download cannot go on.
        var diskFailed: (PeerError) -> Void
        /// The connection is being given up, for this reason.
        var failed: (LinkError) -> Void
        /// The connection closed.
        var closed: () -> Void
    }

    /// How many received bytes may wait to be hashed.
    static let maxBacklog = 4 << 20

    let address: PeerAddress
    private let hello: PeerHello
    private let layout: PieceLayout
    private let part: PieceFile
    private let events: Events
    private let digester: PieceDigester
    private var context: ChannelHandlerContext?
    /// The piece frame being received.
    private var receiving: Receiving?
    /// Reading is off until the digester catches up.
    private var paused = false
    /// The connection was given up: what is still decoded from bytes already read is dropped.
    private var givenUp = false

    private struct Receiving {
        let piece: Int
        /// Whether the bytes go to disk: the piece is still wanted from this peer.
        let accepted: Bool
        var written: Int
    }

    /// A link to the peer at `address` for the download of `layout` into `part`, opening with `hello`.
    init(address: PeerAddress, hello: PeerHello, layout: PieceLayout, part: PieceFile, events: Events) {
        self.address = address
        self.hello = hello
        self.layout = layout
        self.part = part
        self.events = events
        self.digester = PieceDigester(label: "tandem.digest.\(address.host):\(address.port)")
    }

    /// The decoder to put in front of a link for a file of `layout`: control frames are small (the welcome's
    /// bitfield is the largest), a piece frame carries at most one piece.
    static func decoder(for layout: PieceLayout) -> PeerReplyDecoder {
        PeerReplyDecoder(maxFrame: 64 << 10 + layout.pieceCount / 8, maxPieceData: layout.pieceSize)
    }

    /// The range of a whole piece, what this downloader asks for.
    static func wholePiece(_ piece: Int, of layout: PieceLayout) -> PieceRange {
        PieceRange(piece: UInt32(piece), offset: 0, length: UInt32(layout.length(of: piece)))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeBytes(PeerPreface.bytes)
        buffer.writePeerRequest(.hello(self.hello))
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.givenUp else { return }
        self.events.progressed()
        do throws(LinkError) {
            switch Self.unwrapInboundIn(data) {
            case .preface:
                break
            case .reply(let reply):
                try self.handle(reply)
            case .data(let bytes, let remaining):
                try self.receive(bytes, last: remaining == 0)
            }
        } catch {
            self.giveUp(error, context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        self.events.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.giveUp(error is WireError ? .badFrame("\(error)") : .connection("\(error)"), context)
    }

    private func giveUp(_ error: LinkError, _ context: ChannelHandlerContext) {
        guard !self.givenUp else { return }
        self.givenUp = true
        self.receiving = nil
        self.events.failed(error)
        context.close(promise: nil)
    }

    /// Asks for whole pieces.
    func request(_ pieces: [Int]) {
        self.send(pieces.map { .request(Self.wholePiece($0, of: self.layout)) })
    }

    /// Withdraws requests for pieces another peer delivered.
    func cancel(_ pieces: [Int]) {
        self.send(pieces.map { .cancel(Self.wholePiece($0, of: self.layout)) })
    }

    /// Closes the connection: the download no longer needs it, so whatever the stream holds then (a piece cut in
    /// the middle) is not the serving peer's fault.
    func close() {
        self.givenUp = true
        self.receiving = nil
        self.context?.close(promise: nil)
    }

    private func send(_ requests: [PeerRequest]) {
        guard let context = self.context, !requests.isEmpty else { return }
        var buffer = context.channel.allocator.buffer(capacity: 20 * requests.count)
        for request in requests { buffer.writePeerRequest(request) }
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }

    private func handle(_ reply: PeerReply) throws(LinkError) {
        switch reply {
        case .welcome(let welcome):
            guard let has = Bitfield(bytes: welcome.bitfield, count: self.layout.pieceCount) else {
                throw .badBitfield(pieces: self.layout.pieceCount)
            }
            self.events.welcomed(has, welcome.peers)
        case .piece(let range):
            let piece = Int(range.piece)
            guard piece < self.layout.pieceCount, range == Self.wholePiece(piece, of: self.layout) else {
                throw .notAskedFor(range)
            }
            self.receiving = Receiving(piece: piece, accepted: self.events.accepts(piece), written: 0)
            if range.length == 0 { self.finishPiece() }
        case .have(let piece):
            self.events.has(Int(piece))
        case .peers(let peers):
            self.events.exchanged(peers)
        case .rejected(let range, _, _):
            self.events.lacks(Int(range.piece))
        case .error(let code, let message):
            throw .refused(code, message)
        }
    }

    private func receive(_ bytes: ByteBuffer, last: Bool) throws(LinkError) {
        guard var receiving = self.receiving else { throw .dataOutsidePiece }
        if receiving.accepted {
            let offset = self.layout.offset(of: receiving.piece) + UInt64(receiving.written)
            let part = self.part
            let failure = bytes.withUnsafeReadableBytes { raw -> PeerError? in
                do throws(PeerError) {
                    try part.write(raw, at: offset)
                } catch {
                    return error
                }
                return nil
            }
            if let failure {
                self.events.diskFailed(failure)
                return
            }
            self.digester.add(bytes)
            if !self.paused, self.digester.backlog > Self.maxBacklog, let context = self.context {
                self.paused = true
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            }
        }
        receiving.written += bytes.readableBytes
        self.receiving = receiving
        if last { self.finishPiece() }
    }

    private func finishPiece() {
        guard let receiving = self.receiving, let loop = self.context?.eventLoop else { return }
        self.receiving = nil
        guard receiving.accepted else { return }
        let link = NIOLoopBound(self, eventLoop: loop)
        let piece = receiving.piece
        self.digester.finish(on: loop) { digest in
            link.value.events.delivered(piece, digest)
            link.value.resumeIfCaughtUp()
        }
    }

    /// Reads again once the digester has worked off half its allowance.
    private func resumeIfCaughtUp() {
        guard self.paused, self.digester.backlog <= Self.maxBacklog / 2 else { return }
        self.paused = false
        guard let context = self.context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
    }
}

/// Why a connection to a serving peer is given up.
struct LinkError: Error, CustomStringConvertible {
    private enum Base {
        case refused(ErrorCode, String)
        case badFrame(String)
        case badBitfield(pieces: Int)
        case notAskedFor(PieceRange)
        case dataOutsidePiece
        case connection(String)
    }

    private let base: Base

    /// The serving peer refused this downloader, or ended the connection, with an error.
    static func refused(_ code: ErrorCode, _ message: String) -> LinkError { LinkError(base: .refused(code, message)) }
    /// The stream did not decode (a bad frame, one over the limits, cut in the middle).
    static func badFrame(_ detail: String) -> LinkError { LinkError(base: .badFrame(detail)) }
    /// The welcome's bitfield does not fit the file.
    static func badBitfield(pieces: Int) -> LinkError { LinkError(base: .badBitfield(pieces: pieces)) }
    /// Piece bytes that are not a whole piece of the file.
    static func notAskedFor(_ range: PieceRange) -> LinkError { LinkError(base: .notAskedFor(range)) }
    /// Piece data with no piece frame before it.
    static let dataOutsidePiece = LinkError(base: .dataOutsidePiece)
    /// The connection itself failed.
    static func connection(_ detail: String) -> LinkError { LinkError(base: .connection(detail)) }

    /// Whether the serving peer said no: what the download tells its user it waits for.
    var isRefusal: Bool {
        if case .refused = self.base { true } else { false }
    }

    var description: String {
        switch self.base {
        case .refused(let code, let message): "refused: \(message) (\(code.rawValue))"
        case .badFrame(let detail): "sent a bad frame: \(detail)"
        case .badBitfield(let pieces): "sent a bitfield that does not fit the file's \(pieces) pieces"
        case .notAskedFor(let range):
            "sent bytes that were not asked for (piece \(range.piece), \(range.offset)+\(range.length))"
        case .dataOutsidePiece: "sent data outside a piece frame"
        case .connection(let detail): "the connection failed: \(detail)"
        }
    }
}

@available(*, unavailable)
extension PeerLink: Sendable {}
