import NIOCore
import ReplicaCore
import SystemPackage

/// Appends records to the current WAL segment; used by one thread at a time.
struct SegmentWriter {
    /// The most bytes of records one ``append(_:)`` writes, unless a single record is larger: what a crash can
    /// tear off the end of a segment, and all recovery may cut.
    static let maxBatchBytes = 8 << 20

    private let directory: DataDirectory
    private var fd: FileDescriptor
    private var path: String
    private var size: Int64
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
            do {
                try self.fd.resize(to: self.size)
                try self.fd.seek(offset: self.size, from: .start)
            } catch {
                self.isBroken = true
            }
            throw error
        }
        do throws(ReplicaError) {
            try PosixFile.io("fdatasync", self.path) { try self.fd.dataSync() }
        } catch {
            self.isBroken = true
            throw error
        }
        self.size += Int64(bytes.readableBytes)
    }

    /// Closes this segment and starts the one whose first record is `firstSeq`.
    mutating func rotate(firstSeq: UInt64) throws(ReplicaError) {
        let next = try Self.open(directory: self.directory, firstSeq: firstSeq)
        try? self.fd.close()
        (self.fd, self.path, self.size) = next
    }

    /// Closes the segment file.
    func close() {
        try? self.fd.close()
    }

    private static func open(
        directory: DataDirectory, firstSeq: UInt64
    ) throws(ReplicaError) -> (FileDescriptor, String, Int64) {
        let path = directory.segmentPath(firstSeq: firstSeq)
        let fd = try PosixFile.io("open", path) {
            try FileDescriptor.open(
                path, .writeOnly, options: [.create, .append, .closeOnExec], permissions: [.ownerReadWrite])
        }
        do throws(ReplicaError) {
            let size = try PosixFile.io("lseek", path) { try fd.seek(offset: 0, from: .end) }
            try directory.sync()
            return (fd, path, size)
        } catch {
            try? fd.close()
            throw error
        }
    }
}
