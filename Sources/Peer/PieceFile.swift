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

    /// Opens `path` for reading, following links: what a user asks to share.
    static func openForReading(_ path: String) throws(PeerError) -> PieceFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io("open", path) }
        return PieceFile(path: path, descriptor: descriptor)
    }

    /// Opens a shared file again to serve it: `path` with no link followed at its end, and only if it is still the
    /// file recorded as `identity` (same device, inode, size and modification time). A file swapped for a link or
    /// another file since it was shared is refused, so nothing but what was hashed is ever served.
    static func reopenShared(_ path: String, identity: FileIdentity) throws(PeerError) -> PieceFile {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw errno == ELOOP ? .replaced(path, by: "a symbolic link") : .io("open", path)
        }
        let file = PieceFile(path: path, descriptor: descriptor)
        guard try file.identity().matches(identity) else { throw .replaced(path, by: "another file, or changed") }
        return file
    }

    /// Creates the part file of a download at `path`, which must not exist (not even as a link), mode 0644, with
    /// room for `size` bytes reserved so that a full disk shows now rather than halfway through. Whatever is at
    /// `path` already is left alone; the file is removed again when the room cannot be reserved.
    static func createPart(_ path: String, size: UInt64) throws(PeerError) -> PieceFile {
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw errno == EEXIST
                ? .partExists(path)
                : .io("create", path)
        }
        let file = PieceFile(path: path, descriptor: descriptor)
        do throws(PeerError) {
            try file.reserve(size)
        } catch {
            file.unlinkIfStillHere()
            throw error
        }
        return file
    }

    /// Opens the part file of a download being resumed: `path`, with no link followed, only if it is the file the
    /// download created (`identity`'s device and inode; any regular file of the right size for a record written
    /// before identities were kept).
    static func reopenPart(_ path: String, identity: FileIdentity?, size: UInt64) throws(PeerError) -> PieceFile {
        let descriptor = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw errno == ELOOP ? .replaced(path, by: "a symbolic link") : .io("open", path)
        }
        let file = PieceFile(path: path, descriptor: descriptor)
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io("stat", path) }
        let found = FileIdentity(info)
        guard (info.st_mode & S_IFMT) == S_IFREG, identity.map(found.isSameFile) ?? true, found.size == size else {
            throw .replaced(path, by: "another file")
        }
        return file
    }

    /// Reserves room for `size` bytes; filesystems without fallocate still get the right size, and a full disk
    /// shows when written then.
    private func reserve(_ size: UInt64) throws(PeerError) {
        guard size > 0 else { return }
        let result = posix_fallocate(self.descriptor, 0, off_t(size))
        if result == 0 { return }
        if result == EOPNOTSUPP || result == EINVAL, ftruncate(self.descriptor, off_t(size)) == 0 { return }
        throw .io(
            "reserve \(size) bytes for", self.path, errno: result == EOPNOTSUPP || result == EINVAL ? errno : result)
    }

    /// Gives this file the name `target` too, without replacing anything there, and removes its own name: the file
    /// linked is the one this descriptor holds, whatever has been put at ``path`` since.
    func rename(to target: String) throws(PeerError) {
        // link() of /proc/self/fd/N with AT_SYMLINK_FOLLOW links the open file itself, not what its path names now.
        guard linkat(AT_FDCWD, "/proc/self/fd/\(self.descriptor)", AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0 else {
            let code = errno
            throw code == EEXIST
                ? .completeButTargetTaken(target, part: self.path)
                : .io("move the download to", target, errno: code)
        }
        self.unlinkIfStillHere()
    }

    /// Removes ``path`` if it still names this file (and not something put there since).
    private func unlinkIfStillHere() {
        var info = stat()
        guard lstat(self.path, &info) == 0, let mine = try? self.identity(),
            FileIdentity(info).isSameFile(as: mine)
        else { return }
        unlink(self.path)
    }

    /// The file's device, inode, size and modification time, to notice a file that changed or was swapped.
    func identity() throws(PeerError) -> FileIdentity {
        var info = stat()
        guard fstat(self.descriptor, &info) == 0 else { throw .io("stat", self.path) }
        return FileIdentity(info)
    }

    /// Whether the file is a regular file (not a directory, device or pipe).
    func isRegularFile() throws(PeerError) -> Bool {
        var info = stat()
        guard fstat(self.descriptor, &info) == 0 else { throw .io("stat", self.path) }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    /// A new descriptor of this file, which the caller owns.
    func duplicateDescriptor() throws(PeerError) -> Int32 {
        let duplicate = fcntl(self.descriptor, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { throw .io("duplicate the descriptor of", self.path) }
        return duplicate
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

/// Device, inode, size and modification time: a shared file whose identity changed is no longer the file that was
/// hashed, and a part file with another device or inode is not the one its download created.
struct FileIdentity: Hashable, Codable, Sendable {
    var size: UInt64
    var modified: Int64
    var modifiedNanoseconds: Int64
    /// Nil in records written before the inode was kept; ``matches(_:)`` then compares the rest.
    var device: UInt64?
    var inode: UInt64?

    init(_ info: stat) {
        self.size = UInt64(info.st_size)
        self.modified = Int64(info.st_mtim.tv_sec)
        self.modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
    }

    /// Whether both name the same file on the same device (false when either does not know).
    func isSameFile(as other: FileIdentity) -> Bool {
        self.device != nil && self.inode != nil && self.device == other.device && self.inode == other.inode
    }

    /// Whether this is `recorded`, unchanged: the same file, size and modification time.
    func matches(_ recorded: FileIdentity) -> Bool {
        let sameFile = recorded.inode == nil || self.isSameFile(as: recorded)
        return sameFile && self.size == recorded.size && self.modified == recorded.modified
            && self.modifiedNanoseconds == recorded.modifiedNanoseconds
    }
}
