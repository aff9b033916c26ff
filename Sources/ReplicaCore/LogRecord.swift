import NIOCore

/// One entry of the op log: an op's bytes with the epoch and sequence number the primary gave it.
///
/// On disk a record is `u32 payload length | u32 CRC-32C | u64 epoch | u64 seq | payload`, big-endian,
/// where the checksum covers epoch, seq and payload. See docs/STORAGE.md.
public struct LogRecord: Hashable, Sendable {
    /// The bytes before the payload.
    public static let headerLength = 24
    /// The largest payload a record may carry; a longer length field is damage, not data.
    public static let maxPayloadLength = 1 << 30

    /// The primary's term when it assigned `seq`.
    public var epoch: UInt64
    /// The op's position in the log, from 1, without gaps.
    public var seq: UInt64
    /// The state machine's encoding of the op.
    public var payload: ByteBuffer

    /// A record of the op encoded in `payload`, at `seq` in `epoch`.
    public init(epoch: UInt64, seq: UInt64, payload: ByteBuffer) {
        self.epoch = epoch
        self.seq = seq
        self.payload = payload
    }

    /// The number of bytes the record takes on disk.
    public var encodedLength: Int { Self.headerLength + self.payload.readableBytes }

    /// The checksum of epoch, seq and payload.
    var checksum: UInt32 {
        var crc = CRC32C()
        var header = [UInt8](repeating: 0, count: 16)
        for shift in 0..<8 {
            header[shift] = UInt8(truncatingIfNeeded: self.epoch >> (56 - 8 * shift))
            header[8 + shift] = UInt8(truncatingIfNeeded: self.seq >> (56 - 8 * shift))
        }
        header.withUnsafeBytes { crc.update($0) }
        self.payload.withUnsafeReadableBytes { crc.update($0) }
        return crc.value
    }
}

extension ByteBuffer {
    /// Appends `record` in its on-disk form.
    @discardableResult
    public mutating func writeLogRecord(_ record: LogRecord) -> Int {
        var written = self.writeInteger(UInt32(record.payload.readableBytes))
        written += self.writeInteger(record.checksum)
        written += self.writeInteger(record.epoch)
        written += self.writeInteger(record.seq)
        written += self.writeImmutableBuffer(record.payload)
        return written
    }
}

/// The result of reading a WAL segment's bytes front to back.
public struct LogScan: Sendable {
    /// How the bytes ended.
    public enum Ending: Hashable, Sendable {
        /// Every byte belongs to a whole, valid record.
        case clean
        /// The last record is cut short or fails its checksum and reaches the end of the bytes: a write
        /// torn by a crash. Everything from `offset` on is to be cut.
        case tornTail(offset: Int)
        /// A record fails its checksum or framing with more bytes after it: damage, never skipped.
        case corrupt(offset: Int, detail: String)
    }

    /// The valid records, in order.
    public var records: [LogRecord]
    /// The number of bytes the valid records take.
    public var validLength: Int
    /// How the bytes ended.
    public var ending: Ending

    /// Reads the records in `bytes`. Pure: the caller decides what to do with a torn tail or damage.
    public static func scan(_ bytes: ByteBuffer) -> LogScan {
        var buffer = bytes
        var records: [LogRecord] = []
        var offset = 0
        while buffer.readableBytes > 0 {
            guard buffer.readableBytes >= LogRecord.headerLength,
                let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
                let checksum = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self),
                let epoch = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt64.self),
                let seq = buffer.getInteger(at: buffer.readerIndex + 16, as: UInt64.self)
            else {
                return LogScan(records: records, validLength: offset, ending: .tornTail(offset: offset))
            }
            let total = LogRecord.headerLength + Int(length)
            guard Int(length) <= LogRecord.maxPayloadLength else {
                return LogScan(
                    records: records, validLength: offset,
                    ending: Self.damage(
                        at: offset, in: buffer, reachesEnd: false, detail: "length \(length) is implausible"))
            }
            guard total <= buffer.readableBytes,
                let payload = buffer.getSlice(at: buffer.readerIndex + LogRecord.headerLength, length: Int(length))
            else {
                // A torn write's record runs past the end, but so does one whose length field is damaged; only
                // the second can have whole records after it, and cutting those would destroy acknowledged ops.
                let ending: Ending =
                    Self.wholeRecordFollows(in: buffer)
                    ? .corrupt(offset: offset, detail: "length \(length) runs past the end but whole records follow")
                    : .tornTail(offset: offset)
                return LogScan(records: records, validLength: offset, ending: ending)
            }
            let record = LogRecord(epoch: epoch, seq: seq, payload: payload)
            guard record.checksum == checksum else {
                let reachesEnd = total == buffer.readableBytes
                return LogScan(
                    records: records, validLength: offset,
                    ending: Self.damage(at: offset, in: buffer, reachesEnd: reachesEnd, detail: "checksum mismatch"))
            }
            records.append(record)
            buffer.moveReaderIndex(forwardBy: total)
            offset += total
        }
        return LogScan(records: records, validLength: offset, ending: .clean)
    }

    /// Whether a record with a valid checksum lies wholly inside `rest` after its first header.
    ///
    /// Only called once, where a scan stops, so looking at every offset is affordable.
    private static func wholeRecordFollows(in rest: ByteBuffer) -> Bool {
        var start = rest.readerIndex + LogRecord.headerLength
        while rest.writerIndex - start >= LogRecord.headerLength {
            defer { start += 1 }
            guard let length = rest.getInteger(at: start, as: UInt32.self),
                Int(length) <= rest.writerIndex - start - LogRecord.headerLength,
                let checksum = rest.getInteger(at: start + 4, as: UInt32.self),
                let epoch = rest.getInteger(at: start + 8, as: UInt64.self),
                let seq = rest.getInteger(at: start + 16, as: UInt64.self),
                let payload = rest.getSlice(at: start + LogRecord.headerLength, length: Int(length))
            else { continue }
            if LogRecord(epoch: epoch, seq: seq, payload: payload).checksum == checksum { return true }
        }
        return false
    }

    /// A crash tears only the last write: what remains is a prefix of it, perhaps followed by zeros that the
    /// file system allocated but never filled. Anything else is damage.
    private static func damage(at offset: Int, in rest: ByteBuffer, reachesEnd: Bool, detail: String) -> Ending {
        let onlyZerosFollow = rest.withUnsafeReadableBytes { bytes in
            bytes.dropFirst(LogRecord.headerLength).allSatisfy { $0 == 0 }
        }
        return reachesEnd || onlyZerosFollow ? .tornTail(offset: offset) : .corrupt(offset: offset, detail: detail)
    }
}
