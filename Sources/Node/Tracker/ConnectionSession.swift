import Replica
import TandemCrypto
import Wire

/// What one client connection carries between its requests, and how requests change it: which session it acts
/// as, and the admin challenge it was given. Pure: ``TrackerEngine`` does the I/O around it.
struct ConnectionSession: Sendable {
    /// How the client speaks.
    var format: ClientFormat
    /// The address of the client, recorded as the seeder's host for files it shares.
    var peerHost: String
    /// The session token this connection acts as, if any.
    var token: String?
    /// Whether the session ends with the connection (a text LOGIN, as in the original).
    var endsWithConnection = false
    /// The nonce of an outstanding admin challenge.
    private(set) var outstandingChallenge: [UInt8]?
    /// The client set by `CLIENT`: binary requests are then numbered by their request id, so a retried write
    /// is applied once.
    var client: ClientIdentity?

    init(format: ClientFormat, peerHost: String) {
        self.format = format
        self.peerHost = peerHost
    }

    /// The session as `request`, answered with `reply`, leaves it: a `RESUME` takes the session it names, a
    /// `LOGIN` the new one (which ends with a text connection, as in the original protocol), a `LOGOUT` none.
    /// Refusals change nothing.
    func after(_ request: Request, replied reply: Reply) -> ConnectionSession {
        var session = self
        switch (request, reply) {
        case (.resume(let token), .user):
            session.token = token
            session.endsWithConnection = false
        case (.login, .token(let token)):
            session.token = token
            session.endsWithConnection = self.format == .text
        case (.logout, .ok):
            session.token = nil
            session.endsWithConnection = false
        default:
            break
        }
        return session
    }

    // MARK: Admin commands

    /// Remembers `nonce` as this connection's admin challenge (replacing any earlier one) and returns it.
    mutating func challenge(nonce: [UInt8]) -> [UInt8] {
        self.outstandingChallenge = nonce
        return nonce
    }

    /// Whether `mac` proves the cluster `secret` for `command` over the outstanding challenge. The challenge is
    /// used up either way: each answer needs a new one.
    mutating func answer(mac: [UInt8], command: String, secret: [UInt8]) -> Bool {
        defer { self.outstandingChallenge = nil }
        guard let nonce = self.outstandingChallenge else { return false }
        return Crypto.constantTimeEqual(mac, AdminProof.make(secret: secret, command: command, nonce: nonce))
    }

    /// The refusal of an admin `command` whose proof is missing or wrong: what to send instead.
    static func adminRefusal(_ command: String) -> Reply {
        .error(
            .authFailed,
            "\(command) needs the cluster secret: send \(command), then "
                + "\(command)|<hex HMAC-SHA256(secret, \"tandem admin \(command)\\0\" + nonce)>")
    }
}

extension Reply {
    /// What a client is told when its write could not be logged: try again elsewhere when this tracker is not
    /// the primary or is stopping, free space when the disk is full, otherwise the error itself.
    init(writeFailure error: any Error) {
        if let error = error as? ReplicaError, error.isNotPrimary || error == .closed {
            self = .error(.tryAgain, "\(error)")
        } else if let error = error as? ReplicaError, error.isDiskFull {
            self = .error(.unavailable, "the tracker's disk is full; nothing was changed: free space and retry")
        } else {
            self = .error(.unavailable, "\(error)")
        }
    }
}
