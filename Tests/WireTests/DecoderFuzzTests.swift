import Foundation
import NIOCore
import TandemTestKit
import Testing
import Wire

/// Random bytes through the decoders: nothing traps, nothing is emitted after a fatal error, and no more is ever
/// left buffered than the limits allow. A failure reports its seed; `TANDEM_FUZZ_SEED` replays one.
@Suite struct DecoderFuzzTests {
    private static let maxFrame = 64
    private static let maxLine = 48
    private static let inputs = 2_000

    private static func seed() -> UInt64 {
        Environment.seed ?? UInt64.random(in: 0...UInt64.max)
    }

    /// Random input biased toward the interesting: valid frames and preface with bytes flipped, command lines with
    /// random fields, or plain noise.
    private static func input(binary: Bool, using generator: inout SeededGenerator) -> [UInt8] {
        var bytes: [UInt8] = []
        if binary {
            if Bool.random(using: &generator) {
                bytes += Preface.bytes
            }
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                let request = Samples.requests.randomElement(using: &generator) ?? .logout
                bytes += Samples.frame(RequestFrame(requestID: 1, request: request)).readableBytesView
            }
        } else {
            let line = TextAdapter.render(Samples.textRequests.randomElement(using: &generator) ?? .logout)
            bytes += line.utf8.prefix(Self.maxLine + 8)
            bytes.append(UInt8(ascii: "\n"))
        }
        // Flip some bytes, insert noise, or cut the end.
        for _ in 0..<Int.random(in: 0...6, using: &generator) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes.insert(contentsOf: [0x0A, 0x7C, 0xFF].shuffled(using: &generator), at: index)
            case 2: bytes.removeSubrange(index...)
            default: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
            }
        }
        if Int.random(in: 0..<4, using: &generator) == 0 {
            bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
        }
        return bytes
    }

    /// Random chunk sizes for `count` bytes.
    private static func chunks(_ bytes: [UInt8], using generator: inout SeededGenerator) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...80, using: &generator)
            chunks.append(rest.prefix(size))
            rest = rest.dropFirst(size)
        }
        return chunks
    }

    @Test func clientRequestDecoderStaysBoundedOnRandomInput() throws {
        let seed = Self.seed()
        var generator = SeededGenerator(seed: seed)
        for round in 0..<Self.inputs {
            let bytes = Self.input(binary: round.isMultiple(of: 2), using: &generator)
            let driver = try ClientDecoderDriver(ClientRequestDecoder(maxFrame: Self.maxFrame, maxLine: Self.maxLine))
            let bound = bytes.first == Preface.magic.first ? Self.maxFrame + 5 : Self.maxLine + 2
            var messages: [ClientInbound] = []
            for chunk in Self.chunks(bytes, using: &generator) {
                messages += try driver.feed(chunk)
                #expect(driver.buffered <= bound, "seed \(seed), round \(round)")
            }
            messages += try driver.finish()
            #expect(driver.buffered == 0, "seed \(seed), round \(round)")
            let fatal = messages.firstIndex {
                if case .invalid(_, _, let error) = $0 { return error.isFatal }
                return false
            }
            if let fatal {
                #expect(fatal == messages.count - 1, "seed \(seed), round \(round): messages after a fatal error")
            }
        }
    }

    @Test func replyFrameDecoderStaysBoundedOnRandomInput() {
        let seed = Self.seed()
        var generator = SeededGenerator(seed: seed)
        for round in 0..<Self.inputs {
            var bytes = round.isMultiple(of: 2) ? Preface.bytes : []
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                let reply = Samples.replies.randomElement(using: &generator) ?? .ok
                bytes += Samples.frame(ReplyFrame(requestID: 2, reply: reply)).readableBytesView
            }
            for _ in 0..<Int.random(in: 0...4, using: &generator) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Int.random(in: 0..<4, using: &generator) == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            }
            var decoder = ReplyFrameDecoder(maxFrame: Self.maxFrame)
            var buffer = ByteBuffer()
            decoding: for chunk in Self.chunks(bytes, using: &generator) {
                buffer.writeBytes(chunk)
                do {
                    while try decoder.decode(buffer: &buffer) != nil {}
                } catch {
                    // Behind a ByteToMessageHandler the connection fails here; nothing more is decoded.
                    break decoding
                }
                #expect(buffer.readableBytes <= Self.maxFrame + 5, "seed \(seed), round \(round)")
            }
        }
    }
}

/// The fuzz seed from `TANDEM_FUZZ_SEED`, to replay a failure.
private enum Environment {
    static var seed: UInt64? {
        ProcessInfo.processInfo.environment["TANDEM_FUZZ_SEED"].flatMap { UInt64($0) }
    }
}
