import ReplicaCore
import NIOCore

/// A file in the data directory that holds one number: `u64 | u32 CRC-32C of those 8 bytes`, replaced atomically
/// (temporary file, fsync, rename) so it is always either the old number or the new one.
struct NumberFile {
    /// The file's name in the data directory.
    let name: String
    /// What the number is, for the error that names a damaged file.
    let meaning: String

    func path(in directory: DataDirectory) -> String { directory.path + "/" + self.name }

    /// The saved number; nil when the file does not exist.
    func read(from directory: DataDirectory) throws(ReplicaError) -> UInt64? {
        let path = self.path(in: directory)
        var bytes: ByteBuffer
        do {
            bytes = try PosixFile.readAll(path)
        } catch where error.isMissingFile {
            return nil
        }
        guard bytes.readableBytes == 12, let number = bytes.readInteger(as: UInt64.self),
            let checksum = bytes.readInteger(as: UInt32.self),
            checksum == withUnsafeBytes(of: number.bigEndian, { CRC32C.checksum($0) })
        else {
            throw .damagedFile(path: path, meaning: self.meaning)
        }
        return number
    }

    /// Saves `number` durably.
    func save(_ number: UInt64, in directory: DataDirectory) throws(ReplicaError) {
        var bytes = ByteBufferAllocator().buffer(capacity: 12)
        bytes.writeInteger(number)
        bytes.writeInteger(withUnsafeBytes(of: number.bigEndian) { CRC32C.checksum($0) })
        try PosixFile.writeAtomically(bytes, to: self.path(in: directory), in: directory)
    }
}
