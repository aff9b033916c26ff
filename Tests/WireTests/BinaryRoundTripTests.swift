import NIOCore
import NIOTestUtils
import Testing
import Wire

/// Every message encodes to a frame and decodes back unchanged.
@Suite struct BinaryRoundTripTests {
    @Test(arguments: Samples.requests.indices)
    func requestRoundTrips(index: Int) throws {
        let frame = RequestFrame(requestID: Samples.requestID(index), request: Samples.requests[index])
        var buffer = ByteBuffer()
        let written = buffer.writeRequestFrame(frame)
        #expect(written == buffer.readableBytes)
        var decoder = RequestFrameDecoder(maxFrame: 1 << 20)
        #expect(try decoder.decode(buffer: &buffer) == frame)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: Samples.replies.indices)
    func replyRoundTrips(index: Int) throws {
        let frame = ReplyFrame(requestID: Samples.requestID(index), reply: Samples.replies[index])
        var buffer = ByteBuffer(bytes: Preface.bytes)
        let written = buffer.writeReplyFrame(frame)
        #expect(written == buffer.readableBytes - Preface.bytes.count)
        var decoder = ReplyFrameDecoder(maxFrame: 1 << 20)
        #expect(try decoder.decode(buffer: &buffer) == frame)
        #expect(buffer.readableBytes == 0)
    }

    @Test func largeListsRoundTrip() throws {
        let users = Reply.users((0..<50_000).map { "user \($0) 日本" })
        let upload = Request.uploadFile(
            group: "g", name: "big", size: .max, pieceHashes: Samples.hashes(100_000), port: 9)
        var buffer = ByteBuffer(bytes: Preface.bytes)
        buffer.writeReplyFrame(ReplyFrame(requestID: 7, reply: users))
        var replies = ReplyFrameDecoder(maxFrame: 1 << 24)
        #expect(try replies.decode(buffer: &buffer) == ReplyFrame(requestID: 7, reply: users))

        buffer.writeRequestFrame(RequestFrame(requestID: 8, request: upload))
        var requests = RequestFrameDecoder(maxFrame: 1 << 24)
        #expect(try requests.decode(buffer: &buffer) == RequestFrame(requestID: 8, request: upload))
    }

    @Test func kindBytesAreDistinctAndInTheirRanges() throws {
        var requestKinds: Set<UInt8> = []
        for request in Samples.requests {
            let kind = try #require(
                Samples.frame(RequestFrame(requestID: 0, request: request)).getInteger(at: 4, as: UInt8.self))
            #expect((0x01..<0x80).contains(kind))
            requestKinds.insert(kind)
        }
        #expect(requestKinds == Set(0x01...0x17))
        var replyKinds: Set<UInt8> = []
        for reply in Samples.replies {
            let kind = try #require(
                Samples.frame(ReplyFrame(requestID: 0, reply: reply)).getInteger(at: 4, as: UInt8.self))
            replyKinds.insert(kind)
        }
        #expect(replyKinds == Set(0x80...0x8B))
    }

    @Test func frameLayoutMatchesTheSpecification() {
        let bytes = Array(
            Samples.frame(RequestFrame(requestID: 0x0A0B_0C0D, request: .createGroup(group: "é"))).readableBytesView)
        // length 1 + 4 + 4 + 2 = 11, kind 0x06, request id, string length 2, "é" in UTF-8.
        #expect(bytes == [0, 0, 0, 11, 0x06, 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 2, 0xC3, 0xA9])
        let reply = Array(Samples.frame(ReplyFrame(requestID: 1, reply: .ok)).readableBytesView)
        #expect(reply == [0, 0, 0, 5, 0x80, 0, 0, 0, 1])
        // The example in docs/PROTOCOL.md.
        let login = Samples.frame(RequestFrame(requestID: 1, request: .login(user: "alice", password: "s3cret")))
        #expect(
            Array(login.readableBytesView)
                == [0, 0, 0, 0x18, 0x02, 0, 0, 0, 1, 0, 0, 0, 5] + Array("alice".utf8) + [0, 0, 0, 6]
                + Array("s3cret".utf8))
    }

    @Test func encodersWriteWhatTheDecodersRead() throws {
        var out = ByteBuffer()
        let request = RequestFrame(requestID: 3, request: .login(user: "a", password: "b"))
        try RequestFrameEncoder().encode(data: request, out: &out)
        #expect(out == Samples.frame(request))

        out.clear()
        let encoder = ClientReplyEncoder(maxFrame: 1 << 20)
        try encoder.encode(data: .preface, out: &out)
        try encoder.encode(data: .reply(.binary, requestID: 9, .token("t")), out: &out)
        var decoder = ReplyFrameDecoder(maxFrame: 1 << 20)
        #expect(try decoder.decode(buffer: &out) == ReplyFrame(requestID: 9, reply: .token("t")))

        out.clear()
        try encoder.encode(
            data: .reply(.text, requestID: 9, .groups([GroupEntry(name: "g", membership: .owner)])), out: &out)
        #expect(out == ByteBuffer(string: "OK|g:owner\n"))
    }

    @Test func aReplyOverMaxFrameBecomesATooLargeError() throws {
        let encoder = ClientReplyEncoder(maxFrame: 64)
        let groups = (0..<20).map { GroupEntry(name: "group-\($0)", membership: .member) }
        var out = ByteBuffer()
        try encoder.encode(data: .preface, out: &out)
        try encoder.encode(data: .reply(.binary, requestID: 4, .groups(groups)), out: &out)
        var decoder = ReplyFrameDecoder(maxFrame: 1 << 20)
        let frame = try #require(try decoder.decode(buffer: &out))
        #expect(frame.requestID == 4)
        guard case .error(.tooLarge, let message) = frame.reply else {
            Issue.record("expected a too_large error, got \(frame.reply)")
            return
        }
        #expect(message.contains("max_frame (64)"))
        #expect(out.readableBytes == 0)

        try encoder.encode(data: .reply(.binary, requestID: 5, .groups(Array(groups.prefix(1)))), out: &out)
        #expect(try decoder.decode(buffer: &out) == ReplyFrame(requestID: 5, reply: .groups(Array(groups.prefix(1)))))
    }
}
