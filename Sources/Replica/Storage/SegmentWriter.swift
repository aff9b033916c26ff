import ReplicaCore
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends records to the current WAL segment; used by one thread at a time.
struct SegmentWriter {
    /// The most bytes of records one ``append(_:)`` writes, unless a single record is larger: what a crash can
    /// tear off the end of a segment, and all recovery may cut.
    static let maxBatchBytes = 8 << 20

    private let directory: DataDirectory
    private var fd: Int32
    private var path: String
    private var size: off_t
    /// Set when a failed write could not be cut back off the file: the segment must not be written again.
    private(set) var isBroken = false

    /// Opens (or creates) the segment whose first record is `firstSeq`, for appending.
    init(directory: DataDirectory, firstSeq: UInt64) throws(ReplicaError) {
        self.directory = directory
        (self.fd, self.path, self.size) = try Self.open(directory: directory, firstSeq: firstSeq)
    }

    /// Writes `bytes` at the end of the segment and waits until they are on disk.
    ///
    /// On failure the segment is cut back to its previous length, so a half-written batch never stays.
    mutating func append(_ bytes: ByteBuffer) throws(ReplicaError) {
        do throws(ReplicaError) {
            try PosixFile.writeAll(self.fd, bytes, path: self.path)
        } catch {
            if ftruncate(self.fd, self.size) != 0 || lseek(self.fd, self.size, SEEK_SET) < 0 { self.isBroken = true }
            throw error
        }
        guard fdatasync(self.fd) == 0 else {
            self.isBroken = true
            throw .io("fdatasync", path: self.path, errno: errno)
        }
        self.size += off_t(bytes.readableBytes)
    }

    /// Closes this segment and starts the one whose first record is `firstSeq`.
    mutating func rotate(firstSeq: UInt64) throws(ReplicaError) {
        let next = try Self.open(directory: self.directory, firstSeq: firstSeq)
        Glibc.close(self.fd)
        (self.fd, self.path, self.size) = next
    }

    /// Closes the segment file.
    func close() {
        Glibc.close(self.fd)
    }

    private static func open(
        directory: DataDirectory, firstSeq: UInt64
    ) throws(ReplicaError) -> (Int32, String, off_t) {
        let path = directory.segmentPath(firstSeq: firstSeq)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("open", path: path, errno: errno) }
        let size = lseek(fd, 0, SEEK_END)
        guard size >= 0 else { throw .io("lseek", path: path, errno: errno) }
        try directory.sync()
        return (fd, path, size)
    }
}
