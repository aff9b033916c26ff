/// Why bytes did not decode as a ``TrackerOp`` or a ``TrackerState`` snapshot. Each case says what to do in its
/// ``description``.
///
/// Decoding never traps: truncated, garbled or hostile bytes end in one of these errors.
public struct TrackerCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case truncated
        case unsupportedFormat(UInt8)
        case unknownOp(UInt8)
        case invalidUTF8
        case invalidPieceHashes(byteCount: Int)
        case trailingBytes(Int)
        case inconsistentSnapshot(String)
        case malformedReply(String)
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// The bytes ended before the op or snapshot did (a length or count said more than was there).
    public static let truncated = TrackerCodecError(.truncated)
    /// The leading format byte names an encoding this version does not know.
    public static func unsupportedFormat(_ format: UInt8) -> TrackerCodecError {
        TrackerCodecError(.unsupportedFormat(format))
    }
    /// The op's tag names no known op.
    public static func unknownOp(_ tag: UInt8) -> TrackerCodecError { TrackerCodecError(.unknownOp(tag)) }
    /// A string's bytes are not valid UTF-8.
    public static let invalidUTF8 = TrackerCodecError(.invalidUTF8)
    /// A piece-hash list's length is not a whole number of 20-byte SHA1 digests.
    public static func invalidPieceHashes(byteCount: Int) -> TrackerCodecError {
        TrackerCodecError(.invalidPieceHashes(byteCount: byteCount))
    }
    /// Bytes were left over after the op or snapshot ended.
    public static func trailingBytes(_ count: Int) -> TrackerCodecError { TrackerCodecError(.trailingBytes(count)) }
    /// The snapshot decoded but breaks one of ``TrackerState``'s invariants (a duplicate, a dangling name).
    public static func inconsistentSnapshot(_ detail: String) -> TrackerCodecError {
        TrackerCodecError(.inconsistentSnapshot(detail))
    }

    /// A reply kept for retried requests does not decode.
    public static func malformedReply(_ detail: String) -> TrackerCodecError {
        TrackerCodecError(.malformedReply(detail))
    }

    /// What went wrong, and what to do about it.
    public var description: String {
        switch self.base {
        case .truncated:
            "tracker op or snapshot is truncated; the file is damaged, restore it from the other tracker"
        case .unsupportedFormat(let format):
            "tracker encoding format \(format) is not supported; run the same Tandem version on both trackers"
        case .unknownOp(let tag):
            "unknown tracker op \(tag); run the same Tandem version on both trackers"
        case .invalidUTF8:
            "a string in a tracker op or snapshot is not valid UTF-8; the data is damaged"
        case .invalidPieceHashes(let byteCount):
            "a piece-hash list of \(byteCount) bytes is not a whole number of 20-byte SHA1 digests; the data is damaged"
        case .trailingBytes(let count):
            "\(count) bytes left over after a tracker op or snapshot; the data is damaged"
        case .inconsistentSnapshot(let detail):
            "tracker snapshot is inconsistent (\(detail)); take a fresh snapshot from the other tracker"
        case .malformedReply(let detail):
            "a reply kept for retried requests does not decode (\(detail)); the data is damaged"
        }
    }
}
