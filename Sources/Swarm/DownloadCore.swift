/// A connection to one serving peer, numbered by the shell.
public typealias PeerID = Int

/// Where a serving peer is, as the shell names it (its address): what a ban is held against, so that a peer
/// banned on one connection is not taken back on the next.
public typealias PeerKey = String

/// Where a download stands.
public enum DownloadState: String, Codable, Hashable, Sendable, CaseIterable {
    /// Pieces are being fetched.
    case downloading
    /// No connected peer has the missing pieces: looking for seeders.
    case waiting
    /// Every piece is verified and the file is in place.
    case complete
    /// It stopped for good (the disk failed, the file changed); the part file keeps the verified pieces.
    case failed
    /// Its user paused it: no peer is asked for anything until it is resumed; the part file keeps the verified
    /// pieces.
    case paused

    /// Whether the download is over, for better or worse.
    public var hasEnded: Bool { self == .complete || self == .failed }
    /// Whether pieces are being fetched or looked for.
    public var isRunning: Bool { self == .downloading || self == .waiting }
}

/// How a download treats its peers.
public struct DownloadPolicy: Hashable, Sendable {
    /// How many piece requests each peer has in flight at most.
    public var pipelineDepth: Int
    /// How many a peer is asked for before its round trip is measured (``PipelineSizer``).
    public var startDepth: Int
    /// A peer with requests in flight that delivers no byte for this long is dropped.
    public var peerTimeout: Duration
    /// A peer that sent this many pieces that failed their SHA1 is dropped and not taken back.
    public var maxBadPieces: Int
    /// In the endgame, how many peers may be asked for the same piece at once.
    public var maxRequestersPerPiece: Int
    /// How often the tracker is asked for seeders while waiting for one; while downloading, eight times less
    /// often, to find seeders that came since.
    public var seederPoll: Duration

    /// A policy that asks each peer for `startDepth` pieces (`pipelineDepth` when not given) until its round
    /// trip is measured, and for at most `pipelineDepth`.
    public init(
        pipelineDepth: Int, startDepth: Int? = nil, peerTimeout: Duration, maxBadPieces: Int = 2,
        maxRequestersPerPiece: Int = 3, seederPoll: Duration = .seconds(2)
    ) {
        self.pipelineDepth = max(1, pipelineDepth)
        self.startDepth = min(self.pipelineDepth, max(1, startDepth ?? pipelineDepth))
        self.peerTimeout = peerTimeout
        self.maxBadPieces = maxBadPieces
        self.maxRequestersPerPiece = maxRequestersPerPiece
        self.seederPoll = seederPoll
    }

    /// A pipeline sized by each peer's round trip, from 2 pieces to about `bytesInFlight` (at least 2 pieces).
    public static func forPieceSize(_ pieceSize: Int, bytesInFlight: Int = 8 << 20, peerTimeout: Duration) -> Self {
        DownloadPolicy(
            pipelineDepth: max(2, bytesInFlight / max(1, pieceSize)), startDepth: 2, peerTimeout: peerTimeout)
    }
}

/// Why a peer was dropped.
public enum DropReason: Hashable, Sendable {
    /// It had requests in flight and sent nothing for the peer timeout.
    case timedOut
    /// It sent this many pieces that failed their SHA1: it is not taken back.
    case badPieces(Int)
}

/// What the shell does after an event, in order.
public enum DownloadAction: Hashable, Sendable {
    /// Ask the peer for these whole pieces.
    case request(PeerID, [Int])
    /// Tell the peer these pieces are no longer wanted from it (another peer delivered them).
    case cancel(PeerID, [Int])
    /// Close the connection; a peer dropped for bad pieces is banned (``DownloadCore/isBanned(_:)``).
    case drop(PeerID, DropReason)
    /// The piece is verified: record it, announce it to this peer's downloaders.
    case verified(Int)
    /// Every piece is verified: move the file into place, then report ``DownloadCore/finished()`` (or
    /// ``DownloadCore/failed()``).
    case completed
    /// No peer is left and pieces are missing: look for new seeders.
    case noPeers
}

/// The download state machine: which pieces to ask of which peer, and what to do when pieces arrive, fail, or
/// peers come, go quiet and leave; where the download stands (``state``), which peers are banned, and when to ask
/// the tracker for seeders. Pure: time comes in with each event, actions go out; the shell does the I/O.
///
/// Pieces are picked rarest first (fewest peers have them), ties broken by a random order drawn once. Once every
/// missing piece is in flight (the endgame), an idle peer is also asked for pieces others are fetching, up to
/// ``DownloadPolicy/maxRequestersPerPiece``; the first good copy wins and the others are cancelled.
public struct DownloadCore: Sendable {
    private struct Peer: Sendable {
        let key: PeerKey
        var has: Bitfield
        /// Pieces asked of it and not yet delivered, oldest first.
        var inFlight: [Int] = []
        /// When each piece in flight was asked of it.
        var askedAt: [Int: Duration] = [:]
        var sizer = PipelineSizer()
        var lastProgress: Duration
        var badPieces = 0
    }

    public let layout: PieceLayout
    public let policy: DownloadPolicy
    /// The verified pieces.
    public private(set) var have: Bitfield
    /// Where the download stands.
    public private(set) var state = DownloadState.downloading

    private var peers: [PeerID: Peer] = [:]
    /// How many connected peers have each piece.
    private var availability: [Int]
    /// The peers each in-flight piece is asked of.
    private var requesters: [Int: [PeerID]] = [:]
    /// Pieces that more than one peer wrote since they were last asked for: the shell verifies them from disk.
    private var contended: Set<Int> = []
    /// Peers a piece is not asked of again, after they sent it bad or said they lack it.
    private var avoided: [Int: Set<PeerID>] = [:]
    /// The tie-break order: a random permutation of the pieces.
    private let order: [Int]
    /// Peers dropped for bad pieces, never taken back.
    private var banned: Set<PeerKey> = []
    /// When the tracker was last asked for seeders.
    private var lastSeederQuery: Duration?

    /// A download of `layout` that already holds `have`, tie-breaking with `random`.
    public init(
        layout: PieceLayout, have: Bitfield, policy: DownloadPolicy, random: inout some RandomNumberGenerator
    ) {
        precondition(have.count == layout.pieceCount, "the bitfield describes the file's pieces")
        self.layout = layout
        self.policy = policy
        self.have = have
        self.availability = [Int](repeating: 0, count: layout.pieceCount)
        self.order = Array(0..<layout.pieceCount).shuffled(using: &random)
    }

    /// Whether every piece is verified.
    public var isComplete: Bool { self.have.isComplete }

    /// The connected peers.
    public var peerIDs: [PeerID] { self.peers.keys.sorted() }

    /// The pieces asked of `peer` and not delivered yet, oldest first.
    public func inFlight(of peer: PeerID) -> [Int] { self.peers[peer]?.inFlight ?? [] }

    /// How many pieces `peer` is kept asked for: the start depth until its round trip is measured.
    public func pipelineDepth(of peer: PeerID) -> Int {
        self.peers[peer]?.sizer.depth(start: self.policy.startDepth, maximum: self.policy.pipelineDepth) ?? 0
    }

    /// Whether `peer` may write `piece` now: it was asked for it and the piece is not verified yet. Bytes for
    /// anything else (a cancelled or already verified piece) are dropped.
    public func accepts(_ piece: Int, from peer: PeerID) -> Bool {
        !self.have[piece] && self.requesters[piece]?.contains(peer) == true
    }

    /// Whether `piece` was asked of more than one peer since its last request: its bytes on disk may mix two
    /// streams, so a good hash of one stream does not prove the disk holds it.
    public func isContended(_ piece: Int) -> Bool { self.contended.contains(piece) }

    /// Whether the peer at `key` was dropped for bad pieces: it is not dialed again.
    public func isBanned(_ key: PeerKey) -> Bool { self.banned.contains(key) }

    /// Whether to ask the tracker for seeders now: at once, then every ``DownloadPolicy/seederPoll`` while
    /// waiting and every eight polls while downloading. A true answer counts as asking.
    public mutating func shouldAskForSeeders(now: Duration) -> Bool {
        guard self.state.isRunning else { return false }
        let interval = self.state == .waiting ? self.policy.seederPoll : self.policy.seederPoll * 8
        if let last = self.lastSeederQuery, now - last < interval { return false }
        self.lastSeederQuery = now
        return true
    }

    // MARK: Lifecycle

    /// No peer could be found or reached (the tracker lists none, none answers): the download waits.
    public mutating func noSeedersFound() {
        if self.state == .downloading, self.peers.isEmpty { self.state = .waiting }
    }

    /// The verified file is in place.
    public mutating func finished() {
        precondition(self.isComplete, "a download finishes once every piece is verified")
        self.state = .complete
    }

    /// The download cannot go on (its disk failed, or moving the file into place did).
    public mutating func failed() {
        if self.state != .complete { self.state = .failed }
    }

    /// Its user paused it: nothing more is asked of any peer (the shell closes their connections).
    public mutating func pause() {
        if self.state.isRunning { self.state = .paused }
    }

    // MARK: Events

    /// A peer at `key` was admitted and said which pieces it has.
    public mutating func peerJoined(_ peer: PeerID, at key: PeerKey, has: Bitfield, now: Duration) -> [DownloadAction] {
        guard has.count == self.layout.pieceCount, self.peers[peer] == nil, self.state.isRunning,
            !self.banned.contains(key)
        else { return [] }
        if self.state == .waiting { self.state = .downloading }
        self.peers[peer] = Peer(key: key, has: has, lastProgress: now)
        for piece in has.indexes { self.availability[piece] += 1 }
        return self.fill(peer, now: now)
    }

    /// A peer verified one more piece.
    public mutating func peerHas(_ peer: PeerID, piece: Int, now: Duration) -> [DownloadAction] {
        guard piece >= 0, piece < self.layout.pieceCount, self.peers[peer]?.has.insert(piece) == true else {
            return []
        }
        self.availability[piece] += 1
        return self.fill(peer, now: now)
    }

    /// Bytes arrived from a peer: it is alive.
    public mutating func progress(_ peer: PeerID, now: Duration) {
        self.peers[peer]?.lastProgress = now
    }

    /// A piece from `peer` passed its SHA1 (from disk, when it was contended).
    public mutating func pieceVerified(_ piece: Int, from peer: PeerID, now: Duration) -> [DownloadAction] {
        guard self.accepts(piece, from: peer) else { return [] }
        self.have.insert(piece)
        self.contended.remove(piece)
        self.avoided[piece] = nil
        var actions: [DownloadAction] = [.verified(piece)]
        let others = (self.requesters.removeValue(forKey: piece) ?? []).filter { $0 != peer }
        if let askedAt = self.peers[peer]?.askedAt[piece] {
            self.peers[peer]?.sizer.delivered(askedAt: askedAt, now: now)
        }
        self.forget(piece, askedOf: peer)
        for other in others {
            self.forget(piece, askedOf: other)
            actions.append(.cancel(other, [piece]))
        }
        if self.isComplete { return actions + [.completed] }
        for refill in [peer] + others { actions += self.fill(refill, now: now) }
        return actions
    }

    /// A piece from `peer` failed its SHA1, or the peer said it does not have it (`blame: false`). It goes back
    /// to the pool and is not asked of this peer again; a peer that sent ``DownloadPolicy/maxBadPieces`` bad
    /// pieces is dropped.
    public mutating func pieceFailed(
        _ piece: Int, from peer: PeerID, blame: Bool = true, now: Duration
    ) -> [DownloadAction] {
        guard self.accepts(piece, from: peer) else { return [] }
        self.release(piece, from: peer)
        self.avoided[piece, default: []].insert(peer)
        if blame {
            self.peers[peer]?.badPieces += 1
            if let bad = self.peers[peer]?.badPieces, bad >= self.policy.maxBadPieces, let key = self.peers[peer]?.key {
                self.banned.insert(key)
                return [.drop(peer, .badPieces(bad))] + self.peerLeft(peer, now: now)
            }
        }
        return self.fillAll(now: now)
    }

    /// A piece that several peers wrote failed its SHA1 on disk though its stream was good: nobody is to blame
    /// for sure, so it is asked for again from scratch.
    public mutating func pieceCorrupted(_ piece: Int, now: Duration) -> [DownloadAction] {
        guard !self.have[piece], let askedOf = self.requesters.removeValue(forKey: piece) else { return [] }
        self.contended.remove(piece)
        var actions: [DownloadAction] = []
        for peer in askedOf {
            self.forget(piece, askedOf: peer)
            actions.append(.cancel(peer, [piece]))
        }
        return actions + self.fillAll(now: now)
    }

    /// A connection ended (closed, failed, dropped): its pieces go back to the pool.
    public mutating func peerLeft(_ peer: PeerID, now: Duration) -> [DownloadAction] {
        guard self.remove(peer) else { return [] }
        return self.afterLeaving(now: now)
    }

    /// Time passed: peers that owe pieces and sent nothing for the peer timeout are dropped, all of them before
    /// the others are topped up.
    public mutating func tick(now: Duration) -> [DownloadAction] {
        let silent = self.peerIDs.filter { peer in
            guard let state = self.peers[peer] else { return false }
            return !state.inFlight.isEmpty && now - state.lastProgress >= self.policy.peerTimeout
        }
        guard !silent.isEmpty else { return [] }
        for peer in silent { self.remove(peer) }
        return silent.map { .drop($0, .timedOut) } + self.afterLeaving(now: now)
    }

    /// Forgets `peer`: what it had, its pieces in flight go back to the pool. False when it was not connected.
    @discardableResult
    private mutating func remove(_ peer: PeerID) -> Bool {
        guard let gone = self.peers.removeValue(forKey: peer) else { return false }
        for piece in gone.has.indexes { self.availability[piece] -= 1 }
        for piece in gone.inFlight { self.release(piece, from: peer) }
        for piece in self.avoided.keys { self.avoided[piece]?.remove(peer) }
        return true
    }

    /// After peers left: ``DownloadAction/noPeers`` when none is left and pieces are missing, else the others
    /// topped up.
    private mutating func afterLeaving(now: Duration) -> [DownloadAction] {
        guard self.state.isRunning else { return [] }
        if self.peers.isEmpty && !self.isComplete {
            if self.state == .downloading { self.state = .waiting }
            return [.noPeers]
        }
        return self.fillAll(now: now)
    }

    // MARK: Picking

    /// `piece` is no longer in flight at `peer`.
    private mutating func forget(_ piece: Int, askedOf peer: PeerID) {
        self.peers[peer]?.inFlight.removeAll { $0 == piece }
        self.peers[peer]?.askedAt[piece] = nil
    }

    private mutating func release(_ piece: Int, from peer: PeerID) {
        self.forget(piece, askedOf: peer)
        self.requesters[piece]?.removeAll { $0 == peer }
        if self.requesters[piece]?.isEmpty == true {
            self.requesters[piece] = nil
            self.contended.remove(piece)
        }
    }

    private mutating func fillAll(now: Duration) -> [DownloadAction] {
        self.peerIDs.flatMap { self.fill($0, now: now) }
    }

    /// Tops up `peer`'s pipeline to its depth: fresh pieces rarest first, then, in the endgame, pieces others are
    /// fetching.
    private mutating func fill(_ peer: PeerID, now: Duration) -> [DownloadAction] {
        guard let state = self.peers[peer], !self.isComplete, self.state.isRunning else { return [] }
        let room = self.pipelineDepth(of: peer) - state.inFlight.count
        guard room > 0 else { return [] }
        var picked = self.rarest(for: peer, count: room)
        if picked.count < room && self.inEndgame {
            picked += self.duplicates(for: peer, count: room - picked.count)
        }
        guard !picked.isEmpty else { return [] }
        if state.inFlight.isEmpty { self.peers[peer]?.lastProgress = now }
        for piece in picked {
            if self.requesters[piece] != nil { self.contended.insert(piece) }
            self.requesters[piece, default: []].append(peer)
        }
        self.peers[peer]?.inFlight += picked
        for piece in picked { self.peers[peer]?.askedAt[piece] = now }
        return [.request(peer, picked)]
    }

    /// Every missing piece is in flight.
    private var inEndgame: Bool {
        self.requesters.count >= self.layout.pieceCount - self.have.setCount
    }

    /// Up to `count` pieces `peer` has that nobody is fetching, fewest holders first, in the tie-break order.
    private func rarest(for peer: PeerID, count: Int) -> [Int] {
        guard let has = self.peers[peer]?.has else { return [] }
        // The best `count` so far, by availability, then by position in `order` (insertion keeps it stable).
        var best: [(piece: Int, availability: Int)] = []
        for piece in self.order {
            guard has[piece], !self.have[piece], self.requesters[piece] == nil,
                self.avoided[piece]?.contains(peer) != true
            else { continue }
            let availability = self.availability[piece]
            if best.count == count, let worst = best.last, worst.availability <= availability { continue }
            let at = best.firstIndex { $0.availability > availability } ?? best.count
            best.insert((piece, availability), at: at)
            if best.count > count { best.removeLast() }
            // Nothing is rarer than a piece only this peer has.
            if best.count == count, best.last?.availability == 1 { break }
        }
        return best.map(\.piece)
    }

    /// Up to `count` pieces in flight elsewhere that `peer` has, fewest requesters first.
    private func duplicates(for peer: PeerID, count: Int) -> [Int] {
        guard let has = self.peers[peer]?.has else { return [] }
        let candidates = self.requesters.filter { piece, askedOf in
            has[piece] && !askedOf.contains(peer) && askedOf.count < self.policy.maxRequestersPerPiece
                && self.avoided[piece]?.contains(peer) != true
        }
        return candidates.sorted { ($0.value.count, $0.key) < ($1.value.count, $1.key) }.prefix(count).map(\.key)
    }
}
