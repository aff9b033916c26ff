import Foundation

/// Files only their owner may read: session tokens, shell history, the cluster secret; and the directories that
/// hold them.
public enum PrivateFile {
    /// Creates `directory` and its parents with mode 0700 where they do not exist.
    public static func makeDirectory(_ directory: String) throws(ClientError) {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .failed("cannot create directory \(directory): \(Self.reason(error))")
        }
    }

    /// Creates `directory` as ``makeDirectory(_:)`` does, then checks it is this user's own
    /// (``checkOwnDirectory(_:)``): for a home and the state under it, which tandemctl and the peer daemon trust.
    public static func makeOwnDirectory(_ directory: String) throws(ClientError) {
        try Self.makeDirectory(directory)
        try Self.checkOwnDirectory(directory)
    }

    /// Refuses `directory` unless it is this user's own: owned by the effective user (a link to it too), and
    /// writable by nobody else. In a directory another user can change, they could plant a link where a file is
    /// written, or swap the session and state read from there.
    ///
    /// - Throws: ``ClientError/usage(_:)`` saying whose the directory is, or how to make it private.
    public static func checkOwnDirectory(_ directory: String) throws(ClientError) {
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw .failed("cannot read \(directory): \(String(cString: strerror(errno)))")
        }
        let user = geteuid()
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard info.st_uid == user else {
                throw Self.notOwned(directory, owner: info.st_uid, what: "is a link owned by")
            }
            guard stat(directory, &info) == 0 else {
                throw .failed("cannot read \(directory): \(String(cString: strerror(errno)))")
            }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .usage("\(directory) is not a directory") }
        guard info.st_uid == user else { throw Self.notOwned(directory, owner: info.st_uid, what: "belongs to") }
        guard info.st_mode & 0o022 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw .usage(
                "refusing \(directory): group or others may write to it (mode \(mode)), so another user could plant "
                    + "files there; run chmod go-w \(directory)")
        }
    }

    private static func notOwned(_ directory: String, owner: uid_t, what: String) -> ClientError {
        .usage(
            "refusing \(directory): it \(what) uid \(owner), not you (uid \(geteuid())), so that user could swap the "
                + "session and state kept there; use a directory of your own (--home DIR or TANDEM_HOME naming a "
                + "directory you own, or one that does not exist yet)")
    }

    /// Replaces `path` atomically with `contents`, mode 0600 (written to a temporary file, then renamed).
    public static func write(_ contents: String, to path: String) throws(ClientError) {
        try Self.write(bytes: Array(contents.utf8), to: path)
    }

    /// Replaces `path` atomically with `bytes`, mode 0600: written and synced to a new temporary file of a random
    /// name, created exclusively (nothing there, not even a link, is followed or truncated), then renamed.
    public static func write(bytes: [UInt8], to path: String) throws(ClientError) {
        var generator = SystemRandomNumberGenerator()
        let temporary = path + ".tmp-" + String(generator.next(), radix: 16)
        try Self.create(temporary, bytes: bytes, exclusive: true)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .failed("cannot write \(path): \(reason)")
        }
    }

    /// Creates `path` with `contents` and mode 0600; fails if it exists when `exclusive`. A link at `path` is
    /// never followed.
    public static func create(_ path: String, contents: String, exclusive: Bool) throws(ClientError) {
        try Self.create(path, bytes: Array(contents.utf8), exclusive: exclusive)
    }

    private static func create(_ path: String, bytes: [UInt8], exclusive: Bool) throws(ClientError) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : 0)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw .failed("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw .failed("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += result
        }
        guard fchmod(fd, 0o600) == 0, fsync(fd) == 0 else {
            throw .failed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The file's text, or nil when it does not exist.
    public static func read(_ path: String) throws(ClientError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .failed("cannot read \(path): \(Self.reason(error))")
        }
    }

    /// Removes `path`; a missing file is not an error.
    public static func remove(_ path: String) throws(ClientError) {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw .failed("cannot remove \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(posix.code)))
        }
        return (error as NSError).localizedDescription
    }
}
