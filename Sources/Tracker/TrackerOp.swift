import Wire

/// A change to the tracker's state, as the replica logs, replicates and applies it.
///
/// Ops carry everything the change needs, including what the shell supplied (password hashes, session tokens,
/// seeder addresses), so that applying them is deterministic: the same ops in the same order give the same state on
/// both trackers. ``TrackerState/apply(_:)`` re-validates every op, because a logged op may be stale or replayed;
/// a refused op changes nothing.
public enum TrackerOp: Hashable, Sendable {
    /// Creates an account whose password the shell has already salted and hashed.
    case createUser(user: String, password: PasswordHash)
    /// Opens a session with a token the shell drew at random; a user's 65th session closes its oldest.
    case openSession(user: String, token: String)
    /// Closes a session. The user's seeders stay registered.
    case closeSession(token: String)
    /// Creates a group owned (and so joined) by `owner`.
    case createGroup(group: String, owner: String)
    /// Records `user`'s request to join `group`, after the requests already pending.
    case requestJoin(group: String, user: String)
    /// Removes `user` from `group`: the owner dissolves it, a member stops seeding its files, a pending request is
    /// cancelled.
    case leaveGroup(group: String, user: String)
    /// `owner` lets `user`, who asked to join, into `group`.
    case acceptRequest(group: String, owner: String, user: String)
    /// `owner` turns down `user`'s request to join `group`.
    case rejectRequest(group: String, owner: String, user: String)
    /// `owner` removes the member `user` from `group`: as if it left (it stops seeding the group's files).
    case removeMember(group: String, owner: String, user: String)
    /// Registers a file in `group` with its first seeder, who must be a member.
    case addFile(group: String, name: String, size: UInt64, pieceHashes: PieceHashes, seeder: Seeder)
    /// Adds a seeder to a file, or replaces the address of that seeder's user.
    case addSeeder(group: String, name: String, seeder: Seeder)
    /// `user` stops seeding a file; a file whose last seeder stops is removed.
    case removeSeeder(group: String, name: String, user: String)
    /// `op`, sent by a client that numbers its writes: applied once, and a retry of it (after a failover, say)
    /// is answered with the first reply; another request under the same number is refused. Never nested.
    indirect case identified(RequestOrigin, TrackerOp)
    /// `op` (plain or identified), taken at `at` milliseconds since 1970 by the clock of the tracker the client
    /// sent it to: the time `tandemctl log` shows. It does not change what the op does. Never nested.
    indirect case stamped(at: UInt64, TrackerOp)

    /// When the primary proposed the op, in milliseconds since 1970, if it was stamped.
    public var proposedAt: UInt64? {
        if case .stamped(let at, _) = self { at } else { nil }
    }
}

/// Who sent a write and what it was: a one-way digest of the client's secret id, the number the client gave the
/// request, and a digest of the request. A client retries a write with the same id, number and content, so the
/// tracker can tell a retry from a new write, and answers a retry with the first reply and nothing else.
public struct RequestOrigin: Hashable, Sendable {
    /// How many bytes ``digest`` holds.
    public static let digestLength = 16

    /// A one-way digest of the client's secret id: what the op log and `tandemctl log` show, which cannot be used
    /// to act as the client.
    public var client: UInt64
    /// The client's number for this request; a retry keeps it.
    public var request: UInt64
    /// A digest of what was sent (the request and the session it was sent on), keyed by the client's secret id;
    /// empty in ops logged before digests were kept, which no new request matches.
    public var digest: [UInt8]

    /// The origin of request `request` of client `client`, whose content has digest `digest`.
    public init(client: UInt64, request: UInt64, digest: [UInt8]) {
        self.client = client
        self.request = request
        self.digest = digest
    }
}

/// A password as the tracker stores it: a PBKDF2 hash with its salt and work factor, never the password itself.
///
/// The shell derives it (``Preparation/hashNewPassword(user:password:)``) and checks passwords against it
/// (``Preparation/verifyPassword(user:password:stored:)``); the state machine only stores and returns it.
public struct PasswordHash: Hashable, Sendable {
    /// The random salt the hash was derived with.
    public var salt: [UInt8]
    /// The derived key.
    public var hash: [UInt8]
    /// The PBKDF2 iteration count the hash was derived with.
    public var iterations: UInt32

    /// Wraps a derived key with the salt and iteration count that produced it.
    public init(salt: [UInt8], hash: [UInt8], iterations: UInt32) {
        self.salt = salt
        self.hash = hash
        self.iterations = iterations
    }
}
