import Testing
import Tracker
import Wire

/// Drives a ``TrackerState`` the way the tracker's shell does, without crypto or randomness: passwords are "hashed"
/// into a fixed fake ``PasswordHash``, and sessions get deterministic tokens (`alice#1`, `alice#2`, ...).
///
/// Every op it applies is kept in ``log`` with its reply, as the shell's op log would keep it, so tests can replay it.
struct TrackerHarness {
    /// The piece size of the test cluster: small, so that small files have several pieces.
    static let pieceSize: UInt32 = 16
    /// The address peers appear from, unless a test says otherwise.
    static let defaultHost = "10.0.0.1"

    /// One logged op and what applying it answered.
    struct Entry: Hashable {
        var op: TrackerOp
        var reply: Reply
    }

    var state = TrackerState(pieceSize: Self.pieceSize)
    /// The quotas requests are prepared under.
    var quotas = Quotas()
    /// Every op applied, in order, with its reply.
    private(set) var log: [Entry] = []
    /// Each user's newest session token.
    private(set) var tokens: [String: String] = [:]
    /// How many sessions each user has opened so far, for the next token.
    private var logins: [String: Int] = [:]

    /// The stand-in for PBKDF2: the password's bytes under a fixed salt.
    static func fakeHash(_ password: String) -> PasswordHash {
        PasswordHash(salt: [0x5A, 0x17], hash: Array(password.utf8), iterations: 1)
    }

    /// Sends `request` on a connection bound to `session`, doing what the shell does with the preparation.
    @discardableResult
    mutating func send(_ request: Request, session: String?, host: String = Self.defaultHost) -> Reply {
        switch self.state.prepare(
            request, context: RequestContext(session: session, peerHost: host, quotas: self.quotas))
        {
        case .reply(let reply):
            return reply
        case .write(let op):
            return self.apply(op)
        case .hashNewPassword(let user, let password):
            return self.apply(.createUser(user: user, password: Self.fakeHash(password)))
        case .verifyPassword(let user, let password, let stored):
            guard stored == Self.fakeHash(password) else { return .error(.authFailed, "wrong user or password") }
            let count = self.logins[user, default: 0] + 1
            self.logins[user] = count
            let token = "\(user)#\(count)"
            let reply = self.apply(.openSession(user: user, token: token))
            if reply == .token(token) {
                self.tokens[user] = token
            }
            return reply
        case .admin:
            // The challenge is the shell's business; the admin commands' preparation is tested on its own.
            return .challenge([])
        case .shell:
            // So are CLIENT and STATUS, which read or change nothing of the state.
            return .ok
        }
    }

    /// Sends `request` as `user`, on that user's newest session (or none, if the user never logged in).
    @discardableResult
    mutating func send(_ request: Request, as user: String, host: String = Self.defaultHost) -> Reply {
        self.send(request, session: self.tokens[user], host: host)
    }

    /// Applies `op` as the shell would after logging it.
    @discardableResult
    mutating func apply(_ op: TrackerOp) -> Reply {
        let reply = self.state.apply(op)
        self.log.append(Entry(op: op, reply: reply))
        return reply
    }

    /// Creates each user with password `pw-<name>` and logs them in.
    mutating func signUp(_ users: String...) {
        for user in users {
            self.send(.createUser(user: user, password: "pw-\(user)"), session: nil)
            self.send(.login(user: user, password: "pw-\(user)"), session: nil)
        }
    }
}

/// A piece-hash list of `count` distinct digests, all filled with bytes derived from `seed`.
func pieceHashes(_ count: Int, seed: UInt8 = 0x61) -> PieceHashes {
    let bytes = (0..<count).flatMap { index in
        [UInt8](repeating: seed &+ UInt8(truncatingIfNeeded: index), count: PieceHashes.digestLength)
    }
    // Whole digests by construction.
    return PieceHashes(bytes: bytes)!
}
