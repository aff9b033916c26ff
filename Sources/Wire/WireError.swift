/// What went wrong decoding bytes from the wire. Each case says what to do in its ``description``.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case frameTooLarge(length: UInt64, limit: Int)
        case frameTooLargeBeforeSession(length: UInt64, limit: Int)
        case lineTooLong(limit: Int)
        case unknownKind(UInt8)
        case badPreface
        case unsupportedVersion(UInt8)
        case malformedPayload(String)
        case badLine(String)
        case unknownCommand(String)
        case truncated
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// A frame declared a length above the configured maximum; it was refused before buffering.
    public static func frameTooLarge(length: UInt64, limit: Int) -> WireError {
        WireError(.frameTooLarge(length: length, limit: limit))
    }
    /// A frame sent before the connection had a session declared a length above what such a connection may send.
    public static func frameTooLargeBeforeSession(length: UInt64, limit: Int) -> WireError {
        WireError(.frameTooLargeBeforeSession(length: length, limit: limit))
    }
    /// A text line grew past the configured maximum without a newline.
    public static func lineTooLong(limit: Int) -> WireError { WireError(.lineTooLong(limit: limit)) }
    /// A frame carried a kind this side does not know.
    public static func unknownKind(_ kind: UInt8) -> WireError { WireError(.unknownKind(kind)) }
    /// The connection preface did not start with the Tandem magic.
    public static let badPreface = WireError(.badPreface)
    /// The preface named a protocol version this side does not speak.
    public static func unsupportedVersion(_ version: UInt8) -> WireError { WireError(.unsupportedVersion(version)) }
    /// A frame's payload did not decode as its kind says.
    public static func malformedPayload(_ detail: String) -> WireError { WireError(.malformedPayload(detail)) }
    /// A text line had the wrong field count, an empty field or a bad number.
    public static func badLine(_ detail: String) -> WireError { WireError(.badLine(detail)) }
    /// A text line named no known command.
    public static func unknownCommand(_ name: String) -> WireError { WireError(.unknownCommand(name)) }
    /// The connection ended in the middle of a frame.
    public static let truncated = WireError(.truncated)

    /// The length a frame refused for its size declared (``frameTooLarge(length:limit:)``); nil for other errors.
    public var refusedFrameLength: UInt64? {
        if case .frameTooLarge(let length, _) = self.base { length } else { nil }
    }

    /// The reply code the text adapter and the binary error frame use for this error.
    public var code: ErrorCode {
        switch self.base {
        case .frameTooLarge, .frameTooLargeBeforeSession, .lineTooLong: .tooLarge
        case .unknownCommand, .unknownKind: .unknownCommand
        case .unsupportedVersion: .unsupportedVersion
        case .badPreface, .malformedPayload, .badLine, .truncated: .badRequest
        }
    }

    /// Whether the connection must be closed after reporting this error (the stream can no longer be trusted).
    public var isFatal: Bool {
        switch self.base {
        case .frameTooLarge, .frameTooLargeBeforeSession, .lineTooLong, .badPreface, .unsupportedVersion, .truncated:
            true
        case .unknownKind, .malformedPayload, .badLine, .unknownCommand: false
        }
    }

    /// What went wrong and what to do about it, for the error reply's message.
    public var description: String {
        switch self.base {
        case .frameTooLarge(let length, let limit):
            "frame of \(length) bytes exceeds the limit of \(limit) bytes (limits.max_frame); send smaller frames"
        case .frameTooLargeBeforeSession(let length, let limit):
            "frame of \(length) bytes sent before a session exceeds the limit of \(limit) bytes for a connection that "
                + "has not logged in; send LOGIN or RESUME first"
        case .lineTooLong(let limit):
            "line exceeds the limit of \(limit) bytes (limits.max_line); end each command with a newline"
        case .unknownKind(let kind):
            "unknown frame kind \(kind); check that client and tracker run the same Tandem version"
        case .badPreface:
            "connection preface is not Tandem's; binary clients start with the 5-byte preface of docs/PROTOCOL.md"
        case .unsupportedVersion(let version):
            "protocol version \(version) is not supported; upgrade the older side"
        case .malformedPayload(let detail):
            "malformed frame payload: \(detail)"
        case .badLine(let detail):
            detail
        case .unknownCommand(let name):
            "unknown command '\(name)'; see docs/PROTOCOL.md for the list"
        case .truncated:
            "connection closed in the middle of a frame"
        }
    }
}
