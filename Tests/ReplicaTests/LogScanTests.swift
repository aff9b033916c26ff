import NIOCore
import Replica
import ReplicaCore
import Testing

@Suite struct LogScanTests {
    /// Three records with an empty, a short and a long payload.
    static let records = [
        LogRecord(epoch: 1, seq: 1, payload: ByteBuffer()),
        LogRecord(seq: 2, op: .set(key: "k", value: "v")),
        LogRecord(epoch: 2, seq: 3, payload: ByteBuffer(bytes: (0..<300).map { UInt8(truncatingIfNeeded: $0) })),
    ]

    static var bytes: [UInt8] {
        var buffer = ByteBuffer()
        for record in Self.records { buffer.writeLogRecord(record) }
        return Array(buffer.readableBytesView)
    }

    /// Where each record starts, and the end of the last one.
    static var boundaries: [Int] {
        Self.records.reduce(into: [0]) { $0.append($0.last! + $1.encodedLength) }
    }

    static func scan(_ bytes: [UInt8]) -> LogScan { LogScan.scan(ByteBuffer(bytes: bytes)) }

    @Test func recordsRoundTrip() {
        let scan = Self.scan(Self.bytes)
        #expect(scan.records == Self.records)
        #expect(scan.validLength == Self.bytes.count)
        #expect(scan.ending == .clean)
        #expect(Self.boundaries.last == Self.bytes.count)
    }

    @Test func emptyLogIsClean() {
        let scan = Self.scan([])
        #expect(scan.records.isEmpty)
        #expect(scan.ending == .clean)
    }

    @Test func writesTheDocumentedLayout() {
        var buffer = ByteBuffer()
        let record = LogRecord(epoch: 0x0102_0304_0506_0708, seq: 9, payload: ByteBuffer(bytes: [0xAA, 0xBB]))
        #expect(buffer.writeLogRecord(record) == 26)
        let bytes = Array(buffer.readableBytesView)
        #expect(bytes[0..<4] == [0, 0, 0, 2])
        #expect(bytes[8..<16] == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(bytes[16..<24] == [0, 0, 0, 0, 0, 0, 0, 9])
        #expect(bytes[24...] == [0xAA, 0xBB])
        let checksum = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(checksum == CRC32C.checksum(Array(bytes[8...])))
    }

    /// A crash can stop a write at any byte: the cut record is a torn tail, the ones before it stay.
    @Test func everyTruncationIsATornTailAtTheCutRecord() {
        let boundaries = Self.boundaries
        for length in 0..<Self.bytes.count {
            let scan = Self.scan(Array(Self.bytes.prefix(length)))
            let whole = boundaries.lastIndex { $0 <= length }!
            #expect(scan.records == Array(Self.records.prefix(whole)), "cut at \(length)")
            #expect(scan.validLength == boundaries[whole], "cut at \(length)")
            if boundaries[whole] == length {
                #expect(scan.ending == .clean, "cut at \(length)")
            } else {
                #expect(scan.ending == .tornTail(offset: boundaries[whole]), "cut at \(length)")
            }
        }
    }

    /// Damage with whole records after it is never a crash: the scan stops there and says so.
    @Test func flippedByteInTheMiddleRecordIsCorrupt() {
        let boundaries = Self.boundaries
        // From the checksum on; a damaged length field is covered by `implausibleLengthInTheMiddleIsCorrupt`.
        for offset in (boundaries[1] + 4)..<boundaries[2] {
            var bytes = Self.bytes
            bytes[offset] ^= 0x01
            let scan = Self.scan(bytes)
            #expect(scan.records == [Self.records[0]], "flip at \(offset)")
            #expect(scan.validLength == boundaries[1], "flip at \(offset)")
            #expect(scan.ending == .corrupt(offset: boundaries[1], detail: "checksum mismatch"), "flip at \(offset)")
        }
    }

    /// The last record failing its checksum is what a torn write that reached the end of the file looks like.
    @Test func flippedByteInTheLastRecordIsATornTail() {
        let boundaries = Self.boundaries
        for offset in (boundaries[2] + 4)..<boundaries[3] {
            var bytes = Self.bytes
            bytes[offset] ^= 0x80
            let scan = Self.scan(bytes)
            #expect(scan.records == Array(Self.records.prefix(2)), "flip at \(offset)")
            #expect(scan.ending == .tornTail(offset: boundaries[2]), "flip at \(offset)")
        }
    }

    /// A file system may extend a file with zeros that a crash never filled in.
    @Test(arguments: [1, 23, 24, 25, 4096])
    func zeroFilledTailIsATornTail(zeros: Int) {
        let scan = Self.scan(Self.bytes + [UInt8](repeating: 0, count: zeros))
        #expect(scan.records == Self.records)
        #expect(scan.validLength == Self.bytes.count)
        #expect(scan.ending == .tornTail(offset: Self.bytes.count))
    }

    @Test func implausibleLengthInTheMiddleIsCorrupt() {
        let boundaries = Self.boundaries
        var bytes = Self.bytes
        bytes.replaceSubrange(boundaries[1]..<(boundaries[1] + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        let scan = Self.scan(bytes)
        #expect(scan.records == [Self.records[0]])
        #expect(scan.ending == .corrupt(offset: boundaries[1], detail: "length 4294967295 is implausible"))
    }

    @Test func implausibleLengthFollowedOnlyByZerosIsATornTail() {
        var bytes = Self.bytes + [UInt8](repeating: 0, count: 64)
        bytes.replaceSubrange(Self.bytes.count..<(Self.bytes.count + 4), with: [0x80, 0, 0, 0])
        let scan = Self.scan(bytes)
        #expect(scan.records == Self.records)
        #expect(scan.ending == .tornTail(offset: Self.bytes.count))
    }
}

extension LogScanTests {
    /// A damaged length can point anywhere, even past the end of the bytes, like a torn write's would; but a torn
    /// write is the last one, so whole records after it prove damage. Cutting there would destroy them.
    @Test(arguments: 0..<32)
    func damagedLengthInTheMiddleIsCorrupt(bit: Int) {
        let boundaries = Self.boundaries
        var bytes = Self.bytes
        bytes[boundaries[1] + bit / 8] ^= 0x80 >> UInt8(bit % 8)
        let scan = Self.scan(bytes)
        #expect(scan.records == [Self.records[0]])
        guard case .corrupt(let offset, _) = scan.ending else {
            Issue.record("flipping bit \(bit) of the length gave \(scan.ending)")
            return
        }
        #expect(offset == boundaries[1])
    }
}
