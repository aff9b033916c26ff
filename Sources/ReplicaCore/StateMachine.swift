import NIOCore

/// A deterministic state machine whose ops the replica logs, replicates and applies.
///
/// The replica knows nothing of what the ops mean. It needs three promises from the machine:
/// applying the same ops in the same order to equal states gives equal states and equal outputs;
/// an op that the machine refuses changes nothing; and an op or snapshot decodes to what was encoded.
public protocol StateMachine: Sendable {
    /// A change to the state, as logged in the write-ahead log.
    associatedtype Op: Sendable
    /// What applying an op answers (a reply for the client).
    associatedtype Output: Sendable

    /// Applies `op`, returning what the client that proposed it is told.
    mutating func apply(_ op: Op) -> Output

    /// Appends `op`'s bytes to `buffer`: at least one byte, since an empty record in the log is an epoch marker.
    static func encode(_ op: Op, into buffer: inout ByteBuffer)
    /// Reads one op written by ``encode(_:into:)``; `buffer` holds exactly its bytes.
    static func decodeOp(from buffer: inout ByteBuffer) throws -> Op

    /// Appends `output`'s bytes to `buffer`: how the primary answers a write the backup forwarded.
    static func encode(_ output: Output, into buffer: inout ByteBuffer)
    /// Reads an output written by ``encode(_:into:)-(Output,_)``; `buffer` holds exactly its bytes.
    static func decodeOutput(from buffer: inout ByteBuffer) throws -> Output

    /// Appends the whole state's bytes to `buffer`.
    func encodeSnapshot(into buffer: inout ByteBuffer)
    /// Reads a state written by ``encodeSnapshot(into:)``; `buffer` holds exactly its bytes.
    static func decodeSnapshot(from buffer: inout ByteBuffer) throws -> Self
}
