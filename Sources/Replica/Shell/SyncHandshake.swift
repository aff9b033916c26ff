import ReplicaCore
import TandemCrypto

/// One side of the handshake: a pure state machine fed frames from the other side.
public struct SyncHandshake: Sendable {
    /// What to do after a frame.
    public enum Step: Hashable, Sendable {
        /// Send this frame and wait for the next.
        case send(SyncAuthFrame)
        /// Send this frame; the connection is authenticated (the dialer knows whom it dialed).
        case sendAndFinish(SyncAuthFrame)
        /// The connection is authenticated, with tracker `peer` on the other side.
        case finish(peer: UInt8)
    }

    private enum State: Sendable {
        case dialerAwaitingChallenge
        case listenerAwaitingGreeting
        case listenerAwaitingProof(peer: UInt8, expected: [UInt8])
        case finished
        case failed
    }

    /// The length of each nonce, in bytes.
    public static let nonceLength = SyncAuthFrame.nonceLength

    private let secret: [UInt8]
    private let nonce: [UInt8]
    private var state: State

    /// The dialing side, tracker `node`, with a fresh `nonce`; send ``greeting`` first.
    public static func dialer(
        secret: [UInt8], node: UInt8, nonce: [UInt8]
    ) -> (SyncHandshake, greeting: SyncAuthFrame) {
        let handshake = SyncHandshake(secret: secret, nonce: nonce, state: .dialerAwaitingChallenge)
        return (handshake, .greeting(node: node, nonce: nonce))
    }

    /// The listening side, with a fresh `nonce`; it waits for the dialer's greeting.
    public static func listener(secret: [UInt8], nonce: [UInt8]) -> SyncHandshake {
        SyncHandshake(secret: secret, nonce: nonce, state: .listenerAwaitingGreeting)
    }

    private init(secret: [UInt8], nonce: [UInt8], state: State) {
        precondition(nonce.count == Self.nonceLength, "nonces are \(Self.nonceLength) random bytes")
        self.secret = secret
        self.nonce = nonce
        self.state = state
    }

    /// Takes the other side's next frame.
    /// - Throws: ``SyncAuthError`` for a frame out of turn, a nonce of the wrong length, or a wrong proof; the
    ///   handshake is then over.
    public mutating func receive(_ frame: SyncAuthFrame) throws(SyncAuthError) -> Step {
        let state = self.state
        self.state = .failed
        switch (state, frame) {
        case (.listenerAwaitingGreeting, .greeting(let peer, let theirs)):
            guard theirs.count == Self.nonceLength else {
                throw SyncAuthError(description: "a greeting nonce of \(theirs.count) bytes")
            }
            let proof = self.mac("tandem-sync listener", theirs, self.nonce)
            self.state = .listenerAwaitingProof(
                peer: peer, expected: self.mac("tandem-sync dialer", self.nonce, theirs))
            return .send(.challenge(nonce: self.nonce, proof: proof))
        case (.dialerAwaitingChallenge, .challenge(let theirs, let proof)):
            guard theirs.count == Self.nonceLength else {
                throw SyncAuthError(description: "a challenge nonce of \(theirs.count) bytes")
            }
            guard Crypto.constantTimeEqual(proof, self.mac("tandem-sync listener", self.nonce, theirs)) else {
                throw SyncAuthError(description: "the listening tracker does not hold this cluster's secret")
            }
            self.state = .finished
            return .sendAndFinish(.proof(self.mac("tandem-sync dialer", theirs, self.nonce)))
        case (.listenerAwaitingProof(let peer, let expected), .proof(let proof)):
            guard Crypto.constantTimeEqual(proof, expected) else {
                throw SyncAuthError(description: "the dialing peer does not hold this cluster's secret")
            }
            self.state = .finished
            return .finish(peer: peer)
        default:
            throw SyncAuthError(description: "\(frame) out of turn in the sync handshake")
        }
    }

    private func mac(_ label: String, _ first: [UInt8], _ second: [UInt8]) -> [UInt8] {
        Crypto.hmacSHA256(key: self.secret, message: Array(label.utf8) + first + second)
    }
}
