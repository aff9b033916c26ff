import Foundation
import NIOCore
import Replica
import ReplicaCore
import Testing

/// Following a log as it grows, across segments and trims.
@Suite struct LogTailTests {
    static let ops = KeyValueMachine.Op.randomSequence(count: 8, seed: 5)

    static func bytes(_ seqs: ClosedRange<UInt64>) -> [UInt8] {
        var buffer = ByteBuffer()
        for seq in seqs { buffer.writeLogRecord(LogRecord(seq: seq, op: Self.ops[Int(seq) - 1])) }
        return Array(buffer.readableBytesView)
    }

    @Test func newRecordsAreReturnedOnceAcrossSegmentsAndTrims() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            var tail = LogTail(directory: directory, segment: nil, offset: 0)
            #expect(try tail.poll().isEmpty, "no segment yet")

            let first = directory.segmentPath(firstSeq: 1)
            try DiskFile.write(Self.bytes(1...3), to: first)
            #expect(try tail.poll().map(\.seq) == [1, 2, 3])
            #expect(try tail.poll().isEmpty)

            let fourth = Self.bytes(4...4)
            try DiskFile.append(Array(fourth.prefix(10)), to: first)
            #expect(try tail.poll().isEmpty, "a record being written waits")
            try DiskFile.append(Array(fourth.dropFirst(10)), to: first)
            #expect(try tail.poll().map(\.seq) == [4])

            try DiskFile.write(Self.bytes(5...6), to: directory.segmentPath(firstSeq: 5))
            #expect(try tail.poll().map(\.seq) == [5, 6], "the tracker moved on to a new segment")
            try FileManager.default.removeItem(atPath: first)
            try DiskFile.append(Self.bytes(7...8), to: directory.segmentPath(firstSeq: 5))
            #expect(try tail.poll().map(\.seq) == [7, 8], "the old segment was trimmed behind a snapshot")
        }
    }
}
