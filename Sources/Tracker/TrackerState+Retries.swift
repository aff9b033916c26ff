import Wire

/// Retried writes: a client that numbers its writes (``RequestOrigin``) gets, for a retry, the reply of the first
/// attempt, and the write is applied once. The table is part of the replicated state, so a retry sent to the new
/// primary after a failover finds it too; it is bounded, and eviction depends only on the order of ops, so both
/// trackers keep the same entries.
///
/// A reply is remembered with the digest of the request it answered, and given only for a request with the same
/// digest: a different request sent under a remembered number is refused, never answered with another's reply.
extension TrackerState {
    /// Replies kept per client: a client retries only its latest writes.
    static let repliesKeptPerClient = 16
    /// Clients whose replies are kept; past this, the client heard from longest ago is forgotten.
    static let clientsKept = 4_096

    /// A reply as the retry table keeps it: with the digest of the request it answered.
    struct RememberedReply: Hashable, Sendable {
        var digest: [UInt8]
        var reply: Reply
    }

    /// One client's latest replies.
    struct ClientReplies: Hashable, Sendable {
        /// Reply by request number.
        var replies: [UInt64: RememberedReply] = [:]
        /// The request numbers, oldest first.
        var order: [UInt64] = []
        /// ``TrackerState/retryClock`` when the client was last heard.
        var lastHeard: UInt64 = 0
    }

    /// What the retry table holds for a request's origin.
    public enum Remembered: Hashable, Sendable {
        /// The same request was applied, and answered this.
        case reply(Reply)
        /// The client's number was used by a different request: the one at hand must be refused.
        case otherRequest(Reply)
    }

    /// Whether the table holds a reply for request number `request` of client `client` (whatever its digest).
    public func remembers(client: UInt64, request: UInt64) -> Bool {
        self.retries[client]?.replies[request] != nil
    }

    /// What the table holds for `origin`: nil when its number is not remembered, so the request is new.
    public func remembered(for origin: RequestOrigin) -> Remembered? {
        guard let entry = self.retries[origin.client]?.replies[origin.request] else { return nil }
        return entry.digest == origin.digest
            ? .reply(entry.reply) : .otherRequest(Refusal.requestNumberReused(origin.request).reply)
    }

    /// Applies `op` unless `origin` was applied already, in which case it answers what it answered then; refuses
    /// it, changing nothing, when the number was used by a different request.
    mutating func applyOnce(_ op: TrackerOp, from origin: RequestOrigin) -> Reply {
        switch self.remembered(for: origin) {
        case .reply(let reply), .otherRequest(let reply):
            return reply
        case nil:
            let reply = self.apply(op)
            self.remember(reply, for: origin)
            return reply
        }
    }

    private mutating func remember(_ reply: Reply, for origin: RequestOrigin) {
        self.retryClock += 1
        var client = self.retries[origin.client] ?? ClientReplies()
        client.replies[origin.request] = RememberedReply(digest: origin.digest, reply: reply)
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
