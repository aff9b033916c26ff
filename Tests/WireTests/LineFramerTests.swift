import NIOCore
import NIOTestUtils
import Testing
import Wire

/// The one line framer every line-framed input uses: the limit counts the line without its `\n` or `\r\n`, and
/// both dual-format decoders draw the line at the same byte.
@Suite struct LineFramerTests {
    private func lines(_ text: String, maxLine: Int = 4) -> [String] {
        var framer = LineFramer(maxLine: maxLine)
        var buffer = ByteBuffer(string: text)
        var lines: [String] = []
        do {
            while let line = try framer.next(&buffer) { lines.append(String(buffer: line)) }
            if let last = try framer.rest(&buffer) { lines.append(String(buffer: last) + "<end>") }
        } catch {
            lines.append("<\(error.code.rawValue)>")
        }
        return lines
    }

    @Test func theLimitCountsTheLineWithoutItsEnding() {
        #expect(self.lines("abcd\nabcd\r\n\nab") == ["abcd", "abcd", "", "ab<end>"])
        #expect(self.lines("abcde\n") == ["<too_large>"])
        #expect(self.lines("abcd\rx\n") == ["<too_large>"])
        #expect(self.lines("ab\rc\n") == ["ab\rc"])
        #expect(self.lines("abcd\r") == ["abcd<end>"])
    }

    @Test func aLongLineIsRefusedBeforeItsNewlineArrives() throws {
        var framer = LineFramer(maxLine: 4)
        var buffer = ByteBuffer(string: "abcd")
        #expect(try framer.next(&buffer) == nil)
        buffer.writeString("\r")
        #expect(try framer.next(&buffer) == nil, "a \\r may yet be followed by the \\n")
        buffer.writeString("\n")
        #expect(try framer.next(&buffer).map { String(buffer: $0) } == "abcd")
        buffer.writeString("abcde")
        #expect(throws: WireError.lineTooLong(limit: 4)) { try framer.next(&buffer) }
    }

    @Test func onlyValidUTF8IsText() {
        #expect(LineFramer.text(of: ByteBuffer(string: "héllo")) == .success("héllo"))
        #expect(LineFramer.text(of: ByteBuffer(bytes: [0x61, 0xFF])) == .failure(.badLine("line is not valid UTF-8")))
        #expect(LineFramer.text(of: ByteBuffer()) == nil)
    }

    /// The tracker's decoder and the peer's once drew the limit one byte apart.
    @Test(arguments: ["HELLO|a|b|00", "HELLO|a|b|00\r", "HELLO|a|b|000", "HELLO|a|b|00\r\r"])
    func bothDualFormatDecodersDrawTheLineAtTheSameByte(line: String) {
        let maxLine = "HELLO|a|b|00".utf8.count
        var client = ClientRequestDecoder(maxFrame: 1024, maxLine: maxLine)
        var peer = PeerInboundDecoder(maxFrame: 1024, maxLine: maxLine)
        var toClient = ByteBuffer(string: line + "\n")
        var toPeer = toClient
        let clientRefused = client.nextMessage(from: &toClient, atEnd: true) == .invalid(
            .text, requestID: 0, .lineTooLong(limit: maxLine))
        let peerRefused = peer.next(&toPeer, atEnd: true) == .invalid(.lineTooLong(limit: maxLine), binary: false)
        #expect(clientRefused == peerRefused)
        #expect(clientRefused == (line.utf8.count > maxLine + (line.hasSuffix("\r") ? 1 : 0)))
    }

    @Test func lineDecoderThroughTheVerifier() throws {
        let pairs: [(ByteBuffer, [ByteBuffer])] = [
            (ByteBuffer(string: "{\"a\":1}\n"), [ByteBuffer(string: "{\"a\":1}")]),
            (ByteBuffer(string: "two\r\n"), [ByteBuffer(string: "two")]),
            (ByteBuffer(string: "\n"), [ByteBuffer()]),
            (ByteBuffer(string: "x\ny\n"), [ByteBuffer(string: "x"), ByteBuffer(string: "y")]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs, decoderFactory: { LineDecoder(maxLine: 64) })
    }
}
