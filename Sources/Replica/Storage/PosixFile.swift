import NIOCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swift-system's descriptor; Foundation has one of the same name.
typealias FileDescriptor = SystemPackage.FileDescriptor

/// The storage's file helpers, on swift-system's `FileDescriptor` (typed `Errno`, `EINTR` retried), with errors
/// that name the operation and the file.
enum PosixFile {
    /// Runs `body`, turning the `Errno` it throws into ``ReplicaError/io(_:path:errno:)`` for `operation` on
    /// `path`.
    static func io<Result>(
        _ operation: String, _ path: String, _ body: () throws -> Result
    ) throws(ReplicaError) -> Result {
        do {
            return try body()
        } catch let error as Errno {
            throw .io(operation, path: path, errno: error.rawValue)
        } catch {
            throw .io(operation, path: path, errno: EIO)
        }
    }

    /// Opens `path` for reading.
    static func openForReading(_ path: String) throws(ReplicaError) -> FileDescriptor {
        try Self.io("open", path) { try FileDescriptor.open(path, .readOnly, options: [.closeOnExec]) }
    }

    /// Reads a whole file, or what follows its first `offset` bytes.
    static func readAll(_ path: String, from offset: Int = 0) throws(ReplicaError) -> ByteBuffer {
        let fd = try Self.openForReading(path)
        defer { try? fd.close() }
        let size = try Self.io("lseek", path) { try fd.seek(offset: 0, from: .end) }
        return try Self.read(fd, path: path, from: offset, length: max(Int(size) - offset, 0), toEnd: true)
    }

    /// Reads up to `length` bytes of a file from `offset` (fewer at its end).
    static func readRange(_ path: String, from offset: Int, length: Int) throws(ReplicaError) -> ByteBuffer {
        let fd = try Self.openForReading(path)
        defer { try? fd.close() }
        return try Self.read(fd, path: path, from: offset, length: length, toEnd: false)
    }

    /// Reads from `offset` until `length` bytes or the end of the file; with `toEnd`, on past `length` (the file
    /// grew) until the end.
    private static func read(
        _ fd: FileDescriptor, path: String, from offset: Int, length: Int, toEnd: Bool
    ) throws(ReplicaError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        while toEnd || buffer.readableBytes < length {
            let have = buffer.readableBytes
            let wanted = toEnd ? max(length - have, 1 << 16) : length - have
            let count = try Self.io("read", path) {
                try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { raw in
                    let space = UnsafeMutableRawBufferPointer(rebasing: raw.prefix(wanted))
                    return try fd.read(fromAbsoluteOffset: Int64(offset + have), into: space)
                }
            }
            if count == 0 { break }
        }
        return buffer
    }

    /// Writes all of `buffer` to `fd`, retrying short writes.
    static func writeAll(_ fd: FileDescriptor, _ buffer: ByteBuffer, path: String) throws(ReplicaError) {
        _ = try Self.io("write", path) { try buffer.withUnsafeReadableBytes { try fd.writeAll($0) } }
    }

    /// Writes `buffer` to `path` atomically: a temporary file, fsync, rename, directory fsync.
    static func writeAtomically(_ buffer: ByteBuffer, to path: String, in directory: DataDirectory) throws(ReplicaError)
    {
        let temporary = path + ".tmp"
        let fd = try Self.io("open", temporary) {
            try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite])
        }
        do throws(ReplicaError) {
            try Self.writeAll(fd, buffer, path: temporary)
            try Self.io("fsync", temporary) { try fd.sync() }
        } catch {
            try? fd.close()
            unlink(temporary)
            throw error
        }
        try? fd.close()
        guard rename(temporary, path) == 0 else { throw .io("rename", path: temporary, errno: errno) }
        try directory.sync()
    }
}

extension FileDescriptor {
    /// Flushes the file's data and metadata to disk (`fsync`), retried on `EINTR`.
    func sync() throws(Errno) {
        try Self.retryingInterrupts { fsync(self.rawValue) }
    }

    /// Flushes the file's data, and the metadata needed to read it, to disk (`fdatasync`), retried on `EINTR`.
    func dataSync() throws(Errno) {
        try Self.retryingInterrupts { fdatasync(self.rawValue) }
    }

    private static func retryingInterrupts(_ call: () -> Int32) throws(Errno) {
        while call() != 0 {
            let error = Errno(rawValue: errno)
            if error != .interrupted { throw error }
        }
    }
}
