import Swarm

/// A command `tandemctl` sends the peer daemon over its unix socket: one JSON object on one line.
public enum ControlRequest: Codable, Hashable, Sendable {
    /// The daemon's control socket for `home`: `<home>/peer/peer.sock`, in the daemon's state directory (mode
    /// 0700), so that nobody else can connect to it even while it is being bound.
    public static func socketPath(home: String) -> String { home + "/peer/peer.sock" }

    /// Hash `path` and share it into `group`; progress lines come before the answer.
    case share(group: String, path: String)
    /// Start downloading `name` of `group` into the directory `to`.
    case download(group: String, name: String, to: String)
    /// Every download with its progress.
    case downloads
    /// The download of file `fileID` once it ends (complete or failed), or after `milliseconds`, whichever is
    /// first: `tandemctl download` follows a download with it and hears of its end at once.
    case awaitDownload(fileID: String, milliseconds: Int)
    /// Pause the download of `name` of `group`: it keeps its verified pieces and asks no peer for more.
    case pause(group: String, name: String)
    /// Go on with a paused (or failed) download of `name` of `group`.
    case resume(group: String, name: String)
    /// Stop the download of `name` of `group` for good and delete its part file.
    case cancel(group: String, name: String)
    /// Forget the downloads that ended (complete or failed); answers with those left.
    case clearDownloads
    /// What this peer shares and how much of each it served.
    case shares
    /// Stop serving `name` of `group` and leave its seeders.
    case stopShare(group: String, name: String)
    /// The daemon's address and counts.
    case status
    /// Stop the daemon.
    case stop
}

/// One line the daemon answers with; every request ends with exactly one that is not ``progress(_:)``.
public enum ControlReply: Codable, Hashable, Sendable {
    /// How far a long command (hashing) has come.
    case progress(WorkProgress)
    case shared(ShareStatus)
    case downloadStarted(DownloadStatus)
    /// One download's status (``ControlRequest/awaitDownload(fileID:milliseconds:)``).
    case download(DownloadStatus)
    case downloads([DownloadStatus])
    case shares([ShareStatus])
    case status(DaemonStatus)
    case done
    /// The command failed; `exitCode` is what tandemctl exits with.
    case failed(message: String, exitCode: Int32)
}

/// How many of the bytes a long command works through are done.
public struct WorkProgress: Codable, Hashable, Sendable {
    public var done: UInt64
    public var total: UInt64

    public init(done: UInt64, total: UInt64) {
        self.done = done
        self.total = total
    }
}

/// A file this peer shares, and how much of it was served.
public struct ShareStatus: Codable, Hashable, Sendable {
    public var group: String
    public var name: String
    public var path: String
    public var fileID: String
    public var size: UInt64
    public var piecesServed: Int
    public var bytesServed: UInt64
    /// Why it is no longer served (its file was deleted, moved or changed); nil while it is.
    public var broken: String?

    public init(
        group: String, name: String, path: String, fileID: String, size: UInt64, piecesServed: Int,
        bytesServed: UInt64, broken: String? = nil
    ) {
        self.broken = broken
        self.group = group
        self.name = name
        self.path = path
        self.fileID = fileID
        self.size = size
        self.piecesServed = piecesServed
        self.bytesServed = bytesServed
    }
}

/// Where one download stands.
public struct DownloadStatus: Codable, Hashable, Sendable {
    public var group: String
    public var name: String
    public var fileID: String
    public var target: String
    /// Where it stands; `waiting` means no reachable peer has the missing pieces.
    public var state: DownloadState
    public var size: UInt64
    public var bytesDone: UInt64
    public var piecesDone: Int
    public var pieces: Int
    /// Bytes per second over the last seconds.
    public var rate: Double
    public var peers: Int
    /// Seconds to go at the current rate; nil when unknown.
    public var eta: Double?
    /// What went wrong, or what the download waits for.
    public var message: String?

    public init(
        group: String, name: String, fileID: String, target: String, state: DownloadState, size: UInt64,
        bytesDone: UInt64, piecesDone: Int, pieces: Int, rate: Double, peers: Int, eta: Double?, message: String?
    ) {
        self.group = group
        self.name = name
        self.fileID = fileID
        self.target = target
        self.state = state
        self.size = size
        self.bytesDone = bytesDone
        self.piecesDone = piecesDone
        self.pieces = pieces
        self.rate = rate
        self.peers = peers
        self.eta = eta
        self.message = message
    }

    public var percent: Double { self.size == 0 ? 100 : Double(self.bytesDone) * 100 / Double(self.size) }

    private enum CodingKeys: String, CodingKey {
        case group, name, fileID, target, state, size, bytesDone, piecesDone, pieces, rate, peers, eta, message
    }

    /// Every key, `eta` and `message` as null when there is none, so a reader of `--json` finds them all.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.group, forKey: .group)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.fileID, forKey: .fileID)
        try container.encode(self.target, forKey: .target)
        try container.encode(self.state, forKey: .state)
        try container.encode(self.size, forKey: .size)
        try container.encode(self.bytesDone, forKey: .bytesDone)
        try container.encode(self.piecesDone, forKey: .piecesDone)
        try container.encode(self.pieces, forKey: .pieces)
        try container.encode(self.rate, forKey: .rate)
        try container.encode(self.peers, forKey: .peers)
        try container.encode(self.eta, forKey: .eta)
        try container.encode(self.message, forKey: .message)
    }
}

/// The daemon's process, port and counts.
public struct DaemonStatus: Codable, Hashable, Sendable {
    public var pid: Int32
    public var port: Int
    public var shares: Int
    public var downloads: Int

    public init(pid: Int32, port: Int, shares: Int, downloads: Int) {
        self.pid = pid
        self.port = port
        self.shares = shares
        self.downloads = downloads
    }
}
