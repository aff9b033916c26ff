import NIOCore
import Testing
import Wire

/// Malformed binary input gets the exact typed error, from the frame decoders and from the tracker's decoder.
@Suite struct MalformedFrameTests {
    private static let maxFrame = 1024

    /// What `RequestFrameDecoder` throws for `bytes`, or nil if it throws nothing.
    private func requestError(_ bytes: ByteBuffer) -> WireError? {
        var buffer = bytes
        var decoder = RequestFrameDecoder(maxFrame: Self.maxFrame)
        do {
            _ = try decoder.decode(buffer: &buffer)
            return nil
        } catch {
            return error
        }
    }

    /// What `ReplyFrameDecoder` throws for the preface then `bytes`, or nil if it throws nothing.
    private func replyError(_ bytes: ByteBuffer, preface: [UInt8] = Preface.bytes) -> WireError? {
        var buffer = ByteBuffer(bytes: preface)
        buffer.writeImmutableBuffer(bytes)
        var decoder = ReplyFrameDecoder(maxFrame: Self.maxFrame)
        do {
            _ = try decoder.decode(buffer: &buffer)
            return nil
        } catch {
            return error
        }
    }

    /// A request id, then `bytes`.
    private func payload(_ bytes: [UInt8], requestID: UInt32 = 5) -> [UInt8] {
        withUnsafeBytes(of: requestID.bigEndian, Array.init) + bytes
    }

    @Test func fourGibibyteFrameIsRefusedFromItsLengthAlone() throws {
        let header = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        let tooLarge = WireError.frameTooLarge(length: 0xFFFF_FFFF, limit: Self.maxFrame)
        #expect(self.requestError(header) == tooLarge)
        #expect(self.replyError(header) == tooLarge)

        let driver = try ClientDecoderDriver(
            ClientDecoderDriver.binaryDecoder(maxFrame: Self.maxFrame, maxLine: 64))
        #expect(try driver.feed(header.readableBytesView) == [.invalid(.binary, requestID: 0, tooLarge)])
        #expect(driver.buffered == 0)
    }

    @Test func frameJustOverTheLimitIsRefusedAndOneAtTheLimitIsAwaited() throws {
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x04, payload: [], length: UInt32(Self.maxFrame + 1)))
                == .frameTooLarge(length: UInt64(Self.maxFrame + 1), limit: Self.maxFrame))
        var buffer = Samples.rawFrame(kind: 0x04, payload: [], length: UInt32(Self.maxFrame))
        var decoder = RequestFrameDecoder(maxFrame: Self.maxFrame)
        #expect(try decoder.decode(buffer: &buffer) == nil)
    }

    @Test func zeroLengthIsMalformed() {
        let zero = ByteBuffer(bytes: [0, 0, 0, 0])
        let error = WireError.malformedPayload(
            "frame length is 0; it counts the kind byte and the payload, so it is at least 1")
        #expect(self.requestError(zero) == error)
        #expect(self.replyError(zero) == error)
    }

    @Test func unknownKindsAreRefused() {
        #expect(self.requestError(Samples.rawFrame(kind: 0x7F, payload: self.payload([]))) == .unknownKind(0x7F))
        #expect(self.requestError(Samples.rawFrame(kind: 0x00, payload: [])) == .unknownKind(0x00))
        // A reply kind is not a request, and the other way round.
        #expect(self.requestError(Samples.rawFrame(kind: 0x80, payload: self.payload([]))) == .unknownKind(0x80))
        #expect(self.replyError(Samples.rawFrame(kind: 0x04, payload: self.payload([]))) == .unknownKind(0x04))
        #expect(self.replyError(Samples.rawFrame(kind: 0xFF, payload: self.payload([]))) == .unknownKind(0xFF))
    }

    @Test func truncatedPayloadsAreMalformed() {
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x04, payload: [0, 0]))
                == .malformedPayload("request id: needs 4 bytes, 2 left"))
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x06, payload: self.payload([0, 0, 0])))
                == .malformedPayload("group: needs 4 bytes, 3 left"))
        // An upload missing its port.
        var upload = Samples.frame(
            RequestFrame(
                requestID: 1, request: .uploadFile(group: "g", name: "n", size: 1, pieceHashes: .empty, port: 80)))
        let fields = Array(upload.readBytes(length: upload.readableBytes - 2)?.dropFirst(5) ?? [])
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x0C, payload: fields))
                == .malformedPayload("port: needs 2 bytes, 0 left"))
    }

    @Test func stringLengthPastTheEndIsMalformed() {
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x06, payload: self.payload([0, 0, 0, 9, 0x61, 0x62])))
                == .malformedPayload("group: length 9 runs past the end (2 bytes left)"))
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x88, payload: self.payload([0xFF, 0xFF, 0xFF, 0xFF])))
                == .malformedPayload("nonce: length 4294967295 runs past the end (0 bytes left)"))
    }

    @Test func lyingListCountsAreRefusedBeforeAllocating() {
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x84, payload: self.payload([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])))
                == .malformedPayload("users: count 4294967295 cannot fit in the 4 bytes left"))
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x83, payload: self.payload([0, 0, 0, 2, 0, 0, 0, 0, 3])))
                == .malformedPayload("groups: count 2 cannot fit in the 5 bytes left"))
        let upload = [0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x6E, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 22)
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x0C, payload: self.payload(upload)))
                == .malformedPayload("hashes: count 2147483647 cannot fit in the 22 bytes left"))
    }

    @Test func invalidUTF8IsMalformed() {
        for bad: [UInt8] in [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xE6, 0x97]] {
            let string = [0, 0, 0, UInt8(bad.count)] + bad
            #expect(
                self.requestError(Samples.rawFrame(kind: 0x06, payload: self.payload(string)))
                    == .malformedPayload("group: not valid UTF-8"))
        }
    }

    @Test func trailingBytesAreMalformed() {
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x04, payload: self.payload([0])))
                == .malformedPayload("1 trailing bytes after the fields"))
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x80, payload: self.payload([1, 2, 3])))
                == .malformedPayload("3 trailing bytes after the fields"))
    }

    @Test func badTagsAndCodesAreMalformed() {
        #expect(
            self.requestError(Samples.rawFrame(kind: 0x11, payload: self.payload([2])))
                == .malformedPayload("mac: optional tag 2 is neither 0 nor 1"))
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x83, payload: self.payload([0, 0, 0, 1, 0, 0, 0, 0, 9])))
                == .malformedPayload("membership: 9 is not 0 to 3"))
        #expect(
            self.replyError(Samples.rawFrame(kind: 0x89, payload: self.payload([0, 0, 0, 2, 0x6E, 0x6F, 0, 0, 0, 0])))
                == .malformedPayload("error code: 'no' is not a known code"))
    }

    @Test func wrongPrefacesAreRefused() {
        let ok = Samples.frame(ReplyFrame(requestID: 1, reply: .ok))
        #expect(self.replyError(ok, preface: [0x89, 0x54, 0x4E, 0x58, 1]) == .badPreface)
        #expect(self.replyError(ok, preface: Array("OK|x\n".utf8)) == .badPreface)
        #expect(self.replyError(ok, preface: Preface.magic + [2]) == .unsupportedVersion(2))
        #expect(self.replyError(ok, preface: Preface.magic + [0]) == .unsupportedVersion(0))
    }

    @Test func badFramesAreConsumedSoTheNextOneDecodes() throws {
        var buffer = Samples.rawFrame(kind: 0x7F, payload: [1, 2, 3])
        buffer.writeImmutableBuffer(Samples.frame(RequestFrame(requestID: 2, request: .whoami)))
        var decoder = RequestFrameDecoder(maxFrame: Self.maxFrame)
        #expect(throws: WireError.unknownKind(0x7F)) { try decoder.decode(buffer: &buffer) }
        #expect(try decoder.decode(buffer: &buffer) == RequestFrame(requestID: 2, request: .whoami))
    }

    @Test func endOfStreamInsideAFrameIsTruncated() throws {
        var partial = Samples.frame(RequestFrame(requestID: 2, request: .createGroup(group: "team")))
        partial.moveWriterIndex(to: partial.writerIndex - 1)
        var requests = RequestFrameDecoder(maxFrame: Self.maxFrame)
        #expect(try requests.decodeLast(buffer: &partial, seenEOF: false) == nil)
        #expect(throws: WireError.truncated) { try requests.decodeLast(buffer: &partial, seenEOF: true) }

        var replies = ReplyFrameDecoder(maxFrame: Self.maxFrame)
        var prefix = ByteBuffer(bytes: Preface.magic)
        #expect(throws: WireError.truncated) { try replies.decodeLast(buffer: &prefix, seenEOF: true) }
        var empty = ByteBuffer()
        #expect(try replies.decodeLast(buffer: &empty, seenEOF: true) == nil)
    }
}
