import NIOCore
import NIOEmbedded
import TandemTestKit
import Testing
import Wire

/// The tracker's decoder: format detection, the preface, frames and lines in every split, limits and the dead
/// state after a fatal error.
@Suite struct ClientRequestDecoderTests {
    private static let maxFrame = 256
    private static let maxLine = 16

    private func driver() throws -> ClientDecoderDriver {
        try ClientDecoderDriver(ClientRequestDecoder(maxFrame: Self.maxFrame, maxLine: Self.maxLine))
    }

    /// An embedded channel with the decoder behind a `ByteToMessageHandler`, as the tracker runs it.
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(ClientRequestDecoder(maxFrame: Self.maxFrame, maxLine: Self.maxLine)))
        return channel
    }

    private func readAll(_ channel: EmbeddedChannel) throws -> [ClientInbound] {
        var messages: [ClientInbound] = []
        while let message = try channel.readInbound(as: ClientInbound.self) {
            messages.append(message)
        }
        return messages
    }

    /// Feeds `bytes` in chunks of the given sizes (the rest at once after them) and returns all that came out,
    /// end of stream included.
    private func decode(_ bytes: [UInt8], chunks: [Int]) throws -> [ClientInbound] {
        let driver = try self.driver()
        var rest = bytes[...]
        var messages: [ClientInbound] = []
        for size in chunks where !rest.isEmpty {
            messages += try driver.feed(rest.prefix(size))
            rest = rest.dropFirst(size)
        }
        messages += try driver.feed(rest)
        return messages + (try driver.finish())
    }

    /// Whole, byte by byte, and in 50 random splits from a seed that a failure reports.
    private func splits(of count: Int) -> (seed: UInt64, chunks: [[Int]]) {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let random = (0..<50).map { _ in (0..<count).map { _ in Int.random(in: 1...7, using: &generator) } }
        return (seed, [[], Array(repeating: 1, count: count)] + random)
    }

    @Test func binaryPrefaceAndFramesInEverySplit() throws {
        let requests: [Request] = [.login(user: "é", password: "日本"), .whoami, .quit(mac: [1, 2]), .listGroups]
        var bytes = Preface.bytes
        var expected: [ClientInbound] = [.preface]
        for (index, request) in requests.enumerated() {
            bytes += Samples.frame(RequestFrame(requestID: UInt32(index), request: request)).readableBytesView
            expected.append(.request(.binary, requestID: UInt32(index), request))
        }
        let (seed, splits) = self.splits(of: bytes.count)
        for chunks in splits {
            #expect(try self.decode(bytes, chunks: chunks) == expected, "seed \(seed), chunks \(chunks)")
        }
    }

    @Test func textLinesInEverySplit() throws {
        let text = "LOGIN|a|b\r\n\n\r\nWHOAMI\nLIST_GROUPS\r\nLOGOUT"
        let expected: [ClientInbound] = [
            .request(.text, requestID: 0, .login(user: "a", password: "b")),
            .request(.text, requestID: 0, .whoami),
            .request(.text, requestID: 0, .listGroups),
            // A partial line at the end of the stream is still a line.
            .request(.text, requestID: 0, .logout),
        ]
        let (seed, splits) = self.splits(of: text.utf8.count)
        for chunks in splits {
            #expect(try self.decode(Array(text.utf8), chunks: chunks) == expected, "seed \(seed), chunks \(chunks)")
        }
    }

    @Test func aLoneCarriageReturnAtTheEndIsNothing() throws {
        #expect(try self.decode(Array("WHOAMI\n\r".utf8), chunks: []) == [.request(.text, requestID: 0, .whoami)])
    }

    @Test func linesUpToTheLimitPassAndLongerOnesAreRefused() throws {
        let longest = "CREATE_GROUP|123"  // 16 bytes
        let driver = try self.driver()
        #expect(try driver.feed(Array((longest + "\r").utf8)) == [])
        #expect(driver.buffered == Self.maxLine + 1)
        #expect(try driver.feed([UInt8(ascii: "\n")]) == [.request(.text, requestID: 0, .createGroup(group: "123"))])

        // A too-long line that arrives whole, newline and all.
        #expect(
            try driver.feed(Array("CREATE_GROUP|1234\n".utf8))
                == [.invalid(.text, requestID: 0, .lineTooLong(limit: Self.maxLine))])
        #expect(driver.buffered == 0)
    }

    @Test func aLineOverTheLimitKillsTheConnectionAndLaterInputIsDiscarded() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(string: "WHOAMI\n" + String(repeating: "x", count: Self.maxLine)))
        #expect(try self.readAll(channel) == [.request(.text, requestID: 0, .whoami)])
        try channel.writeInbound(ByteBuffer(string: "y"))
        #expect(try self.readAll(channel) == [.invalid(.text, requestID: 0, .lineTooLong(limit: Self.maxLine))])
        try channel.writeInbound(ByteBuffer(string: "\nWHOAMI\nLOGOUT\n"))
        try channel.writeInbound(ByteBuffer(bytes: Preface.bytes))
        #expect(try self.readAll(channel) == [])
        #expect(try channel.finish().isClean)

        let driver = try self.driver()
        #expect(try driver.feed(Array(String(repeating: "x", count: 100).utf8)).count == 1)
        #expect(try driver.feed(Array("WHOAMI\n".utf8)) == [])
        #expect(driver.buffered == 0)
        #expect(try driver.finish() == [])
    }

    @Test func beforeASessionOnlySmallFramesAreTaken() throws {
        let upload = Request.uploadFile(
            group: "g", name: "f", size: 1, pieceHashes: PieceHashes(bytes: [UInt8](repeating: 7, count: 20))!,
            port: 1)
        var decoder = ClientRequestDecoder(maxFrame: Self.maxFrame, maxLine: Self.maxLine, maxFrameBeforeSession: 32)
        let frame = Samples.frame(RequestFrame(requestID: 3, request: upload))
        let length = UInt64(frame.readableBytes - 4)
        var input = ByteBuffer(bytes: Preface.bytes)
        input.writeImmutableBuffer(frame)
        #expect(decoder.nextMessage(from: &input, atEnd: false) == .preface)
        #expect(decoder.pendingFrameSize(in: input) == frame.readableBytes)
        #expect(
            decoder.nextMessage(from: &input, atEnd: false)
                == .invalid(.binary, requestID: 0, .frameTooLargeBeforeSession(length: length, limit: 32)))
        #expect(input.readableBytes == 0, "refused from its length field, and the stream is dropped")

        var withSession = ClientRequestDecoder(
            maxFrame: Self.maxFrame, maxLine: Self.maxLine, maxFrameBeforeSession: 32)
        withSession.hasSession = true
        var again = ByteBuffer(bytes: Preface.bytes)
        again.writeImmutableBuffer(frame)
        #expect(withSession.nextMessage(from: &again, atEnd: false) == .preface)
        #expect(withSession.nextMessage(from: &again, atEnd: false) == .request(.binary, requestID: 3, upload))
    }

    @Test func anOversizedFrameKillsTheConnectionWithoutBeingBuffered() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(bytes: Preface.bytes + [0, 0, 1, 1]))
        #expect(
            try self.readAll(channel)
                == [.preface, .invalid(.binary, requestID: 0, .frameTooLarge(length: 257, limit: Self.maxFrame))])
        try channel.writeInbound(Samples.frame(RequestFrame(requestID: 1, request: .whoami)))
        #expect(try self.readAll(channel) == [])
        #expect(try channel.finish().isClean)
    }

    @Test func badFramesAreReportedWithTheirIdAndSkipped() throws {
        let driver = try self.driver()
        var bytes = Preface.bytes + Array(Samples.rawFrame(kind: 0x42, payload: [0, 0, 0, 7, 1]).readableBytesView)
        bytes += Samples.rawFrame(kind: 0x06, payload: [0, 0, 0, 8, 0, 0, 0, 1, 0xFF]).readableBytesView
        bytes += [0, 0, 0, 0]
        bytes += Samples.frame(RequestFrame(requestID: 9, request: .logout)).readableBytesView
        #expect(
            try driver.feed(bytes) == [
                .preface,
                .invalid(.binary, requestID: 7, .unknownKind(0x42)),
                .invalid(.binary, requestID: 8, .malformedPayload("group: not valid UTF-8")),
                .invalid(
                    .binary, requestID: 0,
                    .malformedPayload("frame length is 0; it counts the kind byte and the payload, so it is at least 1")
                ),
                .request(.binary, requestID: 9, .logout),
            ])
    }

    @Test func aWrongMagicIsRefusedAsSoonAsItShows() throws {
        let driver = try self.driver()
        #expect(try driver.feed([0x89]) == [])
        #expect(try driver.feed([0x54, 0x00]) == [.invalid(.binary, requestID: 0, .badPreface)])
        #expect(try driver.feed(Preface.bytes) == [])
        #expect(driver.buffered == 0)
    }

    @Test func aWrongVersionIsRefused() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(bytes: Preface.magic + [9]))
        try channel.writeInbound(Samples.frame(RequestFrame(requestID: 1, request: .whoami)))
        #expect(try self.readAll(channel) == [.invalid(.binary, requestID: 0, .unsupportedVersion(9))])
        #expect(try channel.finish().isClean)
    }

    @Test func endOfStreamInsideAFrameIsReportedOnce() throws {
        let driver = try self.driver()
        var frame = Array(Samples.frame(RequestFrame(requestID: 3, request: .whoami)).readableBytesView)
        frame.removeLast()
        #expect(try driver.feed(Preface.bytes + frame) == [.preface])
        #expect(try driver.finish() == [.invalid(.binary, requestID: 0, .truncated)])
        #expect(try driver.finish() == [])

        let prefaceOnly = try self.driver()
        #expect(try prefaceOnly.feed(Preface.magic) == [])
        #expect(try prefaceOnly.finish() == [.invalid(.binary, requestID: 0, .truncated)])

        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(bytes: Preface.bytes + frame))
        #expect(try self.readAll(channel) == [.preface])
        channel.pipeline.fireChannelInactive()
        #expect(try self.readAll(channel) == [.invalid(.binary, requestID: 0, .truncated)])
    }

    @Test func anEmptyConnectionEmitsNothing() throws {
        #expect(try self.driver().finish() == [])
        let channel = try self.channel()
        #expect(try channel.finish().isClean)
    }
}
