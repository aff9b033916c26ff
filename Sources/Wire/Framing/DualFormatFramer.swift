import NIOCore

/// What ``DualFormatFramer`` cut from a connection's bytes.
public enum FramedInput: Sendable {
    /// A binary client's preface arrived whole and of the right version.
    case preface
    /// A binary frame.
    case frame(Frame)
    /// A text line, valid UTF-8 and not empty, without its `\n` or `\r\n`.
    case line(String)
    /// Bytes that are neither; after an error that ``WireError/isFatal`` nothing more is framed.
    case invalid(ClientFormat, WireError)
}

/// Frames what a client sends to a port that speaks both formats (the tracker's client port, a peer daemon's
/// port): the first byte decides for the whole connection. The preface's first byte (`0x89`) means binary: the
/// preface, then length-prefixed frames of at most ``maxFrame`` bytes. Anything else means text: lines of at most
/// `maxLine` bytes (``LineFramer``); empty lines are skipped.
///
/// After an error that ``WireError/isFatal`` (a bad preface, a frame or line over its limit, a connection cut
/// mid-frame), or ``stop()``, every byte is discarded: the stream can no longer be trusted, and the connection is
/// expected to close once the error is answered. Between calls at most `maxFrame + 4` bytes stay buffered in
/// binary mode (the preface's length before it) and `maxLine + 1` in text mode.
public struct DualFormatFramer: Sendable {
    private enum State: Sendable {
        case undecided
        case preface
        case frames
        case lines
        case stopped
    }

    private let prefaceBytes: [UInt8]
    private let magicLength: Int
    /// The largest frame taken (its kind byte and payload); a connection may raise it once it has a session.
    public var maxFrame: Int
    private var lines: LineFramer
    private var state = State.undecided

    /// A framer for a port whose binary clients open with `magic` then the `version` byte.
    public init(magic: [UInt8], version: UInt8, maxFrame: Int, maxLine: Int) {
        self.prefaceBytes = magic + [version]
        self.magicLength = magic.count
        self.maxFrame = maxFrame
        self.lines = LineFramer(maxLine: maxLine)
    }

    /// Whether the connection speaks binary frames and is past its preface.
    public var isReadingFrames: Bool {
        if case .frames = self.state { true } else { false }
    }

    /// The next input at the front of `buffer`, consuming its bytes; nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) -> FramedInput? {
        switch self.state {
        case .undecided:
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
            self.state = first == self.prefaceBytes[0] ? .preface : .lines
            return self.next(&buffer)
        case .preface:
            return self.nextPreface(&buffer)
        case .frames:
            do {
                guard let frame = try buffer.readFrame(maxFrame: self.maxFrame) else { return nil }
                return .frame(frame)
            } catch {
                return error.isFatal ? self.fail(.binary, error, &buffer) : .invalid(.binary, error)
            }
        case .lines:
            while true {
                let line: ByteBuffer
                do {
                    guard let next = try self.lines.next(&buffer) else { return nil }
                    line = next
                } catch {
                    return self.fail(.text, error, &buffer)
                }
                if let input = Self.input(line: line) { return input }
            }
        case .stopped:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    /// What the bytes left at the end of the stream amount to, once ``next(_:)`` has taken every whole input:
    /// a last line without its `\n`, or ``WireError/truncated`` for a partial preface or frame.
    public mutating func finish(_ buffer: inout ByteBuffer) -> FramedInput? {
        switch self.state {
        case .undecided, .stopped:
            return nil
        case .preface, .frames:
            return buffer.readableBytes > 0 ? self.fail(.binary, .truncated, &buffer) : nil
        case .lines:
            do {
                return try self.lines.rest(&buffer).flatMap(Self.input(line:))
            } catch {
                return self.fail(.text, error, &buffer)
            }
        }
    }

    /// Discards everything from now on: the caller found the stream not worth reading further.
    public mutating func stop() {
        self.state = .stopped
    }

    private mutating func nextPreface(_ buffer: inout ByteBuffer) -> FramedInput? {
        let available = min(buffer.readableBytes, self.prefaceBytes.count)
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: available) ?? []
        // Refuse a wrong magic as soon as it shows rather than waiting for the whole preface.
        guard bytes.prefix(self.magicLength).elementsEqual(self.prefaceBytes.prefix(min(bytes.count, self.magicLength)))
        else {
            return self.fail(.binary, .badPreface, &buffer)
        }
        guard bytes.count == self.prefaceBytes.count, let version = bytes.last else { return nil }
        guard version == self.prefaceBytes.last else { return self.fail(.binary, .unsupportedVersion(version), &buffer) }
        buffer.moveReaderIndex(forwardBy: self.prefaceBytes.count)
        self.state = .frames
        return .preface
    }

    /// A line's input: nil for an empty line, which is skipped.
    private static func input(line: ByteBuffer) -> FramedInput? {
        switch LineFramer.text(of: line) {
        case .none: nil
        case .success(let text): .line(text)
        case .failure(let error): .invalid(.text, error)
        }
    }

    /// Reports a fatal error and stops, discarding what is buffered.
    private mutating func fail(_ format: ClientFormat, _ error: WireError, _ buffer: inout ByteBuffer) -> FramedInput {
        self.state = .stopped
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .invalid(format, error)
    }
}
