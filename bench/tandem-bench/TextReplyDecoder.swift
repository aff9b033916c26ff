import NIOCore
import Wire

/// Splits a text connection's replies into lines and reports each as a ``ReplyFrame``: `.ok` for a line
/// starting `OK` (or `CHALLENGE`), an error carrying the line otherwise. Enough for counting successes.
struct TextReplyDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = ReplyFrame

    mutating func decode(buffer: inout ByteBuffer) throws -> ReplyFrame? {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
            let line = buffer.readString(length: newline - buffer.readerIndex)
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 1)
        let reply: Reply = line.hasPrefix("OK") ? .ok : .error(Self.code(of: line), line)
        return ReplyFrame(requestID: 0, reply: reply)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ReplyFrame? {
        try self.decode(buffer: &buffer)
    }

    /// The code of an `ERR|code|message` line.
    private static func code(of line: String) -> ErrorCode {
        let fields = line.split(separator: "|", maxSplits: 2)
        return fields.count > 1 ? ErrorCode(rawValue: String(fields[1])) ?? .badRequest : .badRequest
    }
}
