import NIOCore
import Wire

/// A write taken by the backup and carried out by the primary, over the sync connection: any tracker takes
/// any command, and a client of the backup (even `nc`) need not know which tracker is primary.
///
/// The backup prepares the op against its own copy of the state and forwards it; the primary proposes it like
/// its own (applying it re-checks every rule) and answers with the op's seq and what applying it answered. The
/// backup answers its client once it has applied that seq itself, so the client reads its own write there.
public enum ForwardFrame: Hashable, Sendable {
    /// Backup to primary: propose this op (the state machine's encoding), and answer with `id`.
    case request(id: UInt64, op: ByteBuffer)
    /// Primary to backup: the op of request `id` is entry `seq`, and applying it answered `output` (encoded).
    case reply(id: UInt64, seq: UInt64, output: ByteBuffer)
    /// Primary to backup: the op of request `id` was not logged, for `reason`.
    case refusal(id: UInt64, reason: String)

    /// The frame kinds (docs/PROTOCOL.md, "Sync port").
    public enum Kind: UInt8, Sendable, CaseIterable {
        case request = 0x4A
        case reply = 0x4B
        case refusal = 0x4C
    }

    /// Decodes a frame of one of the ``Kind``s; nil for any other kind.
    public init?(frame: Frame) throws(SyncCodecError) {
        guard let kind = Kind(rawValue: frame.kind) else { return nil }
        var payload = frame.payload
        guard let id = payload.readInteger(as: UInt64.self) else {
            throw SyncCodecError(description: "a forwarded write's frame ends before its id")
        }
        switch kind {
        case .request:
            guard payload.readableBytes > 0 else { throw SyncCodecError(description: "a forwarded write has no op") }
            self = .request(id: id, op: payload)
        case .reply:
            guard let seq = payload.readInteger(as: UInt64.self) else {
                throw SyncCodecError(description: "a forwarded write's reply ends before its seq")
            }
            self = .reply(id: id, seq: seq, output: payload)
        case .refusal:
            self = .refusal(id: id, reason: String(buffer: payload))
        }
    }
}

extension ByteBuffer {
    /// Writes `forward` as one sync frame.
    @discardableResult
    public mutating func writeForwardFrame(_ forward: ForwardFrame) -> Int {
        switch forward {
        case .request(let id, let op):
            self.writeFrame(kind: ForwardFrame.Kind.request.rawValue) {
                $0.writeInteger(id) + $0.writeImmutableBuffer(op)
            }
        case .reply(let id, let seq, let output):
            self.writeFrame(kind: ForwardFrame.Kind.reply.rawValue) {
                $0.writeInteger(id) + $0.writeInteger(seq) + $0.writeImmutableBuffer(output)
            }
        case .refusal(let id, let reason):
            self.writeFrame(kind: ForwardFrame.Kind.refusal.rawValue) { $0.writeInteger(id) + $0.writeString(reason) }
        }
    }
}
