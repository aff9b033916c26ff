/// A byte range of one piece: what a downloader asks for and what a piece frame carries.
public struct PieceRange: Hashable, Sendable {
    /// The piece's index in the file.
    public var piece: UInt32
    /// The first byte within the piece.
    public var offset: UInt32
    /// How many bytes.
    public var length: UInt32

    public init(piece: UInt32, offset: UInt32, length: UInt32) {
        self.piece = piece
        self.offset = offset
        self.length = length
    }
}

/// Where a peer daemon serves pieces.
public struct PeerAddress: Hashable, Sendable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}

/// The handshake a downloader opens a connection with: which file, and who asks.
public struct PeerHello: Hashable, Sendable {
    /// The file's id: SHA1 of its piece-hash list (20 bytes).
    public var fileID: [UInt8]
    /// The group the file is shared in.
    public var group: String
    /// The user the downloader's session belongs to.
    public var user: String
    /// `PeerProof.make(token:group:)` from that session: the serving peer has the tracker check it.
    public var proof: [UInt8]
    /// Where the downloader serves the pieces it has, so others can fetch from it too; 0 when it does not serve.
    public var listenPort: UInt16

    public init(fileID: [UInt8], group: String, user: String, proof: [UInt8], listenPort: UInt16) {
        self.fileID = fileID
        self.group = group
        self.user = user
        self.proof = proof
        self.listenPort = listenPort
    }
}

/// What the serving peer answers a hello with once the downloader is admitted.
public struct PeerWelcome: Hashable, Sendable {
    /// The pieces the serving peer has: bit `i` of byte `i / 8`, most significant bit first.
    public var bitfield: [UInt8]
    /// Other peers that have connected for the same file and serve it (peer exchange).
    public var peers: [PeerAddress]

    public init(bitfield: [UInt8], peers: [PeerAddress]) {
        self.bitfield = bitfield
        self.peers = peers
    }
}

/// A message from a downloader to a serving peer.
public enum PeerRequest: Hashable, Sendable {
    /// The first message: no other is answered before it.
    case hello(PeerHello)
    /// Send these bytes of a piece. Answered in order, with a piece frame or a rejection.
    case request(PieceRange)
    /// Never mind an earlier request (another peer was faster); not answered.
    case cancel(PieceRange)
}

/// A message from a serving peer to a downloader. Piece data is not in here: a piece frame is its header,
/// ``PeerReply/piece(_:)``, followed by the range's bytes in the same frame.
public enum PeerReply: Hashable, Sendable {
    /// The downloader is admitted; what the serving peer has.
    case welcome(PeerWelcome)
    /// The header of a piece frame; `range.length` bytes of data follow.
    case piece(PieceRange)
    /// The serving peer has verified one more piece.
    case have(UInt32)
    /// More peers that serve the file.
    case peers([PeerAddress])
    /// This request is not served (`not_found` for a piece it lacks, `invalid` for a range outside the piece);
    /// the connection goes on.
    case rejected(PieceRange, code: ErrorCode, message: String)
    /// The connection is refused or ends (not admitted, bad frame, too many requests queued); it closes after.
    case error(code: ErrorCode, message: String)
}
