/// How a client connection speaks, decided by its first byte (see docs/PROTOCOL.md).
public enum ClientFormat: Hashable, Sendable {
    /// `COMMAND|arg|arg` lines, for `nc` and the original clients.
    case text
    /// Length-prefixed frames after a 5-byte preface, for `tandemctl`.
    case binary
}

/// One thing the server-side decoder read from a client connection.
public enum ClientInbound: Hashable, Sendable {
    /// A binary client sent a valid preface; answer with ``ClientOutbound/preface``.
    case preface
    /// A well-formed request.
    case request(ClientFormat, requestID: UInt32, Request)
    /// Input that could not be decoded; reply with the error, and close the connection when it ``WireError/isFatal``.
    case invalid(ClientFormat, requestID: UInt32, WireError)
}

/// One thing the server writes to a client connection.
public enum ClientOutbound: Hashable, Sendable {
    /// The server's preface, answering a binary client's.
    case preface
    /// The reply to the request with the same id (always 0 on text connections).
    case reply(ClientFormat, requestID: UInt32, Reply)
}
