import NIOCore
import Wire

/// The building blocks of the tracker's binary encodings (ops and snapshots), all big-endian:
/// - a string is a `UInt32` byte count and that many bytes of UTF-8;
/// - a byte string is a `UInt32` byte count and the bytes;
/// - a list is a `UInt32` element count and the elements.
///
/// Readers never trust a count beyond the bytes that remain, and throw ``TrackerCodecError`` rather than trap; after
/// an error the reader index is left anywhere, as the whole op or snapshot is rejected. Writers take lengths that fit
/// in a `UInt32`: every field the tracker accepts is bounded far below 4 GiB by its rules or by the frame limit.
extension ByteBuffer {
    // MARK: Writing

    mutating func writeTrackerString(_ string: String) {
        self.writeInteger(UInt32(string.utf8.count))
        self.writeString(string)
    }

    mutating func writeTrackerBytes(_ bytes: [UInt8]) {
        self.writeInteger(UInt32(bytes.count))
        self.writeBytes(bytes)
    }

    mutating func writeTrackerCount(_ count: Int) {
        self.writeInteger(UInt32(count))
    }

    mutating func writePasswordHash(_ password: PasswordHash) {
        self.writeTrackerBytes(password.salt)
        self.writeTrackerBytes(password.hash)
        self.writeInteger(password.iterations)
    }

    mutating func writePieceHashes(_ pieceHashes: PieceHashes) {
        self.writeTrackerBytes(pieceHashes.bytes)
    }

    mutating func writeSeeder(_ seeder: Seeder) {
        self.writeTrackerString(seeder.user)
        self.writeTrackerString(seeder.host)
        self.writeInteger(seeder.port)
    }

    // MARK: Reading

    /// The encoded size of an empty string or byte string, the least a string can take.
    static let minimumStringSize = 4
    /// The least a password hash takes: two empty byte strings and the iteration count.
    static let minimumPasswordHashSize = 12
    /// The least a seeder takes: two empty strings and the port.
    static let minimumSeederSize = 10

    mutating func readTrackerInteger<Integer: FixedWidthInteger>(
        as type: Integer.Type = Integer.self
    ) throws(TrackerCodecError) -> Integer {
        guard let value = self.readInteger(as: Integer.self) else { throw .truncated }
        return value
    }

    /// Reads a count of elements that each take at least `minimumElementSize` bytes, refusing any count that the
    /// remaining bytes cannot hold (so that a forged count cannot make the reader reserve or loop for nothing).
    mutating func readTrackerCount(minimumElementSize: Int) throws(TrackerCodecError) -> Int {
        let raw = try self.readTrackerInteger(as: UInt32.self)
        guard let count = Int(exactly: raw), count <= self.readableBytes / max(minimumElementSize, 1) else {
            throw .truncated
        }
        return count
    }

    mutating func readTrackerString() throws(TrackerCodecError) -> String {
        let length = try self.readTrackerCount(minimumElementSize: 1)
        guard self.readableBytes >= length else { throw .truncated }
        // Straight from the buffer's bytes: a slice per string would cost a retain and a copy of its header
        // (a snapshot of a million groups reads two million strings). ASCII, the common case, needs no
        // validation; anything else goes through the standard library's.
        let string = self.withUnsafeReadableBytes { raw in
            raw.withMemoryRebound(to: UInt8.self) { all -> String? in
                let bytes = UnsafeBufferPointer(rebasing: all[..<length])
                if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
                return String(validating: bytes, as: UTF8.self)
            }
        }
        guard let string else { throw .invalidUTF8 }
        self.moveReaderIndex(forwardBy: length)
        return string
    }

    mutating func readTrackerBytes() throws(TrackerCodecError) -> [UInt8] {
        let length = try self.readTrackerCount(minimumElementSize: 1)
        guard let bytes = self.readBytes(length: length) else { throw .truncated }
        return bytes
    }

    mutating func readPasswordHash() throws(TrackerCodecError) -> PasswordHash {
        let salt = try self.readTrackerBytes()
        let hash = try self.readTrackerBytes()
        let iterations = try self.readTrackerInteger(as: UInt32.self)
        return PasswordHash(salt: salt, hash: hash, iterations: iterations)
    }

    mutating func readPieceHashes() throws(TrackerCodecError) -> PieceHashes {
        let bytes = try self.readTrackerBytes()
        guard let pieceHashes = PieceHashes(bytes: bytes) else { throw .invalidPieceHashes(byteCount: bytes.count) }
        return pieceHashes
    }

    mutating func readSeeder() throws(TrackerCodecError) -> Seeder {
        let user = try self.readTrackerString()
        let host = try self.readTrackerString()
        let port = try self.readTrackerInteger(as: UInt16.self)
        return Seeder(user: user, host: host, port: port)
    }
}
