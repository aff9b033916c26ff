/// Where an op sits in the replicated log: the epoch of the primary that assigned it, and its sequence number.
///
/// Positions order by epoch first: of two logs, the one whose last entry has the higher epoch saw the later
/// primary, whatever their lengths.
public struct LogPosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The epoch of the entry (0 for the position before the first entry).
    public var epoch: UInt64
    /// The entry's sequence number (0 for the position before the first entry).
    public var seq: UInt64

    /// The position before any entry.
    public static let start = LogPosition(epoch: 0, seq: 0)

    /// The position of entry `seq`, assigned in `epoch`.
    public init(epoch: UInt64, seq: UInt64) {
        self.epoch = epoch
        self.seq = seq
    }

    public static func < (lhs: LogPosition, rhs: LogPosition) -> Bool {
        (lhs.epoch, lhs.seq) < (rhs.epoch, rhs.seq)
    }

    /// `epoch:seq`, as status and logs show it.
    public var description: String { "\(self.epoch):\(self.seq)" }
}
