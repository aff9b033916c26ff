import Replica
import ReplicaCore
import TandemTestKit
import Testing

@Suite struct CRC32CTests {
    /// The textbook bit-at-a-time CRC-32C, the reference the table-driven one must match.
    static func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    @Test func checkValueOfTheStandardString() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C().value == 0)
    }

    @Test func singleByte() {
        #expect(CRC32C.checksum(Array("a".utf8)) == 0xC1D0_4330)
        #expect(CRC32C.checksum([0x00]) == Self.bitwise([0x00]))
        #expect(CRC32C.checksum([0xFF]) == Self.bitwise([0xFF]))
    }

    /// The iSCSI vectors of RFC 3720, appendix B.4.
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0x00, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    /// Lengths around and past the eight-byte step, from unaligned starts, against the bitwise reference.
    @Test(arguments: 1...40)
    func matchesBitwiseReference(length: Int) {
        var generator = SeededGenerator(seed: UInt64(length))
        let bytes = (0..<(length + 7)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<8 {
            let slice = Array(bytes[start..<(start + length)])
            let table = bytes.withUnsafeBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
            }
            #expect(CRC32C.checksum(slice) == Self.bitwise(slice), "length \(length)")
            #expect(table == Self.bitwise(slice), "length \(length), start \(start)")
        }
    }

    @Test(arguments: [0, 1, 7, 8, 9, 23, 40])
    func feedingInPiecesEqualsFeedingAtOnce(split: Int) {
        let bytes = (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        var crc = CRC32C()
        bytes[..<split].withUnsafeBytes { crc.update($0) }
        bytes[split...].withUnsafeBytes { crc.update($0) }
        #expect(crc.value == CRC32C.checksum(bytes))
    }
}
