import ReplicaCore
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of one tracker's `data_dir`, through plain POSIX calls: WAL segments, snapshots and a lock.
///
/// Names: `wal-<first seq, 20 digits>.log`, `snapshot-<seq, 20 digits>.snap`, `LOCK`. Names sort by seq.
public struct DataDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// The data directory at `path`; nothing is touched until a method is called.
    public init(path: String) {
        self.path = path
    }

    /// Creates the directory (and its parents) with mode 0700 if it does not exist.
    public func create() throws(ReplicaError) {
        var prefix = self.path.hasPrefix("/") ? "" : "."
        for component in self.path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .io("mkdir", path: prefix, errno: errno)
            }
        }
    }

    /// Takes an exclusive lock on the directory for this process's life; fails if another process holds it.
    public func lock() throws(ReplicaError) -> Int32 {
        let lockPath = self.path + "/LOCK"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("open", path: lockPath, errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .locked(path: self.path)
        }
        return fd
    }

    /// The path of the WAL segment whose first record is `seq`.
    public func segmentPath(firstSeq seq: UInt64) -> String { self.path + "/" + Self.name("wal-", seq, ".log") }

    /// The path of the snapshot taken after applying `seq`.
    public func snapshotPath(seq: UInt64) -> String { self.path + "/" + Self.name("snapshot-", seq, ".snap") }

    /// The WAL segments' first seqs, ascending.
    public func segments() throws(ReplicaError) -> [UInt64] { try self.seqs(prefix: "wal-", suffix: ".log") }

    /// The snapshots' seqs, ascending.
    public func snapshots() throws(ReplicaError) -> [UInt64] { try self.seqs(prefix: "snapshot-", suffix: ".snap") }

    /// Flushes the directory's entries (after a create, rename or unlink) to disk.
    public func sync() throws(ReplicaError) {
        let fd = open(self.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open", path: self.path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io("fsync", path: self.path, errno: errno) }
    }

    private static func name(_ prefix: String, _ seq: UInt64, _ suffix: String) -> String {
        let digits = String(seq)
        return prefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    private func seqs(prefix: String, suffix: String) throws(ReplicaError) -> [UInt64] {
        try self.names().compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
            let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
            return digits.count == 20 ? UInt64(digits) : nil
        }.sorted()
    }

    /// The ops a tracker cut from its log when it rejoined a newer primary, kept in `cut-<unix time>-<first
    /// seq>.log` files: each file's name, time and first seq, oldest first.
    public func cutFiles() throws(ReplicaError) -> [(name: String, time: UInt64, firstSeq: UInt64)] {
        try self.names().compactMap { name -> (String, UInt64, UInt64)? in
            guard name.hasPrefix("cut-"), name.hasSuffix(".log") else { return nil }
            let parts = name.dropFirst(4).dropLast(4).split(separator: "-")
            guard parts.count == 2, let time = UInt64(parts[0]), let seq = UInt64(parts[1]) else { return nil }
            return (name, time, seq)
        }.sorted { ($0.1, $0.2) < ($1.1, $1.2) }
    }

    private func names() throws(ReplicaError) -> [String] {
        guard let dir = opendir(self.path) else { throw .io("opendir", path: self.path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(
                withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                })
        }
        return names
    }
}

/// Small POSIX file helpers with typed errors.
enum PosixFile {
    /// Reads a whole file, or what follows its first `offset` bytes.
    static func readAll(_ path: String, from offset: Int = 0) throws(ReplicaError) -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("fstat", path: path, errno: errno) }
        guard offset == 0 || lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw .io("lseek", path: path, errno: errno)
        }
        var buffer = ByteBufferAllocator().buffer(capacity: max(Int(info.st_size) - offset, 0))
        while true {
            var readError: Int32 = 0
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 16) { raw in
                let count = read(fd, raw.baseAddress, raw.count)
                if count < 0 { readError = errno }
                return max(count, 0)
            }
            if readError == EINTR { continue }
            if readError != 0 { throw .io("read", path: path, errno: readError) }
            if count == 0 { return buffer }
        }
    }

    /// Reads up to `length` bytes of a file from `offset` (fewer at its end).
    static func readRange(_ path: String, from offset: Int, length: Int) throws(ReplicaError) -> ByteBuffer {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("open", path: path, errno: errno) }
        defer { close(fd) }
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        while buffer.readableBytes < length {
            var readError: Int32 = 0
            let have = buffer.readableBytes
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length - have) { raw in
                let count = pread(fd, raw.baseAddress, length - have, off_t(offset + have))
                if count < 0 { readError = errno }
                return max(count, 0)
            }
            if readError == EINTR { continue }
            if readError != 0 { throw .io("pread", path: path, errno: readError) }
            if count == 0 { break }
        }
        return buffer
    }

    /// Writes all of `buffer` to `fd`, retrying short writes.
    static func writeAll(_ fd: Int32, _ buffer: ByteBuffer, path: String) throws(ReplicaError) {
        var failure: Int32 = 0
        buffer.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let count = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += count
            }
        }
        if failure != 0 { throw .io("write", path: path, errno: failure) }
    }

    /// Writes `buffer` to `path` atomically: a temporary file, fsync, rename, directory fsync.
    static func writeAtomically(_ buffer: ByteBuffer, to path: String, in directory: DataDirectory) throws(ReplicaError)
    {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("open", path: temporary, errno: errno) }
        do throws(ReplicaError) {
            try Self.writeAll(fd, buffer, path: temporary)
            guard fsync(fd) == 0 else { throw ReplicaError.io("fsync", path: temporary, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .io("rename", path: temporary, errno: errno) }
        try directory.sync()
    }
}
