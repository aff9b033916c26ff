import NIOCore

/// The highest epoch a tracker has seen, in `data_dir/epoch`: `u64 epoch | u32 CRC-32C of those 8 bytes`.
///
/// Written (atomically, fsynced) before the tracker acts in a new epoch, so that after a restart it never takes,
/// or votes in, an epoch twice.
enum EpochFile {
    static func path(in directory: DataDirectory) -> String { directory.path + "/epoch" }

    /// The saved epoch; 0 when none was saved.
    static func read(from directory: DataDirectory) throws(ReplicaError) -> UInt64 {
        let path = Self.path(in: directory)
        var bytes: ByteBuffer
        do {
            bytes = try PosixFile.readAll(path)
        } catch  where error.isMissingFile {
            return 0
        }
        guard bytes.readableBytes == 12, let epoch = bytes.readInteger(as: UInt64.self),
            let checksum = bytes.readInteger(as: UInt32.self),
            checksum == withUnsafeBytes(of: epoch.bigEndian, { CRC32C.checksum($0) })
        else {
            throw .corruptSnapshot(path: path, detail: "the saved epoch is damaged")
        }
        return epoch
    }

    /// Saves `epoch` durably.
    static func save(_ epoch: UInt64, in directory: DataDirectory) throws(ReplicaError) {
        var bytes = ByteBufferAllocator().buffer(capacity: 12)
        bytes.writeInteger(epoch)
        bytes.writeInteger(withUnsafeBytes(of: epoch.bigEndian) { CRC32C.checksum($0) })
        try PosixFile.writeAtomically(bytes, to: Self.path(in: directory), in: directory)
    }
}
