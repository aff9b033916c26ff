import Foundation

/// Files only their owner may read: session tokens, shell history, the cluster secret.
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

    /// Replaces `path` atomically with `contents`, mode 0600 (written to a temporary file, then renamed).
    public static func write(_ contents: String, to path: String) throws(ClientError) {
        let temporary = path + ".tmp.\(getpid())"
        try Self.create(temporary, contents: contents, exclusive: false)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .failed("cannot write \(path): \(reason)")
        }
    }

    /// Creates `path` with `contents` and mode 0600; fails if it exists when `exclusive`.
    public static func create(_ path: String, contents: String, exclusive: Bool) throws(ClientError) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (exclusive ? O_EXCL : 0)
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw .failed("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
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
