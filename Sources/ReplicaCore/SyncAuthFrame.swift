import NIOCore
import Wire

/// What the two sides say before any sync message: mutual proof of the cluster secret, which itself never
/// crosses the wire.
///
/// 1. The dialer: `greeting(node, Nd)`, with its index in cluster.yaml and a fresh nonce.
/// 2. The listener: `challenge(Nl, HMAC-SHA256(secret, "tandem-sync listener" | Nd | Nl))`.
/// 3. The dialer checks that proof and answers `proof(HMAC-SHA256(secret, "tandem-sync dialer" | Nl | Nd))`.
/// 4. The listener checks it. Both nonces are fresh per connection, and the two proofs carry different labels,
///    so neither a recorded proof nor one reflected back from the other side is accepted.
public enum SyncAuthFrame: Hashable, Sendable {
    /// The length of each nonce and proof, in bytes.
    public static let nonceLength = 32

    /// Dialer to listener.
    case greeting(node: UInt8, nonce: [UInt8])
    /// Listener to dialer.
    case challenge(nonce: [UInt8], proof: [UInt8])
    /// Dialer to listener.
    case proof([UInt8])
}

/// Why a sync connection was refused; the listener logs it and closes the connection.
public struct SyncAuthError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let description: String

    package init(description: String) { self.description = description }
}

extension SyncAuthFrame {
    /// Decodes a handshake frame: nonces and proofs are 32 bytes each.
    /// - Throws: ``SyncAuthError`` for any other kind or length.
    public init(frame: Frame) throws(SyncAuthError) {
        var payload = frame.payload
        let size = Self.nonceLength
        switch (SyncAuthKind(rawValue: frame.kind), payload.readableBytes) {
        case (.greeting, 1 + size):
            let node = payload.readInteger(as: UInt8.self)!
            self = .greeting(node: node, nonce: payload.readBytes(length: size)!)
        case (.challenge, 2 * size):
            self = .challenge(nonce: payload.readBytes(length: size)!, proof: payload.readBytes(length: size)!)
        case (.proof, size):
            self = .proof(payload.readBytes(length: size)!)
        default:
            throw SyncAuthError(
                description: "frame kind 0x\(String(frame.kind, radix: 16)) of \(payload.readableBytes) bytes "
                    + "is not a step of the sync handshake")
        }
    }
}
