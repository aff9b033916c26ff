import NIOCore
import Replica
import ReplicaCore
import Testing

@Suite struct SnapshotFileTests {
    static let path = "/data/t1/snapshot-00000000000000000042.snap"

    static var snapshot: SnapshotFile {
        let machine = KeyValueMachine(entries: ["alice": "1", "bob": "", "carol": "ünïcødé"])
        var payload = ByteBuffer()
        machine.encodeSnapshot(into: &payload)
        return SnapshotFile(epoch: 3, seq: 42, payload: payload)
    }

    static var bytes: [UInt8] { Array(Self.snapshot.encoded().readableBytesView) }

    static func decode(_ bytes: [UInt8]) throws(ReplicaError) -> SnapshotFile {
        try SnapshotFile.decode(ByteBuffer(bytes: bytes), path: Self.path)
    }

    static func corrupt(_ detail: String) -> ReplicaError { .corruptSnapshot(path: Self.path, detail: detail) }

    @Test func roundTrips() throws {
        let decoded = try Self.decode(Self.bytes)
        #expect(decoded.epoch == 3)
        #expect(decoded.seq == 42)
        #expect(decoded.payload == Self.snapshot.payload)
        var payload = decoded.payload
        #expect(try KeyValueMachine.decodeSnapshot(from: &payload).entries["carol"] == "ünïcødé")
    }

    @Test func emptyPayloadRoundTrips() throws {
        let bytes = SnapshotFile(epoch: 1, seq: 0, payload: ByteBuffer()).encoded()
        #expect(bytes.readableBytes == 4 + 1 + 8 + 8 + 8 + 4)
        let decoded = try SnapshotFile.decode(bytes, path: Self.path)
        #expect(decoded.seq == 0)
        #expect(decoded.payload.readableBytes == 0)
    }

    @Test func writesTheDocumentedLayout() {
        let bytes = Self.bytes
        let payloadLength = Self.snapshot.payload.readableBytes
        #expect(bytes.count == 29 + payloadLength + 4)
        #expect(bytes[0..<4] == Array("TSNP".utf8)[...])
        #expect(bytes[4] == 1)
        #expect(bytes[5..<13] == [0, 0, 0, 0, 0, 0, 0, 3])
        #expect(bytes[13..<21] == [0, 0, 0, 0, 0, 0, 0, 42])
        #expect(bytes[21..<29].reduce(0) { $0 << 8 | Int($1) } == payloadLength)
        let checksum = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(checksum == CRC32C.checksum(Array(bytes[29..<(29 + payloadLength)])))
    }

    @Test(arguments: 0..<4)
    func badMagicIsRefused(offset: Int) {
        var bytes = Self.bytes
        bytes[offset] ^= 0x20
        #expect(throws: Self.corrupt("not a Tandem snapshot (bad magic)")) { try Self.decode(bytes) }
    }

    @Test(arguments: [0, 2, 0xFF] as [UInt8])
    func unknownVersionIsRefused(version: UInt8) {
        var bytes = Self.bytes
        bytes[4] = version
        #expect(throws: Self.corrupt("unknown snapshot version")) { try Self.decode(bytes) }
    }

    @Test func everyTruncationIsRefused() {
        let bytes = Self.bytes
        for length in 0..<bytes.count {
            let expected: ReplicaError =
                switch length {
                case 0..<4: Self.corrupt("not a Tandem snapshot (bad magic)")
                case 4: Self.corrupt("unknown snapshot version")
                default: Self.corrupt("truncated")
                }
            #expect(throws: expected, "cut at \(length)") { try Self.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test func trailingBytesAreRefused() {
        #expect(throws: Self.corrupt("truncated")) { try Self.decode(Self.bytes + [0]) }
    }

    @Test func lengthPastTheEndIsRefused() {
        var bytes = Self.bytes
        bytes[21] = 0xFF
        #expect(throws: Self.corrupt("truncated")) { try Self.decode(bytes) }
    }

    /// Any flipped bit in the state or in the checksum itself fails the checksum.
    @Test func flippedPayloadOrChecksumByteIsRefused() {
        let bytes = Self.bytes
        for offset in 29..<bytes.count {
            var damaged = bytes
            damaged[offset] ^= 0x04
            #expect(throws: Self.corrupt("checksum mismatch"), "flip at \(offset)") { try Self.decode(damaged) }
        }
    }
}
