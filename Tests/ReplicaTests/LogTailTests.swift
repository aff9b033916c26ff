import Foundation
import NIOCore
import Replica
import ReplicaCore
import Testing
import Wire

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

    /// `READ_LOG` pages: read in pages of a few ops, then followed from the cursor of the last, the log comes out
    /// whole, each op once, in order.
    @Test func pagesOfTheLogCoverItOnceAndTheCursorFollowsOn() async throws {
        try await withTemporaryDataDirectory { directory in
            try directory.create()
            try DiskFile.write(Self.bytes(1...3), to: directory.segmentPath(firstSeq: 1))
            try DiskFile.write(Self.bytes(4...6), to: directory.segmentPath(firstSeq: 4))
            var seqs: [UInt64] = []
            var from: UInt64 = 1
            var page: LogPage
            repeat {
                page = try LogListing.read(directory, from: from).page(
                    from: from, limit: 2, maxBytes: .max, in: directory)
                let ops = page.items.compactMap { item -> UInt64? in
                    if case .op(let seq, _, _) = item { seq } else { nil }
                }
                seqs += ops
                from = (ops.last ?? from) + 1
            } while page.more
            #expect(seqs == [1, 2, 3, 4, 5, 6])
            for (from, read) in [(1, [1, 4]), (3, [1, 4]), (4, [4]), (9, [4])] as [(UInt64, [UInt64])] {
                let segments = try LogListing.read(directory, from: from).segments.map(\.firstSeq)
                #expect(segments == read, "a listing from \(from) reads only the segments that hold it")
            }
            #expect(page.cursor == LogCursor(segment: 4, offset: UInt64(Self.bytes(4...6).count)))

            let oneByteBudget = try LogListing.read(directory).page(from: 1, limit: 10, maxBytes: 1, in: directory)
            #expect(oneByteBudget.items.count == 1 && oneByteBudget.more, "past the byte budget, one op")
            // A page that stops early ends where the next op starts, across segments too.
            for (limit, next) in [(2, 3), (3, 4), (4, 5)] {
                let early = try LogListing.read(directory).page(from: 1, limit: limit, maxBytes: .max, in: directory)
                var after = try #require(LogTail(directory: directory, cursor: early.cursor))
                #expect(try after.page(limit: 1, maxBytes: .max).items == [Self.item(UInt64(next))], "limit \(limit)")
            }
            #expect(LogTail(directory: directory, cursor: LogCursor(segment: 1, offset: .max)) == nil)

            try DiskFile.append(Self.bytes(7...8), to: directory.segmentPath(firstSeq: 4))
            var tail = try #require(LogTail(directory: directory, cursor: page.cursor))
            let first = try tail.page(limit: 1, maxBytes: .max)
            let second = try tail.page(limit: 5, maxBytes: .max)
            #expect(first.items == [Self.item(7)] && first.more)
            #expect(second.items == [Self.item(8)] && !second.more, "nothing follows: not more")
            var resumed = try #require(LogTail(directory: directory, cursor: first.cursor))
            #expect(try resumed.page(limit: 5, maxBytes: .max).items == [Self.item(8)], "a cursor resumes exactly")
        }
    }

    static func item(_ seq: UInt64) -> LogPage.Item {
        let record = LogScan.scan(ByteBuffer(bytes: Self.bytes(seq...seq))).records[0]
        return .op(seq: seq, epoch: record.epoch, payload: Array(record.payload.readableBytesView))
    }
}
