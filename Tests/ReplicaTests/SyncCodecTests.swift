import NIOCore
import Replica
import ReplicaCore
import TandemTestKit
import Testing
import Wire

/// Sync frames: every message round-trips, and no damaged or hostile frame decodes or crashes.
@Suite struct SyncCodecTests {
    static let hello = Hello(epoch: 7, role: .backup, position: LogPosition(epoch: 6, seq: 41), epochStart: 30)
    static let records = (42...44).map { LogRecord(epoch: 7, seq: $0, payload: ByteBuffer(string: "op \($0)")) }

    static let samples: [SyncMessage] = [
        .hello(Self.hello),
        .hello(Hello(epoch: 0, role: .waiting, position: .start, epochStart: 0)),
        .requestVote(candidate: Self.hello),
        .vote(granted: true, voter: Self.hello),
        .vote(granted: false, voter: Self.hello),
        .append(
            Append(
                epoch: 7, previous: LogPosition(epoch: 6, seq: 41), records: Self.records, commitSeq: 40,
                backupInSync: true, ackEcho: 12)),
        .append(Append(epoch: 7, previous: .start, records: [], commitSeq: 0, backupInSync: false, ackEcho: 0)),
        .ack(epoch: 7, position: LogPosition(epoch: 7, seq: 44), epochStart: 42, number: 99),
        .mismatch(epoch: 7, position: LogPosition(epoch: 5, seq: 50), epochStart: 45),
        .truncate(epoch: 7, afterSeq: 41),
        .snapshotFollows(epoch: 7, position: LogPosition(epoch: 6, seq: 1_000_000)),
        .takeOver(epoch: 7, through: LogPosition(epoch: 7, seq: 44)),
    ]

    static func frame(_ message: SyncMessage) throws -> Frame {
        var buffer = ByteBuffer()
        buffer.writeSyncFrame(message)
        return try #require(try buffer.readFrame(maxFrame: 1 << 20))
    }

    @Test(arguments: Self.samples.indices)
    func roundTrips(index: Int) throws {
        let message = Self.samples[index]
        #expect(try SyncMessage(frame: Self.frame(message)) == message)
    }

    @Test func everyKindIsCovered() {
        #expect(Set(Self.samples.map(\.kind)) == Set(SyncKind.allCases))
    }

    /// Messages, the FULLSYNC stream, forwarded writes and the handshake share one connection: no two frame
    /// kinds may be the same byte (a switchover's take-over once was a forwarded request's).
    @Test func theFrameKindsOfTheSyncPortAreDistinct() {
        let kinds =
            SyncKind.allCases.map(\.rawValue) + SyncStreamKind.allCases.map(\.rawValue)
            + ForwardFrame.Kind.allCases.map(\.rawValue) + SyncAuthKind.allCases.map(\.rawValue)
        #expect(Set(kinds).count == kinds.count, "\(kinds.sorted())")
    }

    @Test(arguments: Self.samples.indices)
    func everyShortenedPayloadIsRefused(index: Int) throws {
        let frame = try Self.frame(Self.samples[index])
        for length in 0..<frame.payload.readableBytes {
            let cut = Frame(
                kind: frame.kind, payload: frame.payload.getSlice(at: frame.payload.readerIndex, length: length)!)
            #expect(throws: SyncCodecError.self) { try SyncMessage(frame: cut) }
        }
    }

    @Test func extraBytesUnknownKindsAndBadFlagsAreRefused() throws {
        var long = try Self.frame(.truncate(epoch: 1, afterSeq: 2))
        long.payload.writeInteger(UInt8(0))
        #expect(throws: SyncCodecError.self) { try SyncMessage(frame: long) }
        #expect(throws: SyncCodecError.self) { try SyncMessage(frame: Frame(kind: 0x4F, payload: ByteBuffer())) }
        var vote = try Self.frame(.vote(granted: true, voter: Self.hello))
        vote.payload.setInteger(UInt8(2), at: vote.payload.readerIndex)
        #expect(throws: SyncCodecError.self) { try SyncMessage(frame: vote) }
    }

    @Test func recordsThatDoNotFollowThePreviousEntryAreRefused() throws {
        let gap = [Self.records[0], Self.records[2]]
        let message = SyncMessage.append(
            Append(
                epoch: 7, previous: LogPosition(epoch: 6, seq: 41), records: gap, commitSeq: 0, backupInSync: false,
                ackEcho: 0))
        #expect(throws: SyncCodecError.self) { try SyncMessage(frame: Self.frame(message)) }

        var frame = try Self.frame(Self.samples[5])
        let last = frame.payload.writerIndex - 1
        frame.payload.setInteger(frame.payload.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
        #expect(throws: SyncCodecError.self, "a record whose checksum fails") { try SyncMessage(frame: frame) }
    }

    @Test func randomPayloadsNeverCrashTheDecoder() {
        var generator = SeededGenerator(seed: 0x5C)
        for _ in 0..<20_000 {
            let kind = UInt8.random(in: 0x40...0x47, using: &generator)
            let bytes = (0..<Int.random(in: 0..<96, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? SyncMessage(frame: Frame(kind: kind, payload: ByteBuffer(bytes: bytes)))
        }
    }

    @Test func countersNearTheirLimitAreRefused() throws {
        let huge = SyncMessage.maxCounter
        let messages: [SyncMessage] = [
            .hello(Hello(epoch: huge, role: .backup, position: .start, epochStart: 0)),
            .ack(epoch: 1, position: LogPosition(epoch: 1, seq: UInt64.max), epochStart: 0, number: 1),
            .truncate(epoch: 1, afterSeq: huge),
            .append(
                Append(
                    epoch: 1, previous: LogPosition(epoch: 1, seq: huge), records: [], commitSeq: 0,
                    backupInSync: false, ackEcho: 0)),
        ]
        for message in messages {
            #expect(throws: SyncCodecError.self, "\(message)") { try SyncMessage(frame: Self.frame(message)) }
        }
        let record = LogRecord(epoch: 1, seq: 0, payload: ByteBuffer(string: "x"))
        let wrapping = SyncMessage.append(
            Append(
                epoch: 1, previous: LogPosition(epoch: 1, seq: UInt64.max), records: [record], commitSeq: 0,
                backupInSync: false, ackEcho: 0))
        #expect(throws: SyncCodecError.self) { try SyncMessage(frame: Self.frame(wrapping)) }
    }
}
