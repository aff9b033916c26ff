/// How many pieces to keep asked of one serving peer: enough that its link does not idle while a new request
/// travels, and no more. Requests queued at a peer wait there; a seeder shared by many downloaders with deep queues
/// is asked by several of them for the same piece before any holds it, and sends it several times.
///
/// It measures two things from the pieces the peer delivers: the shortest wait from asking to a verified piece (one
/// piece's transfer and a round trip, with as little queueing as was ever seen), and the time the peer takes per
/// piece (the gap between two deliveries when the second was already asked before the first came). The round trip
/// is the wait less one piece's time. Behind the piece in transfer it keeps pieces for twice the round trip (the
/// shortest wait is the best case), and for at least ``minimumAhead`` (a process waiting a scheduler's slice for a
/// core must not drain it), less ``idleTolerance`` of a piece: one piece at a time when all that is small beside a
/// piece (a slow or shared link), more on a fast link or a long round trip. Until both are known, the policy's
/// start depth. One piece at a time measures no time per piece (each waits for its own request), so at that depth
/// one piece in ``probeEvery`` is asked with a second behind it: a peer that got faster is seen.
public struct PipelineSizer: Hashable, Sendable {
    /// How much of a piece's time the link may idle per piece, waiting for the next request.
    public static let idleTolerance = 0.05
    /// The least of the peer's time kept queued behind the piece in transfer.
    public static let minimumAhead = Duration.milliseconds(5)
    /// At a depth of one, one delivery in this many is followed by two pieces in flight, to measure the peer.
    public static let probeEvery = 8

    /// The shortest time from asking the peer for a piece to the piece verified.
    public private(set) var shortestWait: Duration?
    /// The peer's time per piece, a moving average.
    public private(set) var pieceInterval: Duration?
    private var lastDelivery: Duration?
    /// Deliveries since the last one that measured the time per piece.
    private var unmeasured = 0

    public init() {}

    /// A piece asked at `askedAt` was verified at `now`.
    public mutating func delivered(askedAt: Duration, now: Duration) {
        let wait = now - askedAt
        self.shortestWait = min(self.shortestWait ?? wait, wait)
        // Asked before the last delivery: it waited in the peer's queue, so the gap is the peer's own time.
        if let last = self.lastDelivery, askedAt < last, now > last {
            let gap = now - last
            // A probe's gap stands alone: it is the one fresh figure since the last.
            let average = self.unmeasured >= Self.probeEvery ? nil : self.pieceInterval
            self.pieceInterval = average.map { ($0 * 7 + gap) / 8 } ?? gap
            self.unmeasured = 0
        } else {
            self.unmeasured += 1
        }
        self.lastDelivery = max(self.lastDelivery ?? now, now)
    }

    /// The pieces to keep in flight: `start` until measured, then the measured need, from 1 to `maximum`.
    public func depth(start: Int, maximum: Int) -> Int {
        guard let wait = self.shortestWait, let interval = self.pieceInterval, interval > .zero else {
            return min(start, maximum)
        }
        let roundTrip = max(.zero, wait - interval)
        let ahead = max(roundTrip * 2, Self.minimumAhead)
        // Pieces queued behind the one in transfer, less the idle time allowed.
        let behind = (ahead / interval - Self.idleTolerance).rounded(.up)
        guard behind < Double(maximum) else { return maximum }
        let depth = 1 + max(0, Int(behind))
        return min(maximum, depth == 1 && self.unmeasured >= Self.probeEvery ? 2 : depth)
    }
}
