import NIOCore

extension ByteBuffer {
    /// Writes `request` as one frame.
    @discardableResult
    public mutating func writePeerRequest(_ request: PeerRequest) -> Int {
        switch request {
        case .hello(let hello):
            return self.writeFrame(kind: PeerRequestKind.hello.rawValue) { payload in
                payload.writeWireByteString(hello.fileID) + payload.writeWireString(hello.group)
                    + payload.writeWireString(hello.user) + payload.writeWireByteString(hello.proof)
                    + payload.writeInteger(hello.listenPort)
            }
        case .request(let range):
            return self.writeFrame(kind: PeerRequestKind.request.rawValue) { $0.writePieceRange(range) }
        case .cancel(let range):
            return self.writeFrame(kind: PeerRequestKind.cancel.rawValue) { $0.writePieceRange(range) }
        }
    }

    /// Writes `reply` as one frame. For ``PeerReply/piece(_:)`` only the header is written, but the frame's
    /// length counts the `range.length` bytes of data the caller sends right after it.
    @discardableResult
    public mutating func writePeerReply(_ reply: PeerReply) -> Int {
        switch reply {
        case .welcome(let welcome):
            return self.writeFrame(kind: PeerReplyKind.welcome.rawValue) { payload in
                payload.writeWireByteString(welcome.bitfield) + payload.writePeerAddresses(welcome.peers)
            }
        case .piece(let range):
            let start = self.writerIndex
            let written = self.writeFrame(kind: PeerReplyKind.piece.rawValue) { payload in
                payload.writeInteger(range.piece) + payload.writeInteger(range.offset)
            }
            self.setInteger(UInt32(clamping: written - Frame.lengthFieldSize + Int(range.length)), at: start)
            return written
        case .have(let piece):
            return self.writeFrame(kind: PeerReplyKind.have.rawValue) { $0.writeInteger(piece) }
        case .peers(let peers):
            return self.writeFrame(kind: PeerReplyKind.peers.rawValue) { $0.writePeerAddresses(peers) }
        case .rejected(let range, let code, let message):
            return self.writeFrame(kind: PeerReplyKind.rejected.rawValue) { payload in
                payload.writePieceRange(range) + payload.writeWireString(code.rawValue)
                    + payload.writeWireString(message)
            }
        case .error(let code, let message):
            return self.writeFrame(kind: PeerReplyKind.error.rawValue) { payload in
                payload.writeWireString(code.rawValue) + payload.writeWireString(message)
            }
        }
    }

    /// Reads a whole request frame's payload of `kind`.
    /// - Throws: ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    mutating func readPeerRequest(kind: UInt8) throws(WireError) -> PeerRequest {
        guard let known = PeerRequestKind(rawValue: kind) else { throw .unknownKind(kind) }
        let request: PeerRequest
        switch known {
        case .hello:
            request = .hello(
                PeerHello(
                    fileID: try self.readWireByteString("file id"), group: try self.readWireString("group"),
                    user: try self.readWireString("user"), proof: try self.readWireByteString("proof"),
                    listenPort: try self.readWireInteger("listen port", as: UInt16.self)))
        case .request:
            request = .request(try self.readPieceRange())
        case .cancel:
            request = .cancel(try self.readPieceRange())
        }
        try self.expectEnd()
        return request
    }

    /// Reads a whole reply frame's payload of `kind`; for a piece frame, only its header (the data stays).
    /// - Throws: ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    mutating func readPeerReply(kind: UInt8) throws(WireError) -> PeerReply {
        guard let known = PeerReplyKind(rawValue: kind) else { throw .unknownKind(kind) }
        let reply: PeerReply
        switch known {
        case .welcome:
            reply = .welcome(
                PeerWelcome(
                    bitfield: try self.readWireByteString("bitfield"), peers: try self.readPeerAddresses()))
        case .piece:
            let piece = try self.readWireInteger("piece", as: UInt32.self)
            let offset = try self.readWireInteger("offset", as: UInt32.self)
            return .piece(PieceRange(piece: piece, offset: offset, length: UInt32(clamping: self.readableBytes)))
        case .have:
            reply = .have(try self.readWireInteger("piece", as: UInt32.self))
        case .peers:
            reply = .peers(try self.readPeerAddresses())
        case .rejected:
            let range = try self.readPieceRange()
            reply = .rejected(range, code: try self.readErrorCode(), message: try self.readWireString("message"))
        case .error:
            reply = .error(code: try self.readErrorCode(), message: try self.readWireString("message"))
        }
        try self.expectEnd()
        return reply
    }

    private mutating func writePieceRange(_ range: PieceRange) -> Int {
        self.writeInteger(range.piece) + self.writeInteger(range.offset) + self.writeInteger(range.length)
    }

    private mutating func readPieceRange() throws(WireError) -> PieceRange {
        PieceRange(
            piece: try self.readWireInteger("piece", as: UInt32.self),
            offset: try self.readWireInteger("offset", as: UInt32.self),
            length: try self.readWireInteger("length", as: UInt32.self))
    }

    private mutating func writePeerAddresses(_ peers: [PeerAddress]) -> Int {
        peers.reduce(self.writeWireCount(peers.count)) { written, peer in
            written + self.writeWireString(peer.host) + self.writeInteger(peer.port)
        }
    }

    private mutating func readPeerAddresses() throws(WireError) -> [PeerAddress] {
        let count = try self.readWireCount("peers", minimumItemSize: 6)
        var peers: [PeerAddress] = []
        peers.reserveCapacity(count)
        for _ in 0..<count {
            peers.append(
                PeerAddress(
                    host: try self.readWireString("host"), port: try self.readWireInteger("port", as: UInt16.self)))
        }
        return peers
    }

    private mutating func readErrorCode() throws(WireError) -> ErrorCode {
        let text = try self.readWireString("code")
        guard let code = ErrorCode(rawValue: text) else { throw .malformedPayload("unknown error code '\(text)'") }
        return code
    }
}
