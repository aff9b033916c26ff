import ReplicaCore
import Wire

/// The tracker's state: users, sessions, groups, join requests, files, piece hashes and seeders.
///
/// A pure, deterministic state machine with no I/O, clocks or randomness. The shell asks
/// ``prepare(_:context:)`` what to do with a request, and logs and applies the ops it is told to write;
/// ``apply(_:)`` re-validates every op against the current state, so a stale or replayed op is refused with an
/// error and changes nothing. Applying the same ops in the same order to equal states gives equal states and equal
/// replies, which is what lets the two trackers replicate the op log.
///
/// Invariants, kept by every op and checked when a snapshot is decoded:
/// - every session token belongs to exactly one user, who holds at most ``maxSessionsPerUser`` of them;
/// - a group's owner, members and requesters are known users; the owner is not in `members`, and nobody with a
///   pending request is a member;
/// - every file has at least one seeder, each seeder's user is the owner or a member of the file's group, and a
///   user seeds a file at most once; its registrant is a known user;
/// - ``usage`` counts, for each user, the groups they own and the files they registered.
public struct TrackerState: Hashable, Sendable, StateMachine {
    /// The changes this state machine logs.
    public typealias Op = TrackerOp
    /// What applying an op answers the client that proposed it.
    public typealias Output = Reply

    /// How many sessions a user may hold at once; opening one more closes the oldest.
    static let maxSessionsPerUser = 64
    /// The largest file size the tracker registers: 2^50 bytes (1 PiB).
    static let maxFileSize: UInt64 = 1 << 50

    /// One account.
    struct UserRecord: Hashable, Sendable {
        /// The stored password hash.
        var password: PasswordHash
        /// The user's open session tokens, oldest first.
        var sessions: [String] = []
    }

    /// One group with its people and files.
    struct GroupRecord: Hashable, Sendable {
        /// The user who created the group; leaving dissolves it.
        var owner: String
        /// Accepted members, not counting the owner.
        var members: Set<String> = []
        /// Users who asked to join, in arrival order.
        var requests: [String] = []
        /// The group's files by name.
        var files: [String: FileRecord] = [:]

        /// How `user` stands with this group.
        func membership(of user: String) -> Membership {
            if user == self.owner { return .owner }
            if self.members.contains(user) { return .member }
            if self.requests.contains(user) { return .pending }
            return .none
        }

        /// Whether `user` may see inside the group: its owner or a member.
        func admits(_ user: String) -> Bool {
            user == self.owner || self.members.contains(user)
        }
    }

    /// One shared file's metadata and seeders.
    struct FileRecord: Hashable, Sendable {
        /// The file's size in bytes.
        var size: UInt64
        /// The SHA1 of every piece, in order.
        var pieceHashes: PieceHashes
        /// The SHA1 of `pieceHashes`, in hex: derived, kept so that listings do not rehash.
        var fileID: String
        /// The peers serving the file, in arrival order, one per user.
        var seeders: [Seeder]
        /// The user who registered the file, charged for it while it exists (``Usage``).
        var registrant: String

        /// What the file's metadata costs its registrant: its piece hashes and its name.
        func metadataBytes(name: String) -> Int { self.pieceHashes.bytes.count + name.utf8.count }
    }

    /// What a user holds, counted against ``Quotas``: groups owned, and files registered with their metadata.
    /// Derived from the groups (kept in step by every op, rebuilt when a snapshot is decoded), never logged.
    struct Usage: Hashable, Sendable {
        var groups = 0
        var files = 0
        var metadataBytes = 0
    }

    /// The size of every piece in bytes, from `cluster.yaml`.
    public let pieceSize: UInt32
    /// Every account by user name.
    var users: [String: UserRecord] = [:]
    /// Every open session: token to user. The tokens of each ``UserRecord`` in another shape, for lookups.
    var sessions: [String: String] = [:]
    /// Every group by name.
    var groups: [String: GroupRecord] = [:]
    /// The latest replies to each numbering client's writes, for retries (`TrackerState+Retries.swift`).
    var retries: [UInt64: ClientReplies] = [:]
    /// Counts remembered replies; orders clients by when they were last heard.
    var retryClock: UInt64 = 0
    /// What each user holds (`TrackerState+Quotas.swift`); a user holding nothing has no entry.
    var usage: [String: Usage] = [:]

    /// An empty tracker: no users, no groups.
    ///
    /// - Parameter pieceSize: the cluster's piece size in bytes (`cluster.yaml` makes it a power of two from 16KiB to
    ///   16MiB). A size of 0 is taken as 1, so that counting pieces never divides by zero.
    public init(pieceSize: UInt32) {
        self.pieceSize = max(pieceSize, 1)
    }

    /// The user that session `token` belongs to, or nil if no such session is open.
    public func user(forSession token: String) -> String? {
        self.sessions[token]
    }

    /// Applies `op` if it still holds against the current state.
    ///
    /// - Returns: the reply for the client that proposed the op; an ``Wire/Reply/error(_:_:)`` when the op is refused,
    ///   in which case nothing changed.
    public mutating func apply(_ op: TrackerOp) -> Reply {
        if case .stamped(_, let op) = op { return self.apply(op) }
        if case .identified(let origin, let op) = op { return self.applyOnce(op, from: origin) }
        do throws(Refusal) {
            try self.check(op)
        } catch {
            return error.reply
        }
        switch op {
        case .createUser(let user, let password):
            return self.performCreateUser(user, password: password)
        case .openSession(let user, let token):
            return self.performOpenSession(user: user, token: token)
        case .closeSession(let token):
            return self.performCloseSession(token: token)
        case .createGroup(let group, let owner):
            return self.performCreateGroup(group, owner: owner)
        case .requestJoin(let group, let user):
            return self.performRequestJoin(group, user: user)
        case .leaveGroup(let group, let user):
            return self.performLeaveGroup(group, user: user)
        case .acceptRequest(let group, _, let user):
            return self.performAcceptRequest(group, user: user)
        case .rejectRequest(let group, _, let user):
            return self.performRejectRequest(group, user: user)
        case .removeMember(let group, _, let user):
            return self.performLeaveGroup(group, user: user)
        case .addFile(let group, let name, let size, let pieceHashes, let seeder):
            return self.performAddFile(group, name: name, size: size, pieceHashes: pieceHashes, seeder: seeder)
        case .addSeeder(let group, let name, let seeder):
            return self.performAddSeeder(group, name: name, seeder: seeder)
        case .removeSeeder(let group, let name, let user):
            return self.performRemoveSeeder(group, name: name, user: user)
        case .identified, .stamped:
            preconditionFailure("identified and stamped ops are unwrapped above")
        }
    }

    /// Throws the refusal if `op` breaks a rule against the current state. Prepare and apply share these checks, so a
    /// write that prepare lets through is applied unless the state changed in between.
    func check(_ op: TrackerOp) throws(Refusal) {
        switch op {
        case .createUser(let user, _):
            try self.checkCreateUser(user)
        case .openSession(let user, let token):
            try self.checkOpenSession(user: user, token: token)
        case .closeSession(let token):
            try self.checkCloseSession(token: token)
        case .createGroup(let group, let owner):
            try self.checkCreateGroup(group, owner: owner)
        case .requestJoin(let group, let user):
            try self.checkRequestJoin(group, user: user)
        case .leaveGroup(let group, let user):
            try self.checkLeaveGroup(group, user: user)
        case .acceptRequest(let group, let owner, let user):
            try self.checkAcceptRequest(group, owner: owner, user: user)
        case .rejectRequest(let group, let owner, let user):
            try self.checkRejectRequest(group, owner: owner, user: user)
        case .removeMember(let group, let owner, let user):
            try self.checkRemoveMember(group, owner: owner, user: user)
        case .addFile(let group, let name, let size, let pieceHashes, let seeder):
            try self.checkAddFile(group, name: name, size: size, pieceHashes: pieceHashes, seeder: seeder)
        case .addSeeder(let group, let name, let seeder):
            try self.checkAddSeeder(group, name: name, seeder: seeder)
        case .removeSeeder(let group, let name, let user):
            try self.checkRemoveSeeder(group, name: name, user: user)
        case .identified(_, let op), .stamped(_, let op):
            try self.check(op)
        }
    }
}
