/// A tracker's answer to one ``Request``.
public enum Reply: Hashable, Sendable {
    /// The command was carried out and has nothing to report.
    case ok
    /// A new session's token (`LOGIN`).
    case token(String)
    /// The user of the session (`WHOAMI`, `RESUME`).
    case user(String)
    /// Every group, with the asking user's relation to it (`LIST_GROUPS`).
    case groups([GroupEntry])
    /// User names (`LIST_REQUESTS`).
    case users([String])
    /// The files of a group (`LIST_FILES`).
    case files([FileEntry])
    /// A registered file's id: the SHA1 of its piece-hash list, in hex (`UPLOAD_FILE`).
    case fileID(String)
    /// Everything a downloader needs (`DOWNLOAD_FILE`).
    case fileInfo(FileInfo)
    /// A nonce to answer with HMAC-SHA256 under the cluster secret (`QUIT`).
    case challenge([UInt8])
    /// The command was refused or failed; nothing changed.
    case error(ErrorCode, String)
    /// Named values describing the tracker (`STATUS`), in a fixed order.
    case status([StatusField])
    /// A page of the tracker's op log (`READ_LOG`).
    case logPage(LogPage)
}

/// One value of a `STATUS` reply: `role=primary`.
public struct StatusField: Hashable, Sendable {
    /// The value's name: lowercase letters and `_`.
    public var name: String
    /// The value, as text.
    public var value: String

    /// Creates a field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// How the asking user stands with a group.
public enum Membership: UInt8, Hashable, Sendable, CaseIterable {
    /// Not a member; the group shows only its name.
    case none = 0
    /// Asked to join; the owner has not accepted yet.
    case pending = 1
    /// A member: sees and shares the group's files.
    case member = 2
    /// Created the group: accepts requests; leaving dissolves the group.
    case owner = 3
}

/// One line of `LIST_GROUPS`.
public struct GroupEntry: Hashable, Sendable {
    /// The group's name.
    public var name: String
    /// How the asking user stands with the group.
    public var membership: Membership

    /// Creates an entry.
    public init(name: String, membership: Membership) {
        self.name = name
        self.membership = membership
    }
}

/// One line of `LIST_FILES`.
public struct FileEntry: Hashable, Sendable {
    /// The file's name in the group.
    public var name: String
    /// The file's size in bytes.
    public var size: UInt64
    /// How many peers seed the file now.
    public var seeders: UInt32
    /// The SHA1 of the piece-hash list, in hex.
    public var fileID: String

    /// Creates an entry.
    public init(name: String, size: UInt64, seeders: UInt32, fileID: String) {
        self.name = name
        self.size = size
        self.seeders = seeders
        self.fileID = fileID
    }
}

/// A peer that serves a file.
public struct Seeder: Hashable, Sendable {
    /// The user whose peer daemon serves the file.
    public var user: String
    /// The address the peer daemon serves pieces on.
    public var host: String
    /// The port the peer daemon serves pieces on.
    public var port: UInt16

    /// Creates a seeder.
    public init(user: String, host: String, port: UInt16) {
        self.user = user
        self.host = host
        self.port = port
    }
}

/// A file's metadata and seeders (`DOWNLOAD_FILE`).
public struct FileInfo: Hashable, Sendable {
    /// The group the file is shared in.
    public var group: String
    /// The file's name in the group.
    public var name: String
    /// The file's size in bytes.
    public var size: UInt64
    /// The size of every piece but the last, in bytes (`cluster.piece_size`).
    public var pieceSize: UInt32
    /// The SHA1 of each piece, in order.
    public var pieceHashes: PieceHashes
    /// The SHA1 of the piece-hash list, in hex.
    public var fileID: String
    /// The peers that serve the file now.
    public var seeders: [Seeder]

    /// Creates a file's metadata.
    public init(
        group: String, name: String, size: UInt64, pieceSize: UInt32, pieceHashes: PieceHashes, fileID: String,
        seeders: [Seeder]
    ) {
        self.group = group
        self.name = name
        self.size = size
        self.pieceSize = pieceSize
        self.pieceHashes = pieceHashes
        self.fileID = fileID
        self.seeders = seeders
    }
}

/// Why a command was refused; the text adapter renders it as `ERR|<code>|<message>`.
public enum ErrorCode: String, Hashable, Sendable, CaseIterable {
    /// The line or frame could not be parsed (field count, empty field, bad number).
    case badRequest = "bad_request"
    /// No such command.
    case unknownCommand = "unknown_command"
    /// The command needs a logged-in session.
    case notLoggedIn = "not_logged_in"
    /// Wrong user or password, or a wrong or missing admin MAC.
    case authFailed = "auth_failed"
    /// The user, group, request or file exists already.
    case exists = "exists"
    /// No such user, group, request, file or session.
    case notFound = "not_found"
    /// The session's user may not do this (not the owner, not a member).
    case forbidden = "forbidden"
    /// A name, size or hash list breaks a rule (paths in names, size and hash count disagreeing).
    case invalid = "invalid"
    /// A line or frame is longer than the configured limit.
    case tooLarge = "too_large"
    /// The request would take the user past a quota of cluster.yaml (groups, files, metadata, registrations).
    case quotaExceeded = "quota_exceeded"
    /// The binary preface named a version this tracker does not speak.
    case unsupportedVersion = "unsupported_version"
    /// The tracker cannot serve this now (shutting down, storage failed, too many connections).
    case unavailable = "unavailable"
    /// No primary can take the write right now (a failover is under way, or this tracker is stopping): retry,
    /// on this tracker or the other; a client that numbers its writes (`CLIENT`) may retry any write safely.
    case tryAgain = "try_again"
}
