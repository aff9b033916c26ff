/// Which epochs a log holds and where each begins: one entry per epoch, so it stays tiny.
///
/// Invariant: epochs and first seqs both strictly increase. It answers the question that makes logs agree
/// after a failover: "where does epoch E end in your log?" (the answer a primary gives a node that comes back
/// with entries of an older epoch, which must cut its log back to that point).
public struct EpochHistory: Hashable, Sendable {
    /// An epoch and the seq of its first entry.
    public struct Start: Hashable, Sendable {
        /// The epoch.
        public var epoch: UInt64
        /// The seq of the first entry of `epoch` in this log.
        public var firstSeq: UInt64

        /// Epoch `epoch` beginning at `firstSeq`.
        public init(epoch: UInt64, firstSeq: UInt64) {
            self.epoch = epoch
            self.firstSeq = firstSeq
        }
    }

    /// The starts, oldest first.
    public private(set) var starts: [Start]

    /// A history of the given starts, oldest first.
    public init(_ starts: [Start] = []) {
        precondition(
            zip(starts, starts.dropFirst()).allSatisfy { $0.epoch < $1.epoch && $0.firstSeq < $1.firstSeq },
            "epoch starts must increase")
        self.starts = starts
    }

    /// The epoch of the newest entry, 0 for an empty history.
    public var lastEpoch: UInt64 { self.starts.last?.epoch ?? 0 }

    /// Records that entry `seq` belongs to `epoch`; a no-op when `epoch` is already the newest.
    public mutating func note(epoch: UInt64, seq: UInt64) {
        if let last = self.starts.last {
            if last.epoch == epoch { return }
            precondition(last.epoch < epoch && last.firstSeq < seq, "entries come in epoch and seq order")
        }
        self.starts.append(Start(epoch: epoch, firstSeq: seq))
    }

    /// The epoch entry `seq` belongs to, or nil when `seq` is before the first known start.
    public func epoch(of seq: UInt64) -> UInt64? {
        self.starts.last { $0.firstSeq <= seq }?.epoch
    }

    /// The last seq a log that ends at `lastSeq` holds of epochs up to `epoch`: where a log whose newest entry
    /// is of `epoch` stops agreeing with this one. 0 when this log holds nothing that old.
    public func end(ofEpoch epoch: UInt64, lastSeq: UInt64) -> UInt64 {
        guard let next = self.starts.first(where: { $0.epoch > epoch }) else { return lastSeq }
        return next.firstSeq - 1
    }

    /// Forgets the epochs that began after `seq` (the log was cut back to `seq`).
    public mutating func truncate(after seq: UInt64) {
        self.starts.removeAll { $0.firstSeq > seq }
    }
}
