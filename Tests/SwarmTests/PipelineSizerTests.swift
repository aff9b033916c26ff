import Swarm
import Testing

@Suite struct PipelineSizerTests {
    @Test func untilMeasuredTheStartDepthHolds() {
        var sizer = PipelineSizer()
        #expect(sizer.depth(start: 2, maximum: 16) == 2)
        // One delivery gives a wait but no time per piece yet.
        sizer.delivered(askedAt: .zero, now: .milliseconds(30))
        #expect(sizer.depth(start: 2, maximum: 16) == 2)
        #expect(sizer.shortestWait == .milliseconds(30) && sizer.pieceInterval == nil)
    }

    @Test func aGapAfterAnIdlePeerIsNotItsTimePerPiece() {
        var sizer = PipelineSizer()
        sizer.delivered(askedAt: .zero, now: .milliseconds(30))
        // Asked after the last delivery: the peer had nothing to send meanwhile, so the gap holds a round trip.
        sizer.delivered(askedAt: .milliseconds(30), now: .milliseconds(60))
        #expect(sizer.pieceInterval == nil)
    }

    @Test func theDepthCoversTwiceTheRoundTripBehindThePieceInTransfer() {
        var sizer = PipelineSizer()
        // 50 ms from asking to the piece, 10 ms of it the piece's own transfer: a 40 ms round trip, and twice
        // that is 8 pieces.
        sizer.delivered(askedAt: .zero, now: .milliseconds(50))
        sizer.delivered(askedAt: .zero, now: .milliseconds(60))
        #expect(sizer.pieceInterval == .milliseconds(10))
        #expect(sizer.depth(start: 2, maximum: 16) == 9)
        #expect(sizer.depth(start: 2, maximum: 4) == 4, "never past the maximum")
    }

    @Test func aFastPeerNearbyIsKeptBusyForAtLeastTheMinimumAhead() {
        var sizer = PipelineSizer()
        // Half a millisecond a piece (loopback), a round trip of as much: 5 ms ahead is 10 pieces.
        sizer.delivered(askedAt: .zero, now: .milliseconds(1))
        sizer.delivered(askedAt: .zero, now: .microseconds(1_500))
        #expect(sizer.depth(start: 2, maximum: 16) == 11)
    }

    @Test func aRoundTripSmallBesideAPieceNeedsOnePieceAtATime() {
        var sizer = PipelineSizer()
        // 204 ms for a 200 ms piece (a seeder's share of its link): twice the round trip and the minimum ahead
        // are under 5% of a piece.
        sizer.delivered(askedAt: .zero, now: .milliseconds(204))
        sizer.delivered(askedAt: .zero, now: .milliseconds(404))
        #expect(sizer.depth(start: 2, maximum: 16) == 1)
        // 212 ms: waiting for the next request would idle the link 12% of a piece, so two.
        var slower = PipelineSizer()
        slower.delivered(askedAt: .zero, now: .milliseconds(212))
        slower.delivered(askedAt: .zero, now: .milliseconds(412))
        #expect(slower.depth(start: 2, maximum: 16) == 2)
    }

    @Test func queueingSeenLaterDoesNotDeepenThePipeline() {
        var sizer = PipelineSizer()
        sizer.delivered(askedAt: .zero, now: .milliseconds(200))
        sizer.delivered(askedAt: .zero, now: .milliseconds(400))
        #expect(sizer.depth(start: 2, maximum: 16) == 1)
        // Later pieces wait behind others (the peer is shared): their waits are long, the shortest stays.
        var now = Duration.milliseconds(400)
        for _ in 0..<50 {
            sizer.delivered(askedAt: now - .milliseconds(100), now: now + .milliseconds(200))
            now += .milliseconds(200)
        }
        #expect(sizer.shortestWait == .milliseconds(200))
        #expect(sizer.depth(start: 2, maximum: 16) == 1)
    }

    @Test func theTimePerPieceFollowsThePeerAsItSlows() {
        var sizer = PipelineSizer()
        var now = Duration.zero
        sizer.delivered(askedAt: .zero, now: .milliseconds(100))
        now = .milliseconds(100)
        for _ in 0..<40 {
            sizer.delivered(askedAt: .zero, now: now + .milliseconds(1))
            now += .milliseconds(1)
        }
        #expect(sizer.depth(start: 2, maximum: 64) == 64, "a 100 ms wait at 1 ms a piece: capped")
        for _ in 0..<40 {
            sizer.delivered(askedAt: .zero, now: now + .milliseconds(50))
            now += .milliseconds(50)
        }
        #expect(sizer.depth(start: 2, maximum: 64) <= 4, "the same wait at about 50 ms a piece")
    }

    @Test func atOnePieceAtATimeAProbeMeasuresAPeerThatGotFaster() {
        var sizer = PipelineSizer()
        sizer.delivered(askedAt: .zero, now: .milliseconds(200))
        sizer.delivered(askedAt: .zero, now: .milliseconds(400))
        #expect(sizer.depth(start: 2, maximum: 16) == 1, "200 ms a piece, no round trip to speak of")
        // One at a time, each asked as the last came: nothing measures the time per piece, until a probe.
        var now = Duration.milliseconds(400)
        for _ in 0..<(PipelineSizer.probeEvery - 1) {
            sizer.delivered(askedAt: now, now: now + .milliseconds(30))
            now += .milliseconds(30)
        }
        #expect(sizer.depth(start: 2, maximum: 16) == 1)
        sizer.delivered(askedAt: now, now: now + .milliseconds(30))
        now += .milliseconds(30)
        #expect(sizer.depth(start: 2, maximum: 16) == 2, "a probe: a second piece behind the next")
        // The peer now takes 10 ms a piece after a 20 ms round trip: the probe's second piece shows it.
        sizer.delivered(askedAt: now, now: now + .milliseconds(30))
        sizer.delivered(askedAt: now, now: now + .milliseconds(40))
        #expect(sizer.depth(start: 2, maximum: 16) == 5, "twice a 20 ms round trip is four 10 ms pieces behind one")
    }
}
