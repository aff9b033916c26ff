import Swarm
import TandemTestKit
import Testing

@Suite struct DownloadCoreTests {
    static let timeout = Duration.seconds(10)

    /// A download of `pieces` one-byte pieces, holding none, asking each peer for `depth` at a time.
    static func core(pieces: Int, depth: Int = 4, seed: UInt64 = 1, have: Bitfield? = nil) -> DownloadCore {
        var random = SeededGenerator(seed: seed)
        return DownloadCore(
            layout: PieceLayout(fileSize: UInt64(pieces), pieceSize: 1),
            have: have ?? Bitfield(count: pieces),
            policy: DownloadPolicy(pipelineDepth: depth, peerTimeout: Self.timeout), random: &random)
    }

    static func bits(_ count: Int, _ present: [Int]) -> Bitfield {
        var field = Bitfield(count: count)
        for index in present { field.insert(index) }
        return field
    }

    static func requested(_ actions: [DownloadAction]) -> [PeerID: [Int]] {
        var result: [PeerID: [Int]] = [:]
        for case .request(let peer, let pieces) in actions { result[peer, default: []] += pieces }
        return result
    }

    @Test func theRarestPiecesAreAskedForFirst() {
        var core = Self.core(pieces: 8, depth: 2)
        // Peers 1 and 2 have pieces 0...5; piece 6 and 7 only peer 3 has... and peer 3 has everything.
        _ = core.peerJoined(1, at: "peer-1", has: Self.bits(8, [0, 1, 2, 3, 4, 5]), now: .zero)
        _ = core.peerJoined(2, at: "peer-2", has: Self.bits(8, [0, 1, 2, 3, 4, 5]), now: .zero)
        let actions = core.peerJoined(3, at: "peer-3", has: Bitfield(count: 8, full: true), now: .zero)
        #expect(Set(Self.requested(actions)[3] ?? []) == [6, 7])
    }

    @Test func equalPiecesComeInARandomOrderThatTheSeedFixes() {
        func firstRequests(seed: UInt64) -> [Int] {
            var core = Self.core(pieces: 64, depth: 8, seed: seed)
            return Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 64, full: true), now: .zero))[1]
                ?? []
        }
        #expect(firstRequests(seed: 7) == firstRequests(seed: 7))
        #expect(firstRequests(seed: 7) != firstRequests(seed: 8))
        #expect(firstRequests(seed: 7) != Array(0..<8))
    }

    @Test func aPipelineIsToppedUpAsEachPieceIsDelivered() {
        var core = Self.core(pieces: 32, depth: 4)
        let first = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 32, full: true), now: .zero))[
            1]!
        #expect(first.count == 4)
        let refill = Self.requested(core.pieceVerified(first[0], from: 1, now: .zero))[1]!
        #expect(refill.count == 1)
        #expect(core.inFlight(of: 1).count == 4)
    }

    /// Pieces of `peer` delivered one after another, each `interval` apart, the next asked as each comes: the
    /// deliveries of a peer whose link is the limit.
    static func deliver(
        _ count: Int, of peer: PeerID, in core: inout DownloadCore, from start: Duration, every interval: Duration
    ) -> Duration {
        var now = start
        for _ in 0..<count {
            now += interval
            guard let piece = core.inFlight(of: peer).first else { break }
            _ = core.pieceVerified(piece, from: peer, now: now)
        }
        return now
    }

    /// A download of 1,000 pieces whose pipelines start 2 deep and grow to `maximum`, with peer 1 joined holding
    /// every piece.
    static func sizedCore(maximum: Int) -> DownloadCore {
        var random = SeededGenerator(seed: 3)
        var core = DownloadCore(
            layout: PieceLayout(fileSize: 1000, pieceSize: 1), have: Bitfield(count: 1000),
            policy: DownloadPolicy(pipelineDepth: maximum, startDepth: 2, peerTimeout: Self.timeout), random: &random)
        _ = core.peerJoined(1, at: "peer-1", has: Bitfield(count: 1000, full: true), now: .zero)
        return core
    }

    @Test func thePipelineStartsShortAndGrowsToCoverTheRoundTrip() {
        var core = Self.sizedCore(maximum: 32)
        #expect(core.inFlight(of: 1).count == 2, "two pieces before anything is measured")
        // A 20 ms round trip, 2 ms per piece: the first piece comes after 22 ms, the second 2 ms later.
        _ = core.pieceVerified(core.inFlight(of: 1)[0], from: 1, now: .milliseconds(22))
        _ = core.pieceVerified(core.inFlight(of: 1)[0], from: 1, now: .milliseconds(24))
        // 22 ms of wait, 2 of them the piece: twice a 20 ms round trip is 20 pieces behind the one in transfer.
        #expect(core.pipelineDepth(of: 1) == 21)
        #expect(core.inFlight(of: 1).count == 21)
    }

    @Test func aPeerWhoseLinkIsTheLimitIsAskedOnePieceAtATime() {
        var core = Self.sizedCore(maximum: 16)
        // A round trip far shorter than a piece's transfer (a busy seeder's share of a link): 200 ms a piece.
        let now = Self.deliver(40, of: 1, in: &core, from: .zero, every: .milliseconds(200))
        #expect(core.pipelineDepth(of: 1) == 1, "at \(now)")
        #expect(core.inFlight(of: 1).count == 1)
    }

    @Test func theEndgameAsksAnIdlePeerForPiecesInFlightAndCancelsTheLoser() {
        var core = Self.core(pieces: 2, depth: 4)
        let first = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 2, full: true), now: .zero))
        #expect(Set(first[1]!) == [0, 1])
        // Every missing piece is in flight: a second peer is asked for the same ones.
        let second = Self.requested(core.peerJoined(2, at: "peer-2", has: Bitfield(count: 2, full: true), now: .zero))
        #expect(Set(second[2]!) == [0, 1])
        #expect(core.isContended(0) && core.isContended(1))
        let won = core.pieceVerified(0, from: 2, now: .zero)
        #expect(won == [.verified(0), .cancel(1, [0])])
        #expect(!core.accepts(0, from: 1), "bytes still arriving from the loser are dropped")
        #expect(core.pieceVerified(1, from: 1, now: .zero) == [.verified(1), .cancel(2, [1]), .completed])
    }

    @Test func noEndgameWhileSomePieceIsNotInFlight() {
        var core = Self.core(pieces: 3, depth: 4)
        _ = core.peerJoined(1, at: "peer-1", has: Self.bits(3, [0, 1]), now: .zero)
        // Peer 2 has only what peer 1 is fetching, but piece 2 is asked of nobody (nobody has it).
        #expect(Self.requested(core.peerJoined(2, at: "peer-2", has: Self.bits(3, [0, 1]), now: .zero)).isEmpty)
    }

    @Test func aBadPieceIsFetchedAgainFromAnotherPeerAndTheSecondGetsThePeerDropped() {
        var core = Self.core(pieces: 3, depth: 1)
        let bad = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 3, full: true), now: .zero))[1]![
            0]
        let fine = Self.requested(core.peerJoined(2, at: "peer-2", has: Bitfield(count: 3, full: true), now: .zero))[
            2]![0]
        let third = Set(0..<3).subtracting([bad, fine]).first!
        // Peer 1 is asked for the piece nobody has in flight, never again for the one it spoiled.
        #expect(Self.requested(core.pieceFailed(bad, from: 1, now: .zero)) == [1: [third]])
        // Peer 2 takes the spoiled piece once it is free.
        #expect(Self.requested(core.pieceVerified(fine, from: 2, now: .zero)) == [2: [bad]])
        let secondFailure = core.pieceFailed(third, from: 1, now: .zero)
        #expect(secondFailure.first == .drop(1, .badPieces(2)))
        #expect(core.peerIDs == [2])
        // Banned by where it is: a new connection from there is not taken.
        #expect(core.isBanned("peer-1") && !core.isBanned("peer-2"))
        #expect(core.peerJoined(3, at: "peer-1", has: Bitfield(count: 3, full: true), now: .zero) == [])
        #expect(core.peerIDs == [2])
    }

    @Test func aPeerThatLacksAPieceIsNotBlamed() {
        var core = Self.core(pieces: 2, depth: 1)
        let asked = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 2, full: true), now: .zero))[
            1]!
        _ = core.pieceFailed(asked[0], from: 1, blame: false, now: .zero)
        let again = core.pieceFailed(core.inFlight(of: 1)[0], from: 1, blame: false, now: .zero)
        #expect(!again.contains { if case .drop = $0 { true } else { false } })
        #expect(again == [], "both pieces are avoided for peer 1 and nobody else has them")
    }

    @Test func aSilentPeerIsDroppedAfterTheTimeoutAndItsPiecesGoToAnother() {
        var core = Self.core(pieces: 4, depth: 2)
        let silent = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 4, full: true), now: .zero))[
            1]!
        let busy = Self.requested(core.peerJoined(2, at: "peer-2", has: Bitfield(count: 4, full: true), now: .zero))[2]!
        core.progress(2, now: .seconds(9))
        #expect(core.tick(now: .seconds(9)) == [])
        #expect(core.tick(now: .seconds(10)) == [.drop(1, .timedOut)])
        #expect(core.peerIDs == [2])
        let refills =
            core.pieceVerified(busy[0], from: 2, now: .seconds(10))
            + core.pieceVerified(busy[1], from: 2, now: .seconds(10))
        #expect(Set(Self.requested(refills)[2]!) == Set(silent))
    }

    @Test func anIdlePeerIsNotTimedOut() {
        var core = Self.core(pieces: 1, depth: 2)
        _ = core.peerJoined(1, at: "peer-1", has: Bitfield(count: 1), now: .zero)
        #expect(core.tick(now: .seconds(60)) == [])
        // It gets the piece later: the timeout counts from then.
        #expect(Self.requested(core.peerHas(1, piece: 0, now: .seconds(60)))[1] == [0])
        #expect(core.tick(now: .seconds(69)) == [])
        #expect(core.tick(now: .seconds(70)).first == .drop(1, .timedOut))
    }

    @Test func whenTheLastPeerLeavesTheDownloadSaysSoAndWaits() {
        var core = Self.core(pieces: 2)
        _ = core.peerJoined(1, at: "peer-1", has: Bitfield(count: 2, full: true), now: .zero)
        #expect(core.peerLeft(1, now: .zero) == [.noPeers])
        #expect(core.inFlight(of: 1).isEmpty)
        #expect(core.state == .waiting)
        _ = core.peerJoined(2, at: "peer-2", has: Bitfield(count: 2, full: true), now: .zero)
        #expect(core.state == .downloading)
    }

    @Test func theLifecycleEndsCompleteOrFailedAndNothingHappensAfter() {
        var core = Self.core(pieces: 1)
        #expect(core.state == .downloading)
        core.noSeedersFound()
        #expect(core.state == .waiting)
        let asked = Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 1, full: true), now: .zero))
        #expect(core.state == .downloading && asked == [1: [0]])
        #expect(core.pieceVerified(0, from: 1, now: .zero) == [.verified(0), .completed])
        #expect(core.state == .downloading, "complete only once the file is in place")
        core.finished()
        core.failed()
        #expect(core.state == .complete && core.state.hasEnded)

        var failing = Self.core(pieces: 2)
        failing.failed()
        #expect(failing.state == .failed && failing.state.hasEnded)
        #expect(failing.peerJoined(1, at: "peer-1", has: Bitfield(count: 2, full: true), now: .zero) == [])
        let asks = failing.shouldAskForSeeders(now: .zero)
        #expect(!asks)
    }

    @Test func aPausedDownloadAsksNobodyForAnything() {
        var core = Self.core(pieces: 8, depth: 2)
        _ = core.peerJoined(1, at: "peer-1", has: Bitfield(count: 8, full: true), now: .zero)
        core.pause()
        #expect(core.state == .paused && !core.state.isRunning && !core.state.hasEnded)
        // Its connections close: nothing is asked of anyone, and it does not look for seeders.
        let left = core.peerLeft(1, now: .zero)
        let joined = core.peerJoined(2, at: "peer-2", has: Bitfield(count: 8, full: true), now: .zero)
        let asks = core.shouldAskForSeeders(now: .seconds(60))
        #expect(left.isEmpty && joined.isEmpty && !asks)
        #expect(core.state == .paused, "leaving peers do not make it wait")
        var ended = Self.core(pieces: 1)
        ended.failed()
        ended.pause()
        #expect(ended.state == .failed, "an ended download is not paused")
    }

    @Test func theTrackerIsAskedAtOnceThenOftenWhileWaitingAndRarelyWhileDownloading() {
        var core = Self.core(pieces: 4)
        func seconds(_ at: Int) -> Bool { core.shouldAskForSeeders(now: .seconds(at)) }
        #expect(seconds(0))
        #expect(!seconds(1) && !seconds(15))
        #expect(seconds(16), "every 8 polls while downloading")
        core.noSeedersFound()
        #expect(!seconds(17) && seconds(18) && !seconds(19) && seconds(20), "every poll while waiting")
    }

    @Test func aResumedDownloadAsksOnlyForWhatItLacks() {
        var core = Self.core(pieces: 6, depth: 8, have: Self.bits(6, [0, 2, 4]))
        #expect(
            Set(Self.requested(core.peerJoined(1, at: "peer-1", has: Bitfield(count: 6, full: true), now: .zero))[1]!)
                == [1, 3, 5])
    }

    @Test func aPieceCorruptedOnDiskIsAskedForAgain() {
        var core = Self.core(pieces: 1, depth: 2)
        _ = core.peerJoined(1, at: "peer-1", has: Bitfield(count: 1, full: true), now: .zero)
        _ = core.peerJoined(2, at: "peer-2", has: Bitfield(count: 1, full: true), now: .zero)
        let actions = core.pieceCorrupted(0, now: .zero)
        #expect(actions.contains(.cancel(1, [0])) && actions.contains(.cancel(2, [0])))
        #expect(Self.requested(actions).values.contains { $0 == [0] })
    }

    /// Random schedules: peers with random pieces join, deliver, fail, go silent and leave; whatever happens,
    /// a verified piece was asked of the peer that delivered it, pipelines stay within their depth, and once a
    /// peer with everything stays the download completes.
    @Test(arguments: 0..<200)
    func randomSchedulesComplete(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let pieces = Int.random(in: 1...40, using: &random)
        var core = Self.core(pieces: pieces, depth: Int.random(in: 1...6, using: &random), seed: seed)
        var now = Duration.zero
        var nextPeer = 1
        var completed = false
        for step in 0..<2000 where !completed {
            now += .milliseconds(Int.random(in: 0...3000, using: &random))
            var actions: [DownloadAction] = []
            let peers = core.peerIDs
            switch Int.random(in: 0..<10, using: &random) {
            case 0 where peers.count < 4 || step > 1500:
                let full = step > 1500 || Bool.random(using: &random)
                let has =
                    full
                    ? Bitfield(count: pieces, full: true)
                    : Self.bits(pieces, (0..<pieces).filter { _ in Bool.random(using: &random) })
                actions = core.peerJoined(nextPeer, at: "peer-\(nextPeer)", has: has, now: now)
                nextPeer += 1
            case 1 where !peers.isEmpty && step < 1500:
                actions = core.peerLeft(peers.randomElement(using: &random)!, now: now)
            case 2:
                actions = core.tick(now: now)
            default:
                guard let peer = peers.randomElement(using: &random), let piece = core.inFlight(of: peer).first
                else { continue }
                core.progress(peer, now: now)
                let good = step > 1500 || Int.random(in: 0..<5, using: &random) > 0
                actions =
                    good
                    ? core.pieceVerified(piece, from: peer, now: now) : core.pieceFailed(piece, from: peer, now: now)
            }
            for peer in core.peerIDs { #expect(core.inFlight(of: peer).count <= core.policy.pipelineDepth) }
            for case .request(let peer, let asked) in actions {
                #expect(asked.allSatisfy { !core.have[$0] && core.accepts($0, from: peer) }, "step \(step): \(actions)")
            }
            completed = actions.contains(.completed)
        }
        #expect(completed, "a peer with every piece joined and nothing failed after step 1500")
        #expect(core.isComplete)
    }
}

@Suite struct RateMeterTests {
    @Test func theRateIsOverTheWindowAndForgetsOlderSamples() {
        var meter = RateMeter(window: .seconds(5))
        #expect(meter.bytesPerSecond == 0)
        meter.record(0, at: .zero)
        #expect(meter.bytesPerSecond == 0, "one sample is no rate")
        meter.record(1_000, at: .seconds(1))
        meter.record(3_000, at: .seconds(2))
        #expect(meter.bytesPerSecond == 1_500)
        meter.record(3_000, at: .milliseconds(7_500))
        #expect(meter.bytesPerSecond == 0, "nothing arrived within the window")
    }
}
