import NIOCore
import ReplicaCore

/// How many log bytes lie after a seq, for the primary's report of how far its backup lags: the offset at which
/// each recent record starts, counted from when the meter began. It keeps at most `capacity` records; the
/// primary drops those its backup holds, so in sync it keeps a handful.
struct LagMeter: Sendable {
    let capacity: Int
    /// `starts[i]` is where record `firstSeq + i` starts.
    private var starts = CircularBuffer<UInt64>()
    private var firstSeq: UInt64 = 0
    private var total: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Records were appended to the log, in seq order. A gap (a cut, a new epoch's history) starts over.
    mutating func appended(_ records: [LogRecord]) {
        for record in records {
            if self.starts.isEmpty || record.seq != self.firstSeq + UInt64(self.starts.count) {
                self.starts.removeAll()
                self.firstSeq = record.seq
            }
            self.starts.append(self.total)
            self.total += UInt64(record.encodedLength)
            if self.starts.count > self.capacity {
                self.starts.removeFirst()
                self.firstSeq += 1
            }
        }
    }

    /// The bytes of the records after `seq` up to `last` (the log's last seq), or nil when the meter does not
    /// hold all of them (they were appended before it began, or more than `capacity` ago).
    func bytes(after seq: UInt64, last: UInt64) -> UInt64? {
        if seq >= last { return 0 }
        let next = seq + 1
        guard !self.starts.isEmpty, next >= self.firstSeq, self.firstSeq + UInt64(self.starts.count) == last + 1
        else { return nil }
        return self.total - self.starts[self.starts.index(self.starts.startIndex, offsetBy: Int(next - self.firstSeq))]
    }

    /// Forgets the records up to `seq`: the backup holds them.
    mutating func forget(through seq: UInt64) {
        while !self.starts.isEmpty, self.firstSeq <= seq {
            self.starts.removeFirst()
            self.firstSeq += 1
        }
    }

    /// Starts over (the log was cut, or this node stopped being primary).
    mutating func reset() {
        self.starts.removeAll()
        self.firstSeq = 0
    }
}
