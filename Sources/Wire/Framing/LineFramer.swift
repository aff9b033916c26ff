import NIOCore

/// Cuts `\n`-ended lines from a byte stream, each at most `maxLine` bytes long without its `\n` (or `\r\n`).
///
/// It remembers how far it has looked for a newline, so a long line arriving in many reads is scanned once. Between
/// calls at most `maxLine + 1` bytes of an unfinished line stay buffered: past that the line is refused, as soon as
/// it is known to be too long.
public struct LineFramer: Sendable {
    /// The longest line taken, without its `\r\n` or `\n`.
    public let maxLine: Int
    /// Bytes from the reader index known to hold no newline.
    private var scanned = 0

    public init(maxLine: Int) {
        self.maxLine = maxLine
    }

    /// The next whole line at the front of `buffer`, without its `\n` and a `\r` before it, consuming it; nil
    /// when more bytes are needed.
    ///
    /// - Throws: ``WireError/lineTooLong(limit:)`` once the line at the front is longer than ``maxLine``. Its bytes
    ///   are not consumed: the stream cannot be trusted after that.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireError) -> ByteBuffer? {
        let readable = buffer.readableBytesView
        let unscanned = readable.index(readable.startIndex, offsetBy: min(self.scanned, readable.count))
        guard let newline = readable[unscanned...].firstIndex(of: UInt8(ascii: "\n")) else {
            self.scanned = readable.count
            // The line is at least this long, even if the next byte is the `\n` after a buffered `\r`.
            let shortest = readable.last == UInt8(ascii: "\r") ? readable.count - 1 : readable.count
            if shortest > self.maxLine { throw .lineTooLong(limit: self.maxLine) }
            return nil
        }
        self.scanned = 0
        let length = readable.distance(from: readable.startIndex, to: newline)
        let endsInReturn = length > 0 && readable[readable.index(before: newline)] == UInt8(ascii: "\r")
        let content = endsInReturn ? length - 1 : length
        guard content <= self.maxLine else { throw .lineTooLong(limit: self.maxLine) }
        let line = buffer.readSlice(length: content)!
        buffer.moveReaderIndex(forwardBy: length - content + 1)
        return line
    }

    /// What is left in `buffer` at the end of the stream, as a last line without a `\n`, consuming it; nil when
    /// nothing is left.
    ///
    /// - Throws: ``WireError/lineTooLong(limit:)`` when that line is longer than ``maxLine``.
    public mutating func rest(_ buffer: inout ByteBuffer) throws(WireError) -> ByteBuffer? {
        self.scanned = 0
        guard buffer.readableBytes > 0 else { return nil }
        var line = buffer.readSlice(length: buffer.readableBytes)!
        if line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        guard line.readableBytes <= self.maxLine else { throw .lineTooLong(limit: self.maxLine) }
        return line
    }

    /// The text of a line, or nil for an empty one; a line that is not valid UTF-8 is refused.
    public static func text(of line: ByteBuffer) -> Result<String, WireError>? {
        guard line.readableBytes > 0 else { return nil }
        let bytes = line.readableBytesView
        // Decoding repairs invalid sequences with U+FFFD; valid UTF-8, and only valid UTF-8, comes back unchanged.
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(bytes) else { return .failure(.badLine("line is not valid UTF-8")) }
        return .success(text)
    }
}

/// Frames input as lines of at most `maxLine` bytes (``LineFramer``): each line, without its `\n` or `\r\n`, is
/// emitted as a `ByteBuffer`; a longer line is an error, after which the connection is expected to close. The
/// decoder for line-framed inputs that need nothing else (the peer daemon's command socket).
public struct LineDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer
    private var framer: LineFramer

    public init(maxLine: Int) {
        self.framer = LineFramer(maxLine: maxLine)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws(WireError) -> ByteBuffer? {
        try self.framer.next(&buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(WireError) -> ByteBuffer? {
        if let line = try self.framer.next(&buffer) { return line }
        return seenEOF ? try self.framer.rest(&buffer) : nil
    }
}
