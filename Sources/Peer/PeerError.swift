import Foundation

/// Why a peer daemon could not do what it was asked; ``description`` says what happened and what to do, and
/// ``exitCode`` is what `tandemctl` ends with.
public struct PeerError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case io(action: String, path: String, errno: Int32)
        case replaced(path: String, by: String)
        case notRegularFile(path: String)
        case alreadyShared(name: String, group: String)
        case notShared(name: String, group: String)
        case otherFileNamed(name: String, group: String)
        case sharedHere(name: String)
        case downloadingInOtherGroup(name: String, group: String)
        case targetExists(path: String)
        case partExists(path: String)
        case completeButTargetTaken(target: String, part: String)
        case noSuchDownload(fileID: String)
        case noDownloadNamed(name: String, group: String)
        case changedOnTracker(name: String, group: String, fileID: String)
        case badSavedHashes(name: String)
        case stateFile(path: String, detail: String)
        case unencodable(path: String, detail: String)
        case stopping
        case privateFile(String, exitCode: Int32)
        case daemonRunning(socket: String)
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// A system call on `path` failed with `errno`.
    static func io(_ action: String, _ path: String, errno code: Int32 = errno) -> PeerError {
        PeerError(.io(action: action, path: path, errno: code))
    }
    /// `path` is no longer the file it was when recorded: it was swapped for `what`.
    static func replaced(_ path: String, by what: String) -> PeerError { PeerError(.replaced(path: path, by: what)) }
    /// What was to be shared is not a regular file.
    static func notRegularFile(_ path: String) -> PeerError { PeerError(.notRegularFile(path: path)) }
    /// This peer shares `name` in `group` already.
    static func alreadyShared(_ name: String, in group: String) -> PeerError {
        PeerError(.alreadyShared(name: name, group: group))
    }
    /// This peer does not share `name` in `group`.
    static func notShared(_ name: String, in group: String) -> PeerError {
        PeerError(.notShared(name: name, group: group))
    }
    /// `group` has another file by that name.
    static func otherFileNamed(_ name: String, in group: String) -> PeerError {
        PeerError(.otherFileNamed(name: name, group: group))
    }
    /// The file to download is one this peer shares.
    static func sharedHere(_ name: String) -> PeerError { PeerError(.sharedHere(name: name)) }
    /// The same file is being downloaded here in another group.
    static func downloadingInOtherGroup(_ name: String, group: String) -> PeerError {
        PeerError(.downloadingInOtherGroup(name: name, group: group))
    }
    /// A download's target exists already.
    static func targetExists(_ path: String) -> PeerError { PeerError(.targetExists(path: path)) }
    /// A download's part file exists already.
    static func partExists(_ path: String) -> PeerError { PeerError(.partExists(path: path)) }
    /// The download is complete, but something took its target meanwhile.
    static func completeButTargetTaken(_ target: String, part: String) -> PeerError {
        PeerError(.completeButTargetTaken(target: target, part: part))
    }
    /// No download of that file runs here.
    static func noSuchDownload(_ fileID: String) -> PeerError { PeerError(.noSuchDownload(fileID: fileID)) }
    /// No download of that name in that group runs here (or it is complete, for resume).
    static func noDownloadNamed(_ name: String, in group: String) -> PeerError {
        PeerError(.noDownloadNamed(name: name, group: group))
    }
    /// The file of that name on the tracker is another one now.
    static func changedOnTracker(_ name: String, in group: String, fileID: String) -> PeerError {
        PeerError(.changedOnTracker(name: name, group: group, fileID: fileID))
    }
    /// A saved download's piece hashes do not parse.
    static func badSavedHashes(_ name: String) -> PeerError { PeerError(.badSavedHashes(name: name)) }
    /// A state file under the daemon's home cannot be read.
    static func stateFile(_ path: String, _ detail: String) -> PeerError {
        PeerError(.stateFile(path: path, detail: detail))
    }
    /// A state file could not be encoded (a bug: every record encodes).
    static func unencodable(_ path: String, _ detail: String) -> PeerError {
        PeerError(.unencodable(path: path, detail: detail))
    }
    /// The daemon is stopping: nothing new starts.
    static let stopping = PeerError(.stopping)
    /// The daemon's home or state is not the user's own (``TrackerClient/PrivateFile``'s refusal).
    static func privateFile(_ description: String, exitCode: Int32) -> PeerError {
        PeerError(.privateFile(description, exitCode: exitCode))
    }
    /// Another daemon answers on this home's command socket.
    static func daemonRunning(socket: String) -> PeerError { PeerError(.daemonRunning(socket: socket)) }

    /// 1 refused or failed, 2 usage (another daemon runs, a home that is not the user's).
    /// Whether the file it is about is gone or is another file now (deleted, moved, replaced, changed), rather than
    /// out of reach for a while (no descriptor left, say).
    var meansFileGone: Bool {
        switch self.base {
        case .replaced: true
        case .io(_, _, let code): code == ENOENT || code == ENOTDIR || code == ESTALE
        default: false
        }
    }

    public var exitCode: Int32 {
        switch self.base {
        case .daemonRunning: 2
        case .privateFile(_, let exitCode): exitCode
        default: 1
        }
    }

    public var description: String {
        switch self.base {
        case .io(let action, let path, let code):
            let advice =
                switch code {
                case ENOSPC: "; free some space and run the command again"
                case EACCES, EPERM, EROFS: "; pick a directory you can write to"
                default: ""
                }
            return "cannot \(action) \(path): \(String(cString: strerror(code)))\(advice)"
        case .replaced(let path, let what):
            return "\(path) was replaced by \(what) since it was recorded; it is not served or written"
        case .notRegularFile(let path):
            return "\(path) is not a regular file"
        case .alreadyShared(let name, let group):
            return "this peer already shares \(name) in \(group)"
        case .notShared(let name, let group):
            return "this peer does not share \(name) in \(group); tandemctl shares lists what it does"
        case .otherFileNamed(let name, let group):
            return "\(group) already has a different file named \(name); rename yours to share it"
        case .sharedHere(let name):
            return "this peer shares \(name) in this group already (tandemctl shares shows where)"
        case .downloadingInOtherGroup(let name, let group):
            return "this peer is downloading the same file as \(name) in \(group); once it is done, download it "
                + "again here"
        case .targetExists(let path):
            return "\(path) exists; move it away or download elsewhere with --to DIR"
        case .partExists(let path):
            return "\(path) exists already (another download, or a file of that name); nothing was changed: move it "
                + "away, or download elsewhere with --to DIR"
        case .completeButTargetTaken(let target, let part):
            return "\(target) exists; the download is complete in \(part): move the other file away and run the "
                + "download again"
        case .noSuchDownload(let fileID):
            return "no download of file \(fileID.prefix(40)) here; tandemctl downloads lists them"
        case .noDownloadNamed(let name, let group):
            return "no download of \(name) in \(group) to do that to here; tandemctl downloads lists them"
        case .changedOnTracker(let name, let group, let fileID):
            return "\(name) in \(group) is another file now (id \(fileID))"
        case .badSavedHashes(let name):
            return "the saved piece hashes of \(name) do not parse"
        case .stateFile(let path, let detail):
            return "cannot read \(path): \(detail); move it away to start afresh"
        case .unencodable(let path, let detail):
            return "cannot encode \(path): \(detail)"
        case .stopping:
            return "the peer daemon is stopping; run the command again once it is back"
        case .privateFile(let description, _):
            return description
        case .daemonRunning(let socket):
            return "a peer daemon already runs for this home (its socket \(socket) answers)"
        }
    }
}
