import NIOCore
import Testing
import Wire

@Suite struct PeerProtocolTests {
    static let hello = PeerHello(
        fileID: Array(0..<20), group: "team", user: "bob", proof: Array(0..<32), listenPort: 7000)

    static let requests: [PeerRequest] = [
        .hello(Self.hello),
        .hello(PeerHello(fileID: [], group: "", user: "", proof: [], listenPort: 0)),
        .request(PieceRange(piece: 0, offset: 0, length: 524_288)),
        .request(PieceRange(piece: .max, offset: .max, length: .max)),
        .cancel(PieceRange(piece: 7, offset: 16384, length: 16384)),
    ]

    static let replies: [PeerReply] = [
        .welcome(PeerWelcome(bitfield: [], peers: [])),
        .welcome(PeerWelcome(bitfield: [0xFF, 0x80], peers: [PeerAddress(host: "127.0.0.1", port: 7001)])),
        .have(3),
        .peers([PeerAddress(host: "::1", port: .max), PeerAddress(host: "10.0.0.2", port: 1)]),
        .rejected(PieceRange(piece: 9, offset: 0, length: 10), code: .notFound, message: "no piece 9 here"),
        .error(code: .forbidden, message: "bob is not a member"),
    ]

    private func decodeAll(_ bytes: ByteBuffer, maxFrame: Int = 1024) -> [PeerInbound] {
        var decoder = PeerInboundDecoder(maxFrame: maxFrame, maxLine: 256)
        var buffer = bytes
        var messages: [PeerInbound] = []
        while let message = decoder.next(&buffer) { messages.append(message) }
        return messages
    }

    @Test func requestsRoundTripAfterThePreface() {
        var buffer = ByteBuffer(bytes: PeerPreface.bytes)
        for request in Self.requests { buffer.writePeerRequest(request) }
        #expect(self.decodeAll(buffer) == [.preface] + Self.requests.map { .request($0) })
    }

    /// Every reply, and a piece frame whose data arrives a few bytes at a time, come back whole and in order.
    @Test func repliesAndPieceDataStreamInOrder() throws {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var stream = ByteBuffer(bytes: PeerPreface.bytes)
        for reply in Self.replies { stream.writePeerReply(reply) }
        stream.writePeerReply(.piece(PieceRange(piece: 4, offset: 0, length: UInt32(data.count))))
        stream.writeBytes(data)
        stream.writePeerReply(.have(5))

        var parser = PeerReplyStream(maxFrame: 1024, maxPieceData: 1000)
        var pending = ByteBuffer()
        var replies: [PeerReply] = []
        var received: [UInt8] = []
        var sawPreface = false
        while stream.readableBytes > 0 {
            var chunk = stream.readSlice(length: min(13, stream.readableBytes))!
            pending.writeBuffer(&chunk)
            while let event = try parser.next(&pending) {
                switch event {
                case .preface: sawPreface = true
                case .reply(let reply): replies.append(reply)
                case .data(let bytes, _): received += Array(bytes.readableBytesView)
                }
            }
        }
        #expect(sawPreface)
        #expect(replies == Self.replies + [.piece(PieceRange(piece: 4, offset: 0, length: 1000)), .have(5)])
        #expect(received == data)
        #expect(!parser.isMidFrame)
    }

    @Test func aPieceFrameOverTheLimitIsRefusedBeforeItsData() {
        var stream = ByteBuffer(bytes: PeerPreface.bytes)
        stream.writePeerReply(.piece(PieceRange(piece: 0, offset: 0, length: 1001)))
        var parser = PeerReplyStream(maxFrame: 1024, maxPieceData: 1000)
        #expect(throws: WireError.frameTooLarge(length: 1010, limit: 1009)) {
            while try parser.next(&stream) != nil {}
        }
    }

    @Test func aFourGiBLengthIsRefusedAtOnceAndTheRestDiscarded() {
        var buffer = ByteBuffer(bytes: PeerPreface.bytes)
        buffer.writeInteger(UInt32.max)
        buffer.writeInteger(UInt8(0x02))
        buffer.writePeerRequest(.request(PieceRange(piece: 0, offset: 0, length: 1)))
        let messages = self.decodeAll(buffer)
        #expect(
            messages == [.preface, .invalid(.frameTooLarge(length: UInt64(UInt32.max), limit: 1024), binary: true)])
    }

    @Test func anUnknownKindOrAWrongPrefaceEndsTheBinaryConnection() {
        var unknown = ByteBuffer(bytes: PeerPreface.bytes)
        unknown.writeFrame(kind: 0x7F) { _ in 0 }
        unknown.writePeerRequest(.request(PieceRange(piece: 0, offset: 0, length: 1)))
        #expect(self.decodeAll(unknown) == [.preface, .invalid(.unknownKind(0x7F), binary: true)])

        let wrongVersion = ByteBuffer(bytes: PeerPreface.magic + [9])
        #expect(self.decodeAll(wrongVersion) == [.invalid(.unsupportedVersion(9), binary: true)])
        let tracker = ByteBuffer(bytes: Preface.bytes)
        #expect(self.decodeAll(tracker) == [.invalid(.badPreface, binary: true)])
    }

    @Test(arguments: [
        ("GET_PIECE|f|abc", "GET_PIECE: index 'abc' is not a piece number (0 to 4294967295)"),
        ("GET_PIECE|f|-1", "GET_PIECE: index '-1' is not a piece number (0 to 4294967295)"),
        (
            "GET_PIECE|f|99999999999999999999",
            "GET_PIECE: index '99999999999999999999' is not a piece number (0 to 4294967295)"
        ),
        ("GET_PIECE|f", "GET_PIECE takes 2 fields: GET_PIECE|file|index"),
        ("HELLO|bob|team|xyz", "HELLO: proof 'xyz' is not hex"),
        ("HELLO|bob", "HELLO takes 3 fields: HELLO|user|group|proof"),
    ])
    func badTextLinesGetAClearErrorAndTheConnectionGoesOn(line: String, message: String) {
        let buffer = ByteBuffer(string: line + "\nGET_PIECE|f|3\n")
        #expect(
            self.decodeAll(buffer) == [
                .invalid(.badLine(message), binary: false), .text(.getPiece(file: "f", index: 3)),
            ])
    }

    @Test func textCommandsParse() {
        let proof = Array(repeating: UInt8(0xAB), count: 32)
        let buffer = ByteBuffer(
            string: "HELLO|bob|team|" + String(repeating: "ab", count: 32) + "\r\n\nGET_PIECE|a.bin|0\nNOPE\n")
        #expect(
            self.decodeAll(buffer) == [
                .text(.hello(user: "bob", group: "team", proof: proof)), .text(.getPiece(file: "a.bin", index: 0)),
                .invalid(.unknownCommand("NOPE"), binary: false),
            ])
    }

    @Test func anEndlessTextLineIsRefused() {
        let buffer = ByteBuffer(string: String(repeating: "x", count: 300))
        #expect(self.decodeAll(buffer) == [.invalid(.lineTooLong(limit: 256), binary: false)])
    }
}
