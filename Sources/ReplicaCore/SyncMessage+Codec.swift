import NIOCore
import Wire

/// The frame kinds of the sync handshake (docs/PROTOCOL.md, "Sync port").
public enum SyncAuthKind: UInt8, Sendable, CaseIterable {
    case greeting = 0x30
    case challenge = 0x31
    case proof = 0x32
}

/// The frame kind of each sync message (docs/PROTOCOL.md, "Sync port").
public enum SyncKind: UInt8, Sendable, CaseIterable {
    case hello = 0x40
    case requestVote = 0x41
    case vote = 0x42
    case append = 0x43
    case ack = 0x44
    case mismatch = 0x45
    case truncate = 0x46
    case snapshotFollows = 0x47
    case takeOver = 0x4D
}

/// The frame kinds of a FULLSYNC stream, which follows a ``SyncMessage/snapshotFollows(epoch:position:)``: the
/// snapshot file's bytes in order, then its end. The file carries its own checksum, checked before it is used.
public enum SyncStreamKind: UInt8, Sendable, CaseIterable {
    case snapshotBytes = 0x48
    case snapshotEnd = 0x49
}

/// A sync frame that does not decode; the connection that sent it is closed.
public struct SyncCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong, for the log.
    public let description: String
}

extension ByteBuffer {
    /// Writes the next bytes of a snapshot file as one FULLSYNC frame.
    @discardableResult
    public mutating func writeSnapshotBytesFrame(_ bytes: ByteBuffer) -> Int {
        self.writeFrame(kind: SyncStreamKind.snapshotBytes.rawValue) { $0.writeImmutableBuffer(bytes) }
    }

    /// Writes the frame that ends a FULLSYNC stream.
    @discardableResult
    public mutating func writeSnapshotEndFrame() -> Int {
        self.writeFrame(kind: SyncStreamKind.snapshotEnd.rawValue) { _ in 0 }
    }

    /// Writes `message` as one sync frame.
    ///
    /// Records travel as they lie in the WAL (`len | CRC-32C | epoch | seq | payload`), so the receiver checks
    /// each record's checksum as recovery does.
    /// - Returns: The number of bytes written, length field included.
    @discardableResult
    public mutating func writeSyncFrame(_ message: SyncMessage) -> Int {
        self.writeFrame(kind: message.kind.rawValue) { payload in
            switch message {
            case .hello(let hello), .requestVote(let hello):
                return payload.writeHello(hello)
            case .vote(let granted, let voter):
                return payload.writeInteger(UInt8(granted ? 1 : 0)) + payload.writeHello(voter)
            case .append(let append):
                var written = payload.writeInteger(append.epoch) + payload.writePosition(append.previous)
                written +=
                    payload.writeInteger(append.commitSeq) + payload.writeInteger(UInt8(append.backupInSync ? 1 : 0))
                written += payload.writeInteger(append.ackEcho) + payload.writeInteger(UInt32(append.records.count))
                for record in append.records { written += payload.writeLogRecord(record) }
                return written
            case .ack(let epoch, let position, let epochStart, let number):
                return payload.writeInteger(epoch) + payload.writePosition(position) + payload.writeInteger(epochStart)
                    + payload.writeInteger(number)
            case .mismatch(let epoch, let position, let epochStart):
                return payload.writeInteger(epoch) + payload.writePosition(position) + payload.writeInteger(epochStart)
            case .truncate(let epoch, let seq):
                return payload.writeInteger(epoch) + payload.writeInteger(seq)
            case .snapshotFollows(let epoch, let position), .takeOver(let epoch, let position):
                return payload.writeInteger(epoch) + payload.writePosition(position)
            }
        }
    }

    /// Writes a handshake frame.
    /// - Returns: The number of bytes written, length field included.
    @discardableResult
    public mutating func writeSyncAuthFrame(_ frame: SyncAuthFrame) -> Int {
        switch frame {
        case .greeting(let node, let nonce):
            self.writeFrame(kind: SyncAuthKind.greeting.rawValue) { $0.writeInteger(node) + $0.writeBytes(nonce) }
        case .challenge(let nonce, let proof):
            self.writeFrame(kind: SyncAuthKind.challenge.rawValue) { $0.writeBytes(nonce) + $0.writeBytes(proof) }
        case .proof(let proof):
            self.writeFrame(kind: SyncAuthKind.proof.rawValue) { $0.writeBytes(proof) }
        }
    }

    fileprivate mutating func writePosition(_ position: LogPosition) -> Int {
        self.writeInteger(position.epoch) + self.writeInteger(position.seq)
    }

    fileprivate mutating func writeHello(_ hello: Hello) -> Int {
        self.writeInteger(hello.epoch) + self.writeInteger(hello.role.rawValue) + self.writePosition(hello.position)
            + self.writeInteger(hello.epochStart)
    }

    fileprivate mutating func readSyncInteger<Integer: FixedWidthInteger>(
        _ field: String, as: Integer.Type = Integer.self
    ) throws(SyncCodecError) -> Integer {
        guard let value = self.readInteger(as: Integer.self) else {
            throw SyncCodecError(description: "the frame ends before its \(field)")
        }
        return value
    }

    fileprivate mutating func readPosition(_ field: String) throws(SyncCodecError) -> LogPosition {
        LogPosition(epoch: try self.readSyncInteger("\(field) epoch"), seq: try self.readSyncInteger("\(field) seq"))
    }

    fileprivate mutating func readFlag(_ field: String) throws(SyncCodecError) -> Bool {
        switch try self.readSyncInteger(field, as: UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw SyncCodecError(description: "\(field) is \(other), not 0 or 1")
        }
    }

    fileprivate mutating func readHello() throws(SyncCodecError) -> Hello {
        let epoch: UInt64 = try self.readSyncInteger("epoch")
        let rawRole: UInt8 = try self.readSyncInteger("role")
        guard let role = ReplicaRole(rawValue: rawRole) else {
            throw SyncCodecError(description: "role \(rawRole) is not 0, 1 or 2")
        }
        return Hello(
            epoch: epoch, role: role, position: try self.readPosition("position"),
            epochStart: try self.readSyncInteger("epoch start"))
    }
}

extension SyncMessage {
    /// The frame kind this message travels as.
    public var kind: SyncKind {
        switch self {
        case .hello: .hello
        case .requestVote: .requestVote
        case .vote: .vote
        case .append: .append
        case .ack: .ack
        case .mismatch: .mismatch
        case .truncate: .truncate
        case .snapshotFollows: .snapshotFollows
        case .takeOver: .takeOver
        }
    }

    /// Decodes a sync frame.
    /// - Throws: ``SyncCodecError`` for an unknown kind, a short or overlong payload, a bad role or flag, or
    ///   records that are torn, corrupt, not the count announced, or not the entries right after `previous`.
    public init(frame: Frame) throws(SyncCodecError) {
        guard let kind = SyncKind(rawValue: frame.kind) else {
            throw SyncCodecError(description: "unknown sync frame kind 0x\(String(frame.kind, radix: 16))")
        }
        var payload = frame.payload
        switch kind {
        case .hello:
            self = .hello(try payload.readHello())
        case .requestVote:
            self = .requestVote(candidate: try payload.readHello())
        case .vote:
            let granted = try payload.readFlag("granted")
            self = .vote(granted: granted, voter: try payload.readHello())
        case .append:
            let epoch: UInt64 = try payload.readSyncInteger("epoch")
            let previous = try payload.readPosition("previous")
            let commitSeq: UInt64 = try payload.readSyncInteger("commit seq")
            let inSync = try payload.readFlag("in-sync flag")
            let ackEcho: UInt64 = try payload.readSyncInteger("ack echo")
            let count: UInt32 = try payload.readSyncInteger("record count")
            let scan = LogScan.scan(payload)
            guard case .clean = scan.ending, scan.records.count == count else {
                throw SyncCodecError(description: "the append announces \(count) records; they do not all check out")
            }
            let inOrder = scan.records.enumerated().allSatisfy { index, record in
                previous.seq < SyncMessage.maxCounter && record.seq == previous.seq + 1 + UInt64(index)
                    && record.epoch <= epoch
                    && record.epoch >= (index == 0 ? previous.epoch : scan.records[index - 1].epoch)
            }
            guard inOrder else {
                throw SyncCodecError(description: "the append's records do not follow \(previous) in order")
            }
            payload.moveReaderIndex(forwardBy: scan.validLength)
            self = .append(
                Append(
                    epoch: epoch, previous: previous, records: scan.records, commitSeq: commitSeq,
                    backupInSync: inSync, ackEcho: ackEcho))
        case .ack:
            self = .ack(
                epoch: try payload.readSyncInteger("epoch"), position: try payload.readPosition("position"),
                epochStart: try payload.readSyncInteger("epoch start"), number: try payload.readSyncInteger("number"))
        case .mismatch:
            self = .mismatch(
                epoch: try payload.readSyncInteger("epoch"), position: try payload.readPosition("position"),
                epochStart: try payload.readSyncInteger("epoch start"))
        case .truncate:
            self = .truncate(epoch: try payload.readSyncInteger("epoch"), afterSeq: try payload.readSyncInteger("seq"))
        case .snapshotFollows:
            self = .snapshotFollows(
                epoch: try payload.readSyncInteger("epoch"), position: try payload.readPosition("position"))
        case .takeOver:
            self = .takeOver(epoch: try payload.readSyncInteger("epoch"), through: try payload.readPosition("through"))
        }
        guard payload.readableBytes == 0 else {
            throw SyncCodecError(description: "\(payload.readableBytes) bytes after the fields of a \(kind) frame")
        }
        try self.checkBounds()
    }

    /// The largest epoch or seq a frame may carry: far beyond any real log, and far enough below `UInt64.max`
    /// that nothing a peer sends can make the arithmetic of the core overflow.
    public static let maxCounter: UInt64 = 1 << 62

    private func checkBounds() throws(SyncCodecError) {
        var counters: [UInt64] = [self.epoch]
        switch self {
        case .hello(let hello), .requestVote(let hello), .vote(_, let hello):
            counters += [hello.position.epoch, hello.position.seq, hello.epochStart]
        case .append(let append):
            counters += [append.previous.epoch, append.previous.seq + UInt64(append.records.count), append.commitSeq]
            counters += append.records.map(\.epoch)
        case .ack(_, let position, let epochStart, _), .mismatch(_, let position, let epochStart):
            counters += [position.epoch, position.seq, epochStart]
        case .truncate(_, let seq):
            counters.append(seq)
        case .snapshotFollows(_, let position), .takeOver(_, let position):
            counters += [position.epoch, position.seq]
        }
        guard counters.allSatisfy({ $0 < Self.maxCounter }) else {
            throw SyncCodecError(description: "a \(self.kind) frame carries an epoch or seq of 2^62 or more")
        }
    }
}
