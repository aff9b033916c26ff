import CLinux
import Foundation
import Swarm
import TandemCrypto

/// An open file read and written at piece offsets with `pread`/`pwrite`: a shared file or a download's part file.
final class PieceFile: Sendable {
    let path: String
    let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        close(self.descriptor)
    }

    /// Opens `path` for reading.
    static func openForReading(_ path: String) throws(PeerError) -> PieceFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("open", path) }
        return PieceFile(path: path, descriptor: descriptor)
    }

    /// Opens or creates `path` for reading and writing (mode 0644), with room for `size` bytes reserved, so
    /// that a full disk shows now rather than halfway through.
    /// A file this call creates is removed again when the room cannot be reserved: nothing is left behind.
    static func openForWriting(_ path: String, size: UInt64) throws(PeerError) -> PieceFile {
        let existed = access(path, F_OK) == 0
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io("create", path) }
        let file = PieceFile(path: path, descriptor: descriptor)
        guard size > 0 else { return file }
        let result = posix_fallocate(descriptor, 0, off_t(size))
        if result == 0 { return file }
        // Filesystems without fallocate still get the right size; a full disk shows when written then.
        if result == EOPNOTSUPP || result == EINVAL, ftruncate(descriptor, off_t(size)) == 0 { return file }
        if !existed { unlink(path) }
        throw .io("reserve \(size) bytes for", path, errno: result == EOPNOTSUPP || result == EINVAL ? errno : result)
    }

    /// The file's size and modification time, to notice a shared file that changed.
    func identity() throws(PeerError) -> FileIdentity {
        var info = stat()
        guard fstat(self.descriptor, &info) == 0 else { throw .io("stat", self.path) }
        return FileIdentity(info)
    }

    /// Reads `buffer.count` bytes at `offset`; fewer only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(PeerError) -> Int {
        var done = 0
        while done < buffer.count {
            let result = pread(
                self.descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw .io("read", self.path) }
            if result == 0 { break }
            done += result
        }
        return done
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(PeerError) {
        var done = 0
        while done < bytes.count {
            let result = pwrite(
                self.descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw .io("write", self.path) }
            done += result
        }
    }

    /// Starts writing bytes `offset..<offset + length` to the disk without waiting for them, so that the
    /// final ``sync()`` has little left to do. Best effort: a failure shows in ``sync()``.
    func startWriteback(offset: UInt64, length: Int) {
        _ = tandem_start_writeback(self.descriptor, Int64(offset), Int64(length))
    }

    /// Flushes what was written to the disk.
    func sync() throws(PeerError) {
        guard fsync(self.descriptor) == 0 else { throw .io("sync", self.path) }
    }

    /// The SHA1 of piece `index` as the file holds it now, read through `buffer` in parts of at most
    /// ``digestChunk`` bytes, small enough to be hashed while they are still in the CPU's cache.
    func digest(of index: Int, layout: PieceLayout, buffer: UnsafeMutableRawBufferPointer) throws(PeerError) -> [UInt8]
    {
        let stream = SHA1Stream()
        let start = layout.offset(of: index)
        let length = layout.length(of: index)
        var done = 0
        while done < length {
            let part = UnsafeMutableRawBufferPointer(
                rebasing: buffer[..<min(Self.digestChunk, length - done, buffer.count)])
            let read = try self.read(into: part, at: start + UInt64(done))
            guard read > 0 else { break }
            stream.update(UnsafeRawBufferPointer(rebasing: part[..<read]))
            done += read
        }
        return stream.finish()
    }

    /// How much ``digest(of:layout:buffer:)`` reads at a time.
    static let digestChunk = 128 << 10
}

/// Size and modification time: a shared file whose identity changed is no longer the file that was hashed.
struct FileIdentity: Hashable, Codable, Sendable {
    var size: UInt64
    var modified: Int64
    var modifiedNanoseconds: Int64

    init(_ info: stat) {
        self.size = UInt64(info.st_size)
        self.modified = Int64(info.st_mtim.tv_sec)
        self.modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    }
}
