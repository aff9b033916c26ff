import Wire

/// Retried writes: a client that numbers its writes (``RequestOrigin``) gets, for a retry, the reply of the first
/// attempt, and the write is applied once. The table is part of the replicated state, so a retry sent to the new
/// primary after a failover finds it too; it is bounded, and eviction depends only on the order of ops, so both
/// trackers keep the same entries.
extension TrackerState {
    /// Replies kept per client: a client retries only its latest writes.
    static let repliesKeptPerClient = 16
    /// Clients whose replies are kept; past this, the client heard from longest ago is forgotten.
    static let clientsKept = 4_096

    /// One client's latest replies.
    struct ClientReplies: Hashable, Sendable {
        /// Reply by request number.
        var replies: [UInt64: Reply] = [:]
        /// The request numbers, oldest first.
        var order: [UInt64] = []
        /// ``TrackerState/retryClock`` when the client was last heard.
        var lastHeard: UInt64 = 0
    }

    /// The reply the write from `origin` got, if it was applied and is still remembered.
    public func rememberedReply(for origin: RequestOrigin) -> Reply? {
        self.retries[origin.client]?.replies[origin.request]
    }

    /// Applies `op` unless `origin` was applied already, in which case it answers what it answered then.
    mutating func applyOnce(_ op: TrackerOp, from origin: RequestOrigin) -> Reply {
        if let reply = self.rememberedReply(for: origin) { return reply }
        let reply = self.apply(op)
        self.remember(reply, for: origin)
        return reply
    }

    private mutating func remember(_ reply: Reply, for origin: RequestOrigin) {
        self.retryClock += 1
        var client = self.retries[origin.client] ?? ClientReplies()
        client.replies[origin.request] = reply
        client.order.append(origin.request)
        if client.order.count > Self.repliesKeptPerClient {
            client.replies[client.order.removeFirst()] = nil
        }
        client.lastHeard = self.retryClock
        self.retries[origin.client] = client
        // Every `lastHeard` is distinct (snapshots are checked for it), and ties would go to the lower client id
        // anyway, so the client forgotten is the same on both trackers.
        if self.retries.count > Self.clientsKept,
            let stalest = self.retries.min(by: { ($0.value.lastHeard, $0.key) < ($1.value.lastHeard, $1.key) })?.key
        {
            self.retries[stalest] = nil
        }
    }
}
