import NIOCore
import Replica
import ReplicaCore
import Testing
import Wire

/// The sync handshake: both sides prove the cluster secret, and nothing else gets through.
@Suite struct SyncHandshakeTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)
    static let dialerNonce = [UInt8](repeating: 0xD1, count: 32)
    static let listenerNonce = [UInt8](repeating: 0x11, count: 32)

    /// Sends `frame` through the codec, as the sync port does.
    static func wire(_ frame: SyncAuthFrame) throws -> SyncAuthFrame {
        var buffer = ByteBuffer()
        buffer.writeSyncAuthFrame(frame)
        return try SyncAuthFrame(frame: try #require(try buffer.readFrame(maxFrame: 1024)))
    }

    @Test func twoTrackersWithTheSecretAuthenticateEachOther() throws {
        var (dialer, greeting) = SyncHandshake.dialer(secret: Self.secret, node: 1, nonce: Self.dialerNonce)
        var listener = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        guard case .send(let challenge) = try listener.receive(Self.wire(greeting)) else {
            Issue.record("the listener should challenge")
            return
        }
        guard case .sendAndFinish(let proof) = try dialer.receive(Self.wire(challenge)) else {
            Issue.record("the dialer should prove and finish")
            return
        }
        #expect(try listener.receive(Self.wire(proof)) == .finish(peer: 1))
    }

    @Test func aDialerWithoutTheSecretIsRefused() throws {
        var (dialer, greeting) = SyncHandshake.dialer(
            secret: Array("not the secret".utf8), node: 0, nonce: Self.dialerNonce)
        var listener = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        guard case .send(let challenge) = try listener.receive(greeting) else { return }
        #expect(throws: SyncAuthError.self, "the dialer sees the listener's proof fail") {
            try dialer.receive(challenge)
        }
        let forged = SyncAuthFrame.proof([UInt8](repeating: 0, count: 32))
        #expect(throws: SyncAuthError.self) { try listener.receive(forged) }
    }

    @Test func aListenerWithoutTheSecretIsRefused() throws {
        var (dialer, greeting) = SyncHandshake.dialer(secret: Self.secret, node: 0, nonce: Self.dialerNonce)
        var impostor = SyncHandshake.listener(secret: Array("guess".utf8), nonce: Self.listenerNonce)
        guard case .send(let challenge) = try impostor.receive(greeting) else { return }
        #expect(throws: SyncAuthError.self) { try dialer.receive(challenge) }
    }

    @Test func aProofFromAnotherConnectionOrReflectedIsRefused() throws {
        var (dialer, greeting) = SyncHandshake.dialer(secret: Self.secret, node: 0, nonce: Self.dialerNonce)
        var first = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        guard case .send(let challenge) = try first.receive(greeting),
            case .sendAndFinish(let recorded) = try dialer.receive(challenge)
        else { return }

        var second = SyncHandshake.listener(secret: Self.secret, nonce: [UInt8](repeating: 0x22, count: 32))
        _ = try second.receive(greeting)
        #expect(throws: SyncAuthError.self, "replayed from the first connection") { try second.receive(recorded) }

        var third = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        guard case .send(.challenge(_, let listenerProof)) = try third.receive(greeting) else { return }
        #expect(throws: SyncAuthError.self, "the listener's own proof sent back") {
            try third.receive(.proof(listenerProof))
        }
    }

    @Test func framesOutOfTurnOrMalformedAreRefused() throws {
        var listener = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        #expect(throws: SyncAuthError.self) { try listener.receive(.proof([UInt8](repeating: 1, count: 32))) }
        #expect(throws: SyncAuthError.self, "a failed handshake stays failed") {
            try listener.receive(.greeting(node: 0, nonce: Self.dialerNonce))
        }
        var short = SyncHandshake.listener(secret: Self.secret, nonce: Self.listenerNonce)
        #expect(throws: SyncAuthError.self) { try short.receive(.greeting(node: 0, nonce: [1, 2, 3])) }
        #expect(throws: SyncAuthError.self) {
            try SyncAuthFrame(frame: Frame(kind: 0x30, payload: ByteBuffer(bytes: [0, 1, 2])))
        }
        #expect(throws: SyncAuthError.self) {
            try SyncAuthFrame(frame: Frame(kind: 0x40, payload: ByteBuffer(bytes: [UInt8](repeating: 0, count: 32))))
        }
    }
}
