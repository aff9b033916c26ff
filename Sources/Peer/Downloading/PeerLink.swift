import NIOCore
import Swarm
import Wire

/// The downloader's side of one connection to a serving peer: says hello, turns the stream into events for its
/// ``Download``, and writes piece data to the part file as it arrives; a ``PieceDigester`` hashes the same bytes
/// on another core, and the connection stops reading while more than ``maxBacklog`` bytes wait for it.
///
/// It runs on its download's event loop, so it calls the download directly.
final class PeerLink: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let id: PeerID
    let address: PeerAddress
    private unowned let download: Download
    private var stream: PeerReplyStream
    private var pending: ByteBuffer?
    private var context: ChannelHandlerContext?
    /// The piece frame being received.
    private var receiving: Receiving?
    private let digester: PieceDigester
    /// Reading is off until the digester catches up.
    private var paused = false

    /// How many received bytes may wait to be hashed.
    static let maxBacklog = 4 << 20

    private struct Receiving {
        let piece: Int
        /// Whether the bytes go to disk: the piece is still wanted from this peer.
        let accepted: Bool
        var written: Int
    }

    init(id: PeerID, address: PeerAddress, download: Download) {
        self.id = id
        self.address = address
        self.download = download
        self.stream = PeerReplyStream(maxFrame: download.maxControlFrame, maxPieceData: download.layout.pieceSize)
        self.digester = PieceDigester(label: "tandem.digest.\(address.host):\(address.port)")
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        buffer.writeBytes(PeerPreface.bytes)
        buffer.writePeerRequest(.hello(self.download.hello))
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        self.download.progress(from: self.id)
        do throws(LinkError) {
            if var pending = self.pending {
                pending.writeBuffer(&incoming)
                try self.consume(&pending)
                self.pending = pending.readableBytes > 0 ? pending : nil
            } else {
                try self.consume(&incoming)
                if incoming.readableBytes > 0 { self.pending = incoming }
            }
        } catch {
            self.download.linkFailed(self.id, error.description)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        self.download.linkClosed(self.id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.download.linkFailed(self.id, "\(error)")
        context.close(promise: nil)
    }

    /// Asks for whole pieces.
    func request(_ pieces: [Int]) {
        self.send(pieces.map { .request(self.download.wholePiece($0)) })
    }

    /// Withdraws requests for pieces another peer delivered.
    func cancel(_ pieces: [Int]) {
        self.send(pieces.map { .cancel(self.download.wholePiece($0)) })
    }

    func close() {
        self.context?.close(promise: nil)
    }

    private func send(_ requests: [PeerRequest]) {
        guard let context = self.context, !requests.isEmpty else { return }
        var buffer = context.channel.allocator.buffer(capacity: 20 * requests.count)
        for request in requests { buffer.writePeerRequest(request) }
        context.writeAndFlush(Self.wrapOutboundOut(buffer), promise: nil)
    }

    private func consume(_ buffer: inout ByteBuffer) throws(LinkError) {
        while true {
            let event: PeerStreamEvent?
            do {
                event = try self.stream.next(&buffer)
            } catch {
                throw LinkError("sent a bad frame: \(error)")
            }
            guard let event else { return }
            switch event {
            case .preface:
                continue
            case .reply(let reply):
                try self.handle(reply)
            case .data(let bytes, let remaining):
                try self.receive(bytes, last: remaining == 0)
            }
        }
    }

    private func handle(_ reply: PeerReply) throws(LinkError) {
        switch reply {
        case .welcome(let welcome):
            guard let has = Bitfield(bytes: welcome.bitfield, count: self.download.layout.pieceCount) else {
                throw LinkError(
                    "sent a bitfield that does not fit the file's \(self.download.layout.pieceCount) pieces")
            }
            self.download.linkWelcomed(self.id, has: has, peers: welcome.peers)
        case .piece(let range):
            let piece = Int(range.piece)
            guard piece < self.download.layout.pieceCount, range == self.download.wholePiece(piece) else {
                throw LinkError(
                    "sent bytes that were not asked for (piece \(range.piece), \(range.offset)+\(range.length))")
            }
            self.receiving = Receiving(piece: piece, accepted: self.download.accepts(piece, from: self.id), written: 0)
            if range.length == 0 { try self.finishPiece() }
        case .have(let piece):
            self.download.linkHas(self.id, piece: Int(piece))
        case .peers(let peers):
            self.download.exchanged(peers, from: self.id)
        case .rejected(let range, _, _):
            self.download.linkLacks(self.id, piece: Int(range.piece))
        case .error(let code, let message):
            throw LinkError("refused: \(message) (\(code.rawValue))")
        }
    }

    private func receive(_ bytes: ByteBuffer, last: Bool) throws(LinkError) {
        guard var receiving = self.receiving else { throw LinkError("sent data outside a piece frame") }
        if receiving.accepted {
            let offset = self.download.layout.offset(of: receiving.piece) + UInt64(receiving.written)
            let part = self.download.part
            let failure = bytes.withUnsafeReadableBytes { raw -> PeerError? in
                do throws(PeerError) {
                    try part.write(raw, at: offset)
                } catch {
                    return error
                }
                return nil
            }
            if let failure {
                self.download.diskFailed(failure)
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
        if last { try self.finishPiece() }
    }

    private func finishPiece() throws(LinkError) {
        guard let receiving = self.receiving else { return }
        self.receiving = nil
        guard receiving.accepted else { return }
        let loop = self.download.loop
        let link = NIOLoopBound(self, eventLoop: loop)
        let (id, piece) = (self.id, receiving.piece)
        self.digester.finish(on: loop) { digest in
            link.value.download.linkDelivered(id, piece: piece, digest: digest)
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
    let description: String
    init(_ description: String) { self.description = description }
}

@available(*, unavailable)
extension PeerLink: Sendable {}
