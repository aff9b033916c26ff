import Wire

/// What the shell knows about the connection a request came from.
public struct RequestContext: Hashable, Sendable {
    /// The session token bound to the connection (by `LOGIN` or `RESUME`), if any.
    public var session: String?
    /// The peer's address as the tracker sees it; uploads and new seeders register it with their port.
    public var peerHost: String
    /// What each user may hold, from cluster.yaml.
    public var quotas: Quotas

    /// Describes a connection by its session token and the peer's address, under `quotas`.
    public init(session: String?, peerHost: String, quotas: Quotas = Quotas()) {
        self.session = session
        self.peerHost = peerHost
        self.quotas = quotas
    }
}

/// What the shell does next with a request, as decided by ``TrackerState/prepare(_:context:)``.
///
/// Preparing reads the state and changes nothing. Work the state machine must not do (hashing, randomness, I/O) is
/// returned to the shell, which then proposes an op that ``TrackerState/apply(_:)`` re-validates.
public enum Preparation: Hashable, Sendable {
    /// Answer at once: reads, and refusals of anything that breaks a rule.
    case reply(Reply)
    /// Log the op durably, then apply it; what ``TrackerState/apply(_:)`` returns is the reply.
    case write(TrackerOp)
    /// `CREATE_USER` passed the checks: salt and PBKDF2-hash `password`, then propose
    /// ``TrackerOp/createUser(user:password:)``.
    case hashNewPassword(user: String, password: String)
    /// `LOGIN`: verify `password` against `stored`, then propose ``TrackerOp/openSession(user:token:)`` with a random
    /// token.
    ///
    /// `stored` is nil for an unknown user; the shell still answers "wrong user or password", so that the reply does
    /// not tell which users exist.
    case verifyPassword(user: String, password: String, stored: PasswordHash?)
    /// `QUIT` or `PROMOTE`: an admin command; the shell runs the HMAC challenge (nil `mac` asks for a nonce).
    case admin(AdminAction, mac: [UInt8]?)
    /// `CLIENT` or `STATUS`: about the connection or the tracker, not the state; the shell answers.
    case shell(Request)

    /// Whether the shell ends by proposing an op (a write, an account, a session), which a numbered request's
    /// origin goes with.
    public var proposes: Bool {
        switch self {
        case .write, .hashNewPassword, .verifyPassword: true
        case .reply, .admin, .shell: false
        }
    }
}

/// What an admin command does once the cluster secret is proven.
public enum AdminAction: Hashable, Sendable {
    /// Stop the tracker.
    case quit
    /// Take the primary role, whatever the other tracker holds.
    case promote
    /// Hand the primary role to the in-sync backup.
    case switchover
    /// Read a page of the op log.
    case readLog(LogQuery)
}
