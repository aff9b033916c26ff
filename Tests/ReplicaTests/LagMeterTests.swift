import NIOCore
import Testing

@testable import Replica
import ReplicaCore

/// The primary's count of the log bytes its backup lacks.
@Suite struct LagMeterTests {
    static func records(_ seqs: ClosedRange<UInt64>, size: Int = 10) -> [LogRecord] {
        seqs.map { LogRecord(epoch: 2, seq: $0, payload: ByteBuffer(repeating: 7, count: size)) }
    }

    @Test func countsTheBytesAfterASeqAndForgetsWhatTheBackupHolds() {
        var meter = LagMeter(capacity: 100)
        meter.appended(Self.records(1...10))
        let record = UInt64(LogRecord.headerLength + 10)
        #expect(meter.bytes(after: 4, last: 10) == 6 * record)
        #expect(meter.bytes(after: 0, last: 10) == 10 * record)
        #expect(meter.bytes(after: 10, last: 10) == 0)
        meter.forget(through: 7)
        #expect(meter.bytes(after: 7, last: 10) == 3 * record)
        #expect(meter.bytes(after: 6, last: 10) == nil, "forgotten")
        meter.forget(through: 10)
        #expect(meter.bytes(after: 10, last: 10) == 0)
        meter.appended(Self.records(11...12))
        #expect(meter.bytes(after: 10, last: 12) == 2 * record)
    }

    @Test func whatItNeverSawOrNoLongerHoldsIsUnknown() {
        var meter = LagMeter(capacity: 4)
        meter.appended(Self.records(20...30))
        #expect(meter.bytes(after: 26, last: 30) != nil)
        #expect(meter.bytes(after: 25, last: 30) == nil, "past the capacity")
        #expect(meter.bytes(after: 26, last: 31) == nil, "the log holds a record the meter did not see")
        meter.reset()
        #expect(meter.bytes(after: 28, last: 30) == nil)
        meter.appended(Self.records(40...41))
        #expect(meter.bytes(after: 39, last: 41) != nil, "a gap starts it over")
    }
}
