/// Limits on the peers a download learns of and dials.
public struct PeerExchangePolicy: Hashable, Sendable {
    /// Addresses taken from one serving peer's welcome and peer lists, in all; the rest are dropped.
    public var perSource: Int
    /// Addresses learnt from serving peers that a download keeps in all.
    public var maxExchanged: Int
    /// Connections being opened at once.
    public var maxDialing: Int
    /// Attempts on an address learnt from serving peers before it is forgotten.
    public var attempts: Int
    /// How long after a failed attempt the next is made; it doubles each time, up to ``maxBackoff``.
    public var backoff: Duration
    public var maxBackoff: Duration

    /// 32 addresses per serving peer and 128 in all, 4 dials at once, 3 attempts each, 2 s to 30 s apart.
    public init(
        perSource: Int = 32, maxExchanged: Int = 128, maxDialing: Int = 4, attempts: Int = 3,
        backoff: Duration = .seconds(2), maxBackoff: Duration = .seconds(30)
    ) {
        self.perSource = perSource
        self.maxExchanged = maxExchanged
        self.maxDialing = maxDialing
        self.attempts = attempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }
}

/// The addresses a download may connect to, and when: the seeders the tracker lists, and the peers that serving
/// peers name (peer exchange). A pure value: the shell reports what happened and asks ``nextToDial(now:)``.
///
/// What a serving peer says is bounded, because it may lie: at most ``PeerExchangePolicy/perSource`` addresses are
/// taken from each, at most ``PeerExchangePolicy/maxExchanged`` kept, each tried at most
/// ``PeerExchangePolicy/attempts`` times with a growing back-off, and never more than
/// ``PeerExchangePolicy/maxDialing`` dials at once. Addresses the tracker vouches for (it lists them as seeders)
/// or that two serving peers confirm are dialed first, and tracker-listed ones are never given up while listed.
public struct PeerCandidates<Address: Hashable & Sendable>: Sendable {
    private struct Candidate: Sendable {
        var listedByTracker = false
        var sources: Set<PeerID> = []
        var failures = 0
        var notBefore: Duration = .zero
        var state = State.idle
        /// When it was learnt, for a stable order.
        var order: Int
    }

    private enum State: Sendable {
        case idle, dialing, connected
    }

    public let policy: PeerExchangePolicy
    private var candidates: [Address: Candidate] = [:]
    private var takenFrom: [PeerID: Int] = [:]
    private var learnt = 0

    public init(policy: PeerExchangePolicy = PeerExchangePolicy()) {
        self.policy = policy
    }

    /// The tracker lists `addresses` as seeders now: they are vouched for, and tried until they answer.
    public mutating func listedByTracker(_ addresses: [Address]) {
        for address in addresses {
            var candidate = self.candidates[address] ?? self.newCandidate()
            if !candidate.listedByTracker {
                candidate.listedByTracker = true
                candidate.failures = 0
                candidate.notBefore = .zero
            }
            self.candidates[address] = candidate
        }
    }

    /// Serving peer `source` named `addresses`. Returns how many were dropped: over its allowance, or over the
    /// download's.
    @discardableResult
    public mutating func exchanged(_ addresses: [Address], from source: PeerID) -> Int {
        var dropped = 0
        for address in addresses {
            if var known = self.candidates[address] {
                known.sources.insert(source)
                self.candidates[address] = known
                continue
            }
            let taken = self.takenFrom[source, default: 0]
            let exchanged = self.candidates.values.count { !$0.listedByTracker }
            guard taken < self.policy.perSource, exchanged < self.policy.maxExchanged else {
                dropped += 1
                continue
            }
            self.takenFrom[source] = taken + 1
            var candidate = self.newCandidate()
            candidate.sources = [source]
            self.candidates[address] = candidate
        }
        return dropped
    }

    /// The addresses to dial now, marked as being dialed: confirmed ones first, within the dial limit.
    public mutating func nextToDial(now: Duration) -> [Address] {
        let dialing = self.candidates.values.count { $0.state == .dialing }
        let room = self.policy.maxDialing - dialing
        guard room > 0 else { return [] }
        let ready = self.candidates.filter { $0.value.state == .idle && $0.value.notBefore <= now }
            .sorted { lhs, rhs in
                let (left, right) = (Self.confirmed(lhs.value), Self.confirmed(rhs.value))
                return left != right ? left : lhs.value.order < rhs.value.order
            }
            .prefix(room).map(\.key)
        for address in ready { self.candidates[address]?.state = .dialing }
        return ready
    }

    /// Dialing `address` gave a connection.
    public mutating func connected(_ address: Address) {
        self.candidates[address]?.state = .connected
    }

    /// Dialing `address` failed, or its connection ended, at `now`: it is tried again after the back-off, unless it
    /// came from peer exchange and used up its attempts (each connection counts as one, so a peer that accepts and
    /// drops is not dialed forever). Returns whether it is forgotten.
    @discardableResult
    public mutating func failed(_ address: Address, now: Duration) -> Bool {
        guard var candidate = self.candidates[address] else { return true }
        candidate.failures += 1
        candidate.state = .idle
        if !candidate.listedByTracker && candidate.failures >= self.policy.attempts {
            self.candidates[address] = nil
            return true
        }
        let doublings = min(candidate.failures - 1, 16)
        candidate.notBefore = now + min(self.policy.backoff * (1 << doublings), self.policy.maxBackoff)
        self.candidates[address] = candidate
        return false
    }

    /// Forgets `address` for good (it was banned).
    public mutating func forget(_ address: Address) {
        self.candidates[address] = nil
    }

    /// Whether `address` is known, and how: for tests and status.
    public func isKnown(_ address: Address) -> Bool { self.candidates[address] != nil }

    /// How many addresses are known.
    public var count: Int { self.candidates.count }

    private static func confirmed(_ candidate: Candidate) -> Bool {
        candidate.listedByTracker || candidate.sources.count >= 2
    }

    private mutating func newCandidate() -> Candidate {
        self.learnt += 1
        return Candidate(order: self.learnt)
    }
}
