import Swarm
import Testing

/// What a download dials, and when, whatever serving peers say.
@Suite struct PeerCandidatesTests {
    typealias Candidates = PeerCandidates<Int>

    static let policy = PeerExchangePolicy(
        perSource: 3, maxExchanged: 5, maxDialing: 2, attempts: 2, backoff: .seconds(1), maxBackoff: .seconds(4))

    @Test func eachSourceAndTheDownloadTakeOnlySoMany() {
        var candidates = Candidates(policy: Self.policy)
        #expect(candidates.exchanged([1, 2, 3, 4, 5], from: 1) == 2, "3 from one source")
        #expect(candidates.exchanged([10, 11, 12], from: 2) == 1, "5 in all")
        #expect(candidates.count == 5)
        #expect(candidates.exchanged([1, 2], from: 3) == 0, "a known address costs nothing")
        candidates.listedByTracker([100, 101])
        #expect(candidates.count == 7, "the tracker's are never dropped")
    }

    @Test func confirmedAddressesAreDialedFirstAndOnlyAFewAtOnce() {
        var candidates = Candidates(policy: Self.policy)
        candidates.exchanged([1, 2, 3], from: 1)
        candidates.exchanged([3], from: 2)
        candidates.listedByTracker([9])
        #expect(candidates.nextToDial(now: .zero) == [3, 9], "two sources or the tracker vouch first")
        #expect(candidates.nextToDial(now: .zero) == [], "two dials at once")
        candidates.connected(9)
        candidates.failed(3, now: .zero)
        #expect(candidates.nextToDial(now: .zero) == [1, 2], "a failed one waits its back-off; links do not count")
        #expect(candidates.nextToDial(now: .seconds(1)) == [], "two dials in flight already")
        candidates.failed(1, now: .seconds(1))
        #expect(candidates.nextToDial(now: .seconds(1)) == [3], "back-off over, it is due again")
    }

    @Test func exchangedAddressesAreForgottenAfterTheirAttemptsAndTheTrackersBackOff() {
        var candidates = Candidates(policy: Self.policy)
        candidates.exchanged([1], from: 1)
        candidates.listedByTracker([9])
        for attempt in 1...6 {
            let now = Duration.seconds(10 * attempt)
            let dialed = candidates.nextToDial(now: now)
            if attempt <= 2 { #expect(dialed.contains(1)) } else { #expect(!dialed.contains(1)) }
            #expect(dialed.contains(9), "the tracker's is tried again and again")
            for address in dialed { candidates.failed(address, now: now) }
        }
        #expect(!candidates.isKnown(1) && candidates.isKnown(9))
        // The back-off doubles up to its limit.
        candidates.failed(9, now: .seconds(100))
        #expect(candidates.nextToDial(now: .seconds(103)) == [])
        #expect(candidates.nextToDial(now: .seconds(104)) == [9])
    }

    @Test func aConnectionThatEndsCountsAsAnAttempt() {
        var candidates = Candidates(policy: Self.policy)
        candidates.exchanged([1], from: 1)
        for round in 0..<2 {
            #expect(candidates.nextToDial(now: .seconds(10 * round)) == [1])
            candidates.connected(1)
            candidates.failed(1, now: .seconds(10 * round))
        }
        #expect(!candidates.isKnown(1), "a peer that accepts and drops is not dialed forever")
    }
}
