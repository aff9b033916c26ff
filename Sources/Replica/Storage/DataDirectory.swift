import ReplicaCore
import NIOCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of one tracker's `data_dir`: WAL segments, snapshots and a lock.
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

    /// Takes an exclusive lock on the directory, held while the returned descriptor is open (so for the
    /// process's life at most); fails if another process holds it.
    func lock() throws(ReplicaError) -> FileDescriptor {
        let lockPath = self.path + "/LOCK"
        let fd = try PosixFile.io("open", lockPath) {
            try FileDescriptor.open(
                lockPath, .readWrite, options: [.create, .closeOnExec], permissions: [.ownerReadWrite])
        }
        guard flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 else {
            try? fd.close()
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
        try PosixFile.io("fsync", self.path) {
            let fd = try FileDescriptor.open(self.path, .readOnly, options: [.directory, .closeOnExec])
            try fd.closeAfter { try fd.sync() }
        }
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
