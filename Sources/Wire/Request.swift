/// A client request to a tracker: one per documented command, plus the few that `tandemctl` needs.
///
/// The text adapter parses `COMMAND|arg|arg` lines into these; the binary codec carries them in frames.
/// Every case round-trips through both encodings without loss (where the text form can express it).
public enum Request: Hashable, Sendable {
    /// `CREATE_USER|user|password`
    case createUser(user: String, password: String)
    /// `LOGIN|user|password`: opens a session; the reply carries its token.
    case login(user: String, password: String)
    /// `RESUME|token`: binds this connection to an existing session (what `tandemctl` does each run).
    case resume(token: String)
    /// `LOGOUT`
    case logout
    /// `WHOAMI`: the user of this connection's session.
    case whoami
    /// `CREATE_GROUP|group`
    case createGroup(group: String)
    /// `JOIN_GROUP|group`: asks the owner to let this user in.
    case joinGroup(group: String)
    /// `LEAVE_GROUP|group`: the owner leaving dissolves the group.
    case leaveGroup(group: String)
    /// `LIST_GROUPS`
    case listGroups
    /// `LIST_REQUESTS|group`: owner only.
    case listRequests(group: String)
    /// `ACCEPT_REQUEST|group|user` (also `ACCEPT_REQUESTS`): owner only.
    case acceptRequest(group: String, user: String)
    /// `REJECT_REQUEST|group|user`: owner only; the request is dropped, the user may ask again.
    case rejectRequest(group: String, user: String)
    /// `REMOVE_MEMBER|group|user`: owner only; the member stops seeding the group's files, as if it left.
    case removeMember(group: String, user: String)
    /// `UPLOAD_FILE|group|name|size|hashes|port`: registers a file's metadata and this peer as its seeder.
    case uploadFile(group: String, name: String, size: UInt64, pieceHashes: PieceHashes, port: UInt16)
    /// `LIST_FILES|group`
    case listFiles(group: String)
    /// `DOWNLOAD_FILE|group|name`: the file's metadata and its seeders.
    case downloadFile(group: String, name: String)
    /// `STOP_SHARE|group|name`: this user no longer seeds the file.
    case stopShare(group: String, name: String)
    /// `NEW_SEEDER|name|port` or `NEW_SEEDER|group|name|port`: this user now seeds the file too.
    ///
    /// The original form names no group; the tracker then looks the file up in the user's groups.
    case newSeeder(group: String?, name: String, port: UInt16)
    /// `QUIT` asks for a challenge; `QUIT|mac` answers it with HMAC-SHA256(secret, nonce) in hex.
    case quit(mac: [UInt8]?)
    /// `CLIENT|id`: numbers this connection's writes as client `id`, a secret of ``clientIDLengths`` random bytes
    /// (hex in text) drawn once per client run: the tracker applies a write retried with the same id, request
    /// number and content once, and answers it with the first reply. Binary clients number their requests with
    /// the frame's request id. The tracker never logs or stores the id itself, only a one-way digest of it, so
    /// whoever reads the op log cannot act as the client.
    case identify(client: [UInt8])
    /// `STATUS`: the tracker's role in the pair and how far its log goes (`tandemctl status`).
    case status
    /// `PROMOTE` asks for a challenge; `PROMOTE|mac` answers it as for `QUIT`, and forces this tracker to take
    /// the primary role (`tandemctl promote --force`).
    case promote(mac: [UInt8]?)
    /// `CHECK_PEER|user|group|proof`: asked by a serving peer, whose own session must be in `group`; `OK` when
    /// `proof` (hex) is ``TandemCrypto/PeerProof`` for `group` from an open session of `user`, a member of `group`.
    case checkPeer(user: String, group: String, proof: [UInt8])
    /// `SWITCHOVER` asks for a challenge; `SWITCHOVER|mac` answers it as for `QUIT`, and makes this primary hand
    /// its role to the in-sync backup (`tandemctl switchover`): `OK` once that has begun.
    case switchover(mac: [UInt8]?)
    /// `READ_LOG|from|limit` asks for a challenge; `READ_LOG|from|limit|mac` answers it as for `QUIT`, and reads a
    /// page of this tracker's op log (`tandemctl log --tracker` from another host). `from` is a seq, or
    /// `segment:offset` (a ``LogCursor``) for the ops logged after a page before.
    case readLog(LogQuery, mac: [UInt8]?)
}

extension Request {
    /// How many bytes a client id takes: at least 128 random bits, so that it cannot be guessed.
    public static let clientIDLengths = 16...64

    /// Whether the request proves a password (`LOGIN`): whatever it is answered must wait for the check.
    public var checksPassword: Bool {
        if case .login = self { true } else { false }
    }
}

/// The SHA1 hashes of a file's pieces, in order: 20 bytes each, concatenated.
public struct PieceHashes: Hashable, Sendable {
    /// The length of one SHA1 digest.
    public static let digestLength = 20

    /// The digests, `digestLength` bytes each.
    public private(set) var bytes: [UInt8]

    /// Wraps concatenated digests; nil unless the length is a whole number of digests.
    public init?(bytes: [UInt8]) {
        guard bytes.count % Self.digestLength == 0 else { return nil }
        self.bytes = bytes
    }

    /// No pieces: the hash list of an empty file.
    public static let empty = PieceHashes(bytes: [])!

    /// How many pieces the list describes.
    public var count: Int { self.bytes.count / Self.digestLength }

    /// The digest of piece `index`.
    public subscript(index: Int) -> ArraySlice<UInt8> {
        self.bytes[(index * Self.digestLength)..<((index + 1) * Self.digestLength)]
    }
}
