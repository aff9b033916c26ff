import Replica
import ReplicaCore
import TandemCrypto
import Testing
import Wire

@testable import Node

/// The connection's session as a value: what each request does to it, the admin challenge, and what a failed
/// write is answered with.
@Suite struct ConnectionSessionTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    @Test func loginResumeAndLogoutMoveTheSessionAndRefusalsDoNot() {
        let text = ConnectionSession(format: .text, peerHost: "127.0.0.1")
        let loggedIn = text.after(.login(user: "alice", password: "pw"), replied: .token("t1"))
        #expect(loggedIn.token == "t1" && loggedIn.endsWithConnection, "a text LOGIN ends with its connection")

        let binary = ConnectionSession(format: .binary, peerHost: "127.0.0.1")
        let binaryLogin = binary.after(.login(user: "alice", password: "pw"), replied: .token("t2"))
        #expect(binaryLogin.token == "t2" && !binaryLogin.endsWithConnection)

        let resumed = loggedIn.after(.resume(token: "t3"), replied: .user("alice"))
        #expect(resumed.token == "t3" && !resumed.endsWithConnection, "a resumed session outlives the connection")

        let loggedOut = resumed.after(.logout, replied: .ok)
        #expect(loggedOut.token == nil && !loggedOut.endsWithConnection)

        let refused = loggedIn.after(.login(user: "alice", password: "bad"), replied: .error(.authFailed, "wrong"))
        #expect(refused.token == "t1" && refused.endsWithConnection)
        #expect(loggedIn.after(.resume(token: "t9"), replied: .error(.notFound, "no such session")).token == "t1")
        #expect(loggedIn.after(.whoami, replied: .user("alice")).token == "t1")
    }

    /// Whether `mac` answers `session`'s challenge for `command` (using it up).
    static func answer(_ session: inout ConnectionSession, _ mac: [UInt8], _ command: String) -> Bool {
        session.answer(mac: mac, command: command, secret: Self.secret)
    }

    @Test func anAdminChallengeIsAnsweredOnceWithTheSecret() {
        var session = ConnectionSession(format: .text, peerHost: "127.0.0.1")
        let mac = { (nonce: [UInt8]) in AdminProof.make(secret: Self.secret, command: "QUIT", nonce: nonce) }
        #expect(!Self.answer(&session, mac([1]), "QUIT"), "no challenge was given")

        let nonce = session.challenge(nonce: [1, 2, 3])
        #expect(Self.answer(&session, mac(nonce), "QUIT"))
        #expect(!Self.answer(&session, mac(nonce), "QUIT"), "a challenge is used once")

        _ = session.challenge(nonce: [4])
        #expect(!Self.answer(&session, mac([4]), "PROMOTE"), "for another command")
        _ = session.challenge(nonce: [5])
        #expect(!Self.answer(&session, mac([6]), "QUIT"), "over another nonce")
        _ = session.challenge(nonce: [7])
        let wrongSecret = AdminProof.make(secret: Array("x".utf8), command: "QUIT", nonce: [7])
        #expect(!Self.answer(&session, wrongSecret, "QUIT"))
        guard case .error(.authFailed, let message) = ConnectionSession.adminRefusal("QUIT") else {
            Issue.record("not refused")
            return
        }
        #expect(message.hasPrefix("QUIT needs the cluster secret"))
    }

    @Test func aFailedWriteSaysWhatToDo() {
        guard case .error(.tryAgain, _) = Reply(writeFailure: ReplicaError.notPrimary(role: .backup, reason: nil)),
            case .error(.tryAgain, _) = Reply(writeFailure: ReplicaError.closed),
            case .error(.unavailable, let full) = Reply(
                writeFailure: ReplicaError.io("write", path: "/data/wal", errno: 28)),
            case .error(.unavailable, let other) = Reply(
                writeFailure: ReplicaError.io("write", path: "/data/wal", errno: 5))
        else {
            Issue.record("wrong codes")
            return
        }
        #expect(full == "the tracker's disk is full; nothing was changed: free space and retry")
        #expect(other.contains("/data/wal"))
    }
}
