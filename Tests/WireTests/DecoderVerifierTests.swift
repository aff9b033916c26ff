import NIOCore
import NIOTestUtils
import Testing
import Wire

/// Every decoder through NIOTestUtils' verifier: inputs whole, byte by byte with the reader index away from 0, and
/// many at once in shuffled order, then a clean finish.
///
/// The verifier replays its inputs many times on one decoder, so decoders that expect a preface are handed to it
/// having read one; ``ClientRequestDecoderTests`` feeds the preface and frames together in every split.
@Suite struct DecoderVerifierTests {
    private static let maxFrame = 1 << 20

    @Test func requestFrameDecoder() throws {
        let pairs = Samples.requests.enumerated().map { index, request in
            let frame = RequestFrame(requestID: Samples.requestID(index), request: request)
            return (Samples.frame(frame), [frame])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs, decoderFactory: { RequestFrameDecoder(maxFrame: Self.maxFrame) })
    }

    @Test func replyFrameDecoderAfterPreface() throws {
        var primed = ReplyFrameDecoder(maxFrame: Self.maxFrame)
        var preface = ByteBuffer(bytes: Preface.bytes)
        #expect(try primed.decode(buffer: &preface) == nil)
        #expect(preface.readableBytes == 0)
        let pairs = Samples.replies.enumerated().map { index, reply in
            let frame = ReplyFrame(requestID: Samples.requestID(index), reply: reply)
            return (Samples.frame(frame), [frame])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs, decoderFactory: { primed })
    }

    @Test func clientRequestDecoderBinaryAfterPreface() throws {
        let primed = try ClientDecoderDriver.binaryDecoder(maxFrame: Self.maxFrame, maxLine: 1024)
        var pairs = Samples.requests.enumerated().map { index, request in
            let id = Samples.requestID(index)
            return (
                Samples.frame(RequestFrame(requestID: id, request: request)),
                [ClientInbound.request(.binary, requestID: id, request)]
            )
        }
        // Bad frames are reported and skipped; decoding goes on.
        pairs.append(
            (
                Samples.rawFrame(kind: 0x7F, payload: [0, 0, 0, 42]),
                [.invalid(.binary, requestID: 42, .unknownKind(0x7F))]
            ))
        pairs.append(
            (
                Samples.rawFrame(kind: 0x06, payload: [0, 0, 0, 43, 0, 0, 0, 9]),
                [
                    .invalid(
                        .binary, requestID: 43, .malformedPayload("group: length 9 runs past the end (0 bytes left)"))
                ]
            ))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs, decoderFactory: { primed })
    }

    @Test func clientRequestDecoderText() throws {
        var pairs: [(ByteBuffer, [ClientInbound])] = Samples.textRequests.enumerated().map { index, request in
            let ending = index.isMultiple(of: 2) ? "\n" : "\r\n"
            return (ByteBuffer(string: TextAdapter.render(request) + ending), [.request(.text, requestID: 0, request)])
        }
        pairs.append((ByteBuffer(string: "\n"), []))
        pairs.append((ByteBuffer(string: "\r\n"), []))
        pairs.append((ByteBuffer(string: "NOPE|x\n"), [.invalid(.text, requestID: 0, .unknownCommand("NOPE"))]))
        pairs.append(
            (
                ByteBuffer(string: "LOGIN|only\r\n"),
                [.invalid(.text, requestID: 0, .badLine("LOGIN takes 2 fields: LOGIN|user|password"))]
            ))
        pairs.append(
            (
                ByteBuffer(bytes: [0xFF, 0xFE, 0x0A]),
                [.invalid(.text, requestID: 0, .badLine("line is not valid UTF-8"))]
            ))
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs, decoderFactory: { ClientRequestDecoder(maxFrame: Self.maxFrame, maxLine: 8192) })
    }
}

extension DecoderVerifierTests {
    @Test func peerInboundDecoderText() throws {
        let pairs: [(ByteBuffer, [PeerInbound])] = [
            (ByteBuffer(string: "HELLO|bob|team|00ff\n"), [.text(.hello(user: "bob", group: "team", proof: [0, 255]))]),
            (ByteBuffer(string: "GET_PIECE|a.bin|3\r\n"), [.text(.getPiece(file: "a.bin", index: 3))]),
            (ByteBuffer(string: "\n"), []),
            (ByteBuffer(string: "NOPE\n"), [.invalid(.unknownCommand("NOPE"), binary: false)]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs, decoderFactory: { PeerInboundDecoder(maxFrame: 1 << 16, maxLine: 256) })
    }

    @Test func peerInboundDecoderBinaryAfterPreface() throws {
        var primed = PeerInboundDecoder(maxFrame: 1 << 16, maxLine: 256)
        var preface = ByteBuffer(bytes: PeerPreface.bytes)
        #expect(primed.next(&preface) == .preface)
        let pairs = PeerProtocolTests.requests.map { request in
            var frame = ByteBuffer()
            frame.writePeerRequest(request)
            return (frame, [PeerInbound.request(request)])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs, decoderFactory: { primed })
    }
}
