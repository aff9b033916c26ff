/// The kind byte of each peer-protocol frame (docs/PROTOCOL.md, "Peer protocol").
enum PeerRequestKind: UInt8, CaseIterable {
    case hello = 0x01
    case request = 0x02
    case cancel = 0x03
}

/// Replies start at `0x80`, as on the client port.
enum PeerReplyKind: UInt8, CaseIterable {
    case welcome = 0x81
    case piece = 0x82
    case have = 0x83
    case peers = 0x84
    case rejected = 0x85
    case error = 0x86
}

/// The 5 bytes that open a binary peer connection: `0x89 'T' 'P' 'R'` then the protocol version; the serving
/// peer answers with the same 5 bytes. A first byte other than `0x89` means a text client (`GET_PIECE`).
public enum PeerPreface {
    /// `0x89` then `TPR` in ASCII.
    public static let magic: [UInt8] = [0x89, 0x54, 0x50, 0x52]
    /// The peer protocol version this build speaks.
    public static let version: UInt8 = 1
    /// ``magic`` then ``version``.
    public static var bytes: [UInt8] { Self.magic + [Self.version] }
}
