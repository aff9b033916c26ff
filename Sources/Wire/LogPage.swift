/// Where a reader of a tracker's op log stands in its WAL: a segment (by the seq its name starts at) and a byte
/// offset in it. Reading on from a cursor gives the ops logged since (`tandemctl log --follow`).
public struct LogCursor: Hashable, Sendable {
    /// The seq the segment's name starts at.
    public var segment: UInt64
    /// The bytes read of it.
    public var offset: UInt64

    /// Creates a cursor.
    public init(segment: UInt64, offset: UInt64) {
        self.segment = segment
        self.offset = offset
    }
}

/// What `READ_LOG` asks of a tracker's op log.
public struct LogQuery: Hashable, Sendable {
    /// Where to read from.
    public enum Start: Hashable, Sendable {
        /// Everything from this seq on: snapshots, ops, how segments end, cuts.
        case seq(UInt64)
        /// The ops logged after the cursor a page before gave, and nothing else.
        case after(LogCursor)
    }

    /// Where to read from.
    public var start: Start
    /// The most ops to send (the tracker may send fewer, to keep the reply small).
    public var limit: UInt32

    /// Creates a query.
    public init(start: Start, limit: UInt32) {
        self.start = start
        self.limit = limit
    }
}

/// A page of a tracker's op log (`READ_LOG`), in log order, with where to read on from.
public struct LogPage: Hashable, Sendable {
    /// One item of the log.
    public enum Item: Hashable, Sendable {
        /// An op as logged: its position and its encoded payload (empty for the entry that opens an epoch).
        case op(seq: UInt64, epoch: UInt64, payload: [UInt8])
        /// A snapshot, through this position.
        case snapshot(seq: UInt64, epoch: UInt64)
        /// A segment that does not end cleanly: `torn` (a write cut short, which the tracker cuts at start-up)
        /// at `offset`, or what is damaged there.
        case segmentEnd(segment: String, offset: UInt64, problem: String)
        /// Ops cut from the log when the tracker rejoined a newer primary, kept in `file`: cut at `time` (seconds
        /// since 1970), `ops` of them from `fromSeq` on.
        case cut(file: String, time: UInt64, fromSeq: UInt64, ops: UInt32)
    }

    /// The items, in log order.
    public var items: [Item]
    /// Where the ops after this page start: read on from it for the ops logged later.
    public var cursor: LogCursor
    /// Whether the page stopped at its limit: more ops follow the last one sent.
    public var more: Bool

    /// Creates a page.
    public init(items: [Item], cursor: LogCursor, more: Bool) {
        self.items = items
        self.cursor = cursor
        self.more = more
    }

    /// The problem a torn segment end is sent with.
    public static let torn = "torn"
}
