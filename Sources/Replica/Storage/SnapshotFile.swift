import ReplicaCore
import NIOCore

/// A state machine's whole state at one point of the log, as stored in `snapshot-<seq>.snap`.
///
/// On disk: `"TSNP" | u8 version | u64 epoch | u64 seq | u64 payload length | payload | u32 CRC-32C of payload`.
public struct SnapshotFile: Sendable {
    static let magic: [UInt8] = Array("TSNP".utf8)
    static let version: UInt8 = 1
    static let headerLength = 4 + 1 + 8 + 8 + 8

    /// The epoch of the last op the snapshot includes.
    public var epoch: UInt64
    /// The last op the snapshot includes.
    public var seq: UInt64
    /// The state machine's encoding of its state.
    public var payload: ByteBuffer

    /// A snapshot of the state encoded in `payload`, taken after op `seq` of `epoch`.
    public init(epoch: UInt64, seq: UInt64, payload: ByteBuffer) {
        self.epoch = epoch
        self.seq = seq
        self.payload = payload
    }

    /// The file's bytes.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: Self.headerLength + self.payload.readableBytes + 4)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(Self.version)
        buffer.writeInteger(self.epoch)
        buffer.writeInteger(self.seq)
        buffer.writeInteger(UInt64(self.payload.readableBytes))
        buffer.writeImmutableBuffer(self.payload)
        buffer.writeInteger(self.payload.withUnsafeReadableBytes { CRC32C.checksum($0) })
        return buffer
    }

    /// The position a snapshot file holds the state at, read from its header alone.
    public static func position(ofFileAt path: String) throws(ReplicaError) -> LogPosition {
        var header = try PosixFile.readRange(path, from: 0, length: Self.headerLength)
        guard header.readBytes(length: 4) == Self.magic, header.readInteger(as: UInt8.self) == Self.version,
            let epoch = header.readInteger(as: UInt64.self), let seq = header.readInteger(as: UInt64.self)
        else {
            throw .corruptSnapshot(path: path, detail: "not a Tandem snapshot (bad header)")
        }
        return LogPosition(epoch: epoch, seq: seq)
    }

    /// Parses a snapshot file's bytes; `path` names it in errors.
    public static func decode(_ bytes: ByteBuffer, path: String) throws(ReplicaError) -> SnapshotFile {
        var buffer = bytes
        guard buffer.readBytes(length: 4) == Self.magic else {
            throw .corruptSnapshot(path: path, detail: "not a Tandem snapshot (bad magic)")
        }
        guard let version = buffer.readInteger(as: UInt8.self), version == Self.version else {
            throw .corruptSnapshot(path: path, detail: "unknown snapshot version")
        }
        guard let epoch = buffer.readInteger(as: UInt64.self), let seq = buffer.readInteger(as: UInt64.self),
            let length = buffer.readInteger(as: UInt64.self), length <= UInt64(buffer.readableBytes),
            let payload = buffer.readSlice(length: Int(length)), let checksum = buffer.readInteger(as: UInt32.self),
            buffer.readableBytes == 0
        else {
            throw .corruptSnapshot(path: path, detail: "truncated")
        }
        guard payload.withUnsafeReadableBytes({ CRC32C.checksum($0) }) == checksum else {
            throw .corruptSnapshot(path: path, detail: "checksum mismatch")
        }
        return SnapshotFile(epoch: epoch, seq: seq, payload: payload)
    }
}
