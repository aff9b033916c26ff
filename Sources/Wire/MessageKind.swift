/// The kind byte of each request frame (docs/PROTOCOL.md lists them with their payloads).
enum RequestKind: UInt8, CaseIterable {
    case createUser = 0x01
    case login = 0x02
    case resume = 0x03
    case logout = 0x04
    case whoami = 0x05
    case createGroup = 0x06
    case joinGroup = 0x07
    case leaveGroup = 0x08
    case listGroups = 0x09
    case listRequests = 0x0A
    case acceptRequest = 0x0B
    case uploadFile = 0x0C
    case listFiles = 0x0D
    case downloadFile = 0x0E
    case stopShare = 0x0F
    case newSeeder = 0x10
    case quit = 0x11
    case identify = 0x12
    case status = 0x13
    case promote = 0x14
    case checkPeer = 0x15
    case switchover = 0x16
    case readLog = 0x17
    case rejectRequest = 0x18
    case removeMember = 0x19
}

/// The kind byte of each reply frame: replies start at `0x80` so that a request never reads as a reply.
enum ReplyKind: UInt8, CaseIterable {
    case ok = 0x80
    case token = 0x81
    case user = 0x82
    case groups = 0x83
    case users = 0x84
    case files = 0x85
    case fileID = 0x86
    case fileInfo = 0x87
    case challenge = 0x88
    case error = 0x89
    case status = 0x8A
    case logPage = 0x8B
}

extension RequestKind {
    /// The command's name in the text protocol (`ACCEPT_REQUEST` also takes `ACCEPT_REQUESTS`).
    var command: String {
        switch self {
        case .createUser: "CREATE_USER"
        case .login: "LOGIN"
        case .resume: "RESUME"
        case .logout: "LOGOUT"
        case .whoami: "WHOAMI"
        case .createGroup: "CREATE_GROUP"
        case .joinGroup: "JOIN_GROUP"
        case .leaveGroup: "LEAVE_GROUP"
        case .listGroups: "LIST_GROUPS"
        case .listRequests: "LIST_REQUESTS"
        case .acceptRequest: "ACCEPT_REQUEST"
        case .uploadFile: "UPLOAD_FILE"
        case .listFiles: "LIST_FILES"
        case .downloadFile: "DOWNLOAD_FILE"
        case .stopShare: "STOP_SHARE"
        case .newSeeder: "NEW_SEEDER"
        case .quit: "QUIT"
        case .identify: "CLIENT"
        case .status: "STATUS"
        case .promote: "PROMOTE"
        case .checkPeer: "CHECK_PEER"
        case .switchover: "SWITCHOVER"
        case .readLog: "READ_LOG"
        case .rejectRequest: "REJECT_REQUEST"
        case .removeMember: "REMOVE_MEMBER"
        }
    }
}

extension Request {
    /// The command's name in the text protocol: `CREATE_USER`, `LIST_GROUPS`, ...
    public var command: String { self.kind.command }

    /// The kind byte this request travels under.
    var kind: RequestKind {
        switch self {
        case .createUser: .createUser
        case .login: .login
        case .resume: .resume
        case .logout: .logout
        case .whoami: .whoami
        case .createGroup: .createGroup
        case .joinGroup: .joinGroup
        case .leaveGroup: .leaveGroup
        case .listGroups: .listGroups
        case .listRequests: .listRequests
        case .acceptRequest: .acceptRequest
        case .rejectRequest: .rejectRequest
        case .removeMember: .removeMember
        case .uploadFile: .uploadFile
        case .listFiles: .listFiles
        case .downloadFile: .downloadFile
        case .stopShare: .stopShare
        case .newSeeder: .newSeeder
        case .quit: .quit
        case .identify: .identify
        case .status: .status
        case .promote: .promote
        case .checkPeer: .checkPeer
        case .switchover: .switchover
        case .readLog: .readLog
        }
    }
}

extension Reply {
    /// The kind byte this reply travels under.
    var kind: ReplyKind {
        switch self {
        case .ok: .ok
        case .token: .token
        case .user: .user
        case .groups: .groups
        case .users: .users
        case .files: .files
        case .fileID: .fileID
        case .fileInfo: .fileInfo
        case .challenge: .challenge
        case .error: .error
        case .status: .status
        case .logPage: .logPage
        }
    }
}
