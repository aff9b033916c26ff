import NIOCore
import Testing
import Tracker
import Wire

/// Writes that carry their client's id and request number are applied once; a retry gets the first reply.
@Suite struct TrackerRetryTests {
    static let alice = Self.origin(client: 0xA11CE, request: 1)

    /// Request `request` of client `client`, with a digest standing for its content.
    static func origin(client: UInt64, request: UInt64, content: UInt8 = 1) -> RequestOrigin {
        RequestOrigin(client: client, request: request, digest: [UInt8](repeating: content, count: 16))
    }

    static func signedUp() -> TrackerState {
        var state = TrackerState(pieceSize: 16)
        _ = state.apply(.createUser(user: "alice", password: TrackerHarness.fakeHash("pw")))
        return state
    }

    @Test func aRetriedWriteIsAppliedOnceAndAnsweredWithTheFirstReply() {
        var state = Self.signedUp()
        let write = TrackerOp.identified(Self.alice, .createGroup(group: "team", owner: "alice"))
        #expect(state.apply(write) == .ok)
        let once = state
        #expect(state.apply(write) == .ok, "a retry is answered as the first attempt was")
        #expect(state == once, "and changes nothing")
        // Without its origin, the same op is a new write, and is refused.
        #expect(state.apply(.createGroup(group: "team", owner: "alice")).isError)
        #expect(state.remembered(for: Self.alice) == .reply(.ok))
    }

    @Test func anotherRequestUnderARememberedNumberIsRefusedAndChangesNothing() {
        var state = Self.signedUp()
        _ = state.apply(.createGroup(group: "team", owner: "alice"))
        #expect(state.apply(.identified(Self.alice, .createGroup(group: "mine", owner: "alice"))) == .ok)
        let before = state
        // The same client and number, another request: never the first reply, never applied.
        let other = Self.origin(client: 0xA11CE, request: 1, content: 2)
        guard
            case .error(.invalid, let message) = state.apply(
                .identified(other, .leaveGroup(group: "team", user: "alice")))
        else {
            Issue.record("a different request was answered with the first one's reply")
            return
        }
        #expect(message.contains("already used for a different request"))
        #expect(state == before, "nothing changed, and the first reply is still the one remembered")
        #expect(state.remembered(for: Self.alice) == .reply(.ok))
        guard case .otherRequest = state.remembered(for: other) else {
            Issue.record("the lookup did not tell the requests apart")
            return
        }
    }

    @Test func aRefusalIsRememberedToo() {
        var state = Self.signedUp()
        let write = TrackerOp.identified(Self.alice, .requestJoin(group: "nowhere", user: "alice"))
        let first = state.apply(write)
        #expect(first.isError)
        _ = state.apply(.createGroup(group: "nowhere", owner: "alice"))
        #expect(state.apply(write) == first, "the retry is not applied against the changed state")
    }

    @Test func eachClientKeepsOnlyItsLatestReplies() {
        var state = Self.signedUp()
        for request in 1...17 {
            let group = "g\(request)"
            let origin = Self.origin(client: 7, request: UInt64(request))
            #expect(state.apply(.identified(origin, .createGroup(group: group, owner: "alice"))) == .ok)
        }
        #expect(state.remembered(for: Self.origin(client: 7, request: 1)) == nil, "the 17th forgot the 1st")
        #expect(state.remembered(for: Self.origin(client: 7, request: 2)) == .reply(.ok))
        #expect(state.remembered(for: Self.origin(client: 7, request: 17)) == .reply(.ok))
    }

    @Test func theClientHeardFromLongestAgoIsForgottenFirst() {
        var state = Self.signedUp()
        for client in 0..<4_097 {
            let origin = Self.origin(client: UInt64(client), request: 1)
            _ = state.apply(.identified(origin, .requestJoin(group: "none", user: "alice")))
            if client == 1 {
                // Client 0 is heard from again, so client 1 becomes the stalest.
                _ = state.apply(.identified(Self.origin(client: 0, request: 2), .closeSession(token: "x")))
            }
        }
        #expect(state.remembered(for: Self.origin(client: 1, request: 1)) == nil)
        #expect(state.remembered(for: Self.origin(client: 0, request: 1)) != nil)
        #expect(state.remembered(for: Self.origin(client: 4_096, request: 1)) != nil)
    }

    @Test func theRetryTableSurvivesASnapshotAndFormatOneStillReads() throws {
        var state = Self.signedUp()
        _ = state.apply(.identified(Self.alice, .openSession(user: "alice", token: "tok")))
        _ = state.apply(.identified(Self.origin(client: 9, request: 4), .createGroup(group: "g", owner: "bob")))
        var buffer = ByteBuffer()
        state.encodeSnapshot(into: &buffer)
        var restored = try TrackerState.decodeSnapshot(from: &buffer)
        #expect(restored == state)
        #expect(restored.apply(.identified(Self.alice, .openSession(user: "alice", token: "other"))) == .token("tok"))

        // A format-1 snapshot (issue 2's) has no retries section.
        var old = ByteBuffer()
        Self.signedUp().encodeSnapshot(into: &old)
        old.setInteger(UInt8(1), at: old.readerIndex)
        old.moveWriterIndex(to: old.writerIndex - 12)
        #expect(try TrackerState.decodeSnapshot(from: &old) == Self.signedUp())
    }

    @Test func aFormatTwoSnapshotReadsItsRepliesWithoutDigestsWhichNoRequestMatches() throws {
        var state = Self.signedUp()
        _ = state.apply(.identified(Self.alice, .createGroup(group: "g", owner: "alice")))
        var buffer = ByteBuffer()
        state.encodeSnapshot(into: &buffer)
        // Format 2 is format 3 without each reply's digest: at the end, after the request number, 4 + 16 bytes.
        var bytes = Array(buffer.readableBytesView)
        bytes[0] = 2
        var reply = ByteBuffer()
        reply.writeReplyRecord(.ok)
        let digestEnd = bytes.count - reply.readableBytes
        bytes.removeSubrange((digestEnd - 20)..<digestEnd)
        var old = ByteBuffer(bytes: bytes)
        let restored = try TrackerState.decodeSnapshot(from: &old)
        let undigested = RequestOrigin(client: Self.alice.client, request: Self.alice.request, digest: [])
        #expect(restored.remembered(for: undigested) == .reply(.ok))
        guard case .otherRequest = restored.remembered(for: Self.alice) else {
            Issue.record("a digest matched a reply remembered without one")
            return
        }
    }

    @Test func identifiedOpsRoundTripAndMayNotNest() throws {
        let op = TrackerOp.identified(Self.alice, .leaveGroup(group: "g", user: "alice"))
        var buffer = ByteBuffer()
        TrackerState.encode(op, into: &buffer)
        #expect(try TrackerState.decodeOp(from: &buffer) == op)

        var nested = ByteBuffer()
        TrackerState.encode(.identified(Self.alice, op), into: &nested)
        #expect(throws: TrackerCodecError.self) { try TrackerState.decodeOp(from: &nested) }

        // A hostile nest 100,000 deep, of either identified tag, is refused at its second level, not recursed into.
        for tag: UInt8 in [11, 13] {
            var deep = ByteBuffer()
            for _ in 0..<100_000 {
                deep.writeInteger(UInt8(1))
                deep.writeInteger(tag)
                deep.writeInteger(UInt64(1))
                deep.writeInteger(UInt64(1))
                if tag == 13 { deep.writeInteger(UInt32(0)) }
            }
            #expect(throws: TrackerCodecError.self) { try TrackerState.decodeOp(from: &deep) }
        }

        // An op logged before digests were kept (tag 11) reads with an empty digest.
        var legacy = ByteBuffer()
        legacy.writeInteger(UInt8(1))
        legacy.writeInteger(UInt8(11))
        legacy.writeInteger(UInt64(7))
        legacy.writeInteger(UInt64(3))
        TrackerState.encode(.closeSession(token: "t"), into: &legacy)
        #expect(
            try TrackerState.decodeOp(from: &legacy)
                == .identified(RequestOrigin(client: 7, request: 3, digest: []), .closeSession(token: "t")))
    }

    @Test func stampedOpsRoundTripApplyAsTheirOpAndMayNotNest() throws {
        let identified = TrackerOp.identified(Self.alice, .createGroup(group: "g", owner: "alice"))
        for op in [TrackerOp.stamped(at: .max, identified), .stamped(at: 0, .closeSession(token: "t"))] {
            var buffer = ByteBuffer()
            TrackerState.encode(op, into: &buffer)
            #expect(try TrackerState.decodeOp(from: &buffer) == op)
        }
        var stamped = Self.signedUp()
        var plain = Self.signedUp()
        #expect(stamped.apply(.stamped(at: 1_700_000_000_000, identified)) == plain.apply(identified))
        #expect(stamped == plain, "the time changes nothing in the state")
        #expect(TrackerOp.stamped(at: 7, identified).proposedAt == 7 && identified.proposedAt == nil)

        for nested in [
            TrackerOp.stamped(at: 1, .stamped(at: 2, .closeSession(token: "t"))),
            .identified(Self.alice, .stamped(at: 1, .closeSession(token: "t"))),
        ] {
            var buffer = ByteBuffer()
            TrackerState.encode(nested, into: &buffer)
            #expect(throws: TrackerCodecError.self) { try TrackerState.decodeOp(from: &buffer) }
        }

        // Wrappers alternating 100,000 deep are refused by the third level, not recursed into.
        var deep = ByteBuffer()
        for level in 0..<100_000 {
            deep.writeInteger(UInt8(1))
            if level.isMultiple(of: 2) {
                deep.writeInteger(UInt8(12))
                deep.writeInteger(UInt64(1))
            } else {
                deep.writeInteger(UInt8(11))
                deep.writeInteger(UInt64(1))
                deep.writeInteger(UInt64(1))
            }
        }
        #expect(throws: TrackerCodecError.self) { try TrackerState.decodeOp(from: &deep) }
    }

    @Test func aSnapshotWhoseClientsTieOrAreEmptyIsRefused() throws {
        var state = Self.signedUp()
        _ = state.apply(.identified(Self.origin(client: 1, request: 1), .closeSession(token: "x")))
        _ = state.apply(.identified(Self.origin(client: 2, request: 1), .closeSession(token: "y")))
        var buffer = ByteBuffer()
        state.encodeSnapshot(into: &buffer)
        var bytes = Array(buffer.readableBytesView)
        // The retries section ends the snapshot: clock, count, then client 1 (id, lastHeard 1, ...), client 2.
        let secondLastHeard = bytes.count - Self.clientTail(state, client: 2) + 8
        bytes[secondLastHeard + 7] = 1  // client 2 heard at 1 too
        var tied = ByteBuffer(bytes: bytes)
        #expect(throws: TrackerCodecError.self) { try TrackerState.decodeSnapshot(from: &tied) }
    }

    /// The bytes client `client`'s entry takes at the end of `state`'s snapshot.
    static func clientTail(_ state: TrackerState, client: UInt64) -> Int {
        var reply = ByteBuffer()
        guard case .reply(let remembered) = state.remembered(for: Self.origin(client: client, request: 1)) else {
            return 0
        }
        reply.writeReplyRecord(remembered)
        return 8 + 8 + 4 + 8 + 4 + 16 + reply.readableBytes
    }
}
