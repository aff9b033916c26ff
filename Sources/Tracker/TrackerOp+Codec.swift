import NIOCore
import Wire

/// The binary encoding of ``TrackerOp`` for the write-ahead log and SYNC: a format byte (1), a tag byte naming the
/// op, then its fields in declaration order, using the blocks of `ByteBuffer+TrackerCodec.swift`.
///
/// | tag | op | fields |
/// |---|---|---|
/// | 1 | createUser | user, password (salt, hash, iterations: UInt32) |
/// | 2 | openSession | user, token |
/// | 3 | closeSession | token |
/// | 4 | createGroup | group, owner |
/// | 5 | requestJoin | group, user |
/// | 6 | leaveGroup | group, user |
/// | 7 | acceptRequest | group, owner, user |
/// | 8 | addFile | group, name, size: UInt64, piece hashes (byte string), seeder (user, host, port: UInt16) |
/// | 9 | addSeeder | group, name, seeder |
/// | 10 | removeSeeder | group, name, user |
/// | 11 | identified, without a digest (read only: logs written before digests were kept) | client: UInt64, request: UInt64, then the op, whole |
/// | 12 | stamped | at: UInt64 (ms since 1970), then the op, whole; plain or identified, not itself stamped |
/// | 13 | identified | client: UInt64, request: UInt64, digest (byte string), then the op, whole (format byte, tag, fields); not a wrapper |
/// | 14 | rejectRequest | group, owner, user |
/// | 15 | removeMember | group, owner, user |
extension TrackerOp {
    /// The encoding format this version writes and reads.
    static let format: UInt8 = 1

    private enum Tag: UInt8 {
        case createUser = 1
        case openSession = 2
        case closeSession = 3
        case createGroup = 4
        case requestJoin = 5
        case leaveGroup = 6
        case acceptRequest = 7
        case addFile = 8
        case addSeeder = 9
        case removeSeeder = 10
        case undigestedIdentified = 11
        case stamped = 12
        case identified = 13
        case rejectRequest = 14
        case removeMember = 15
    }

    /// An owner's act on a user of a group: the tag, then group, owner and user.
    private static func encodeOwnerAct(
        _ tag: Tag, group: String, owner: String, user: String, into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(tag.rawValue)
        buffer.writeTrackerString(group)
        buffer.writeTrackerString(owner)
        buffer.writeTrackerString(user)
    }

    /// Appends the op's bytes to `buffer`.
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.format)
        switch self {
        case .createUser(let user, let password):
            buffer.writeInteger(Tag.createUser.rawValue)
            buffer.writeTrackerString(user)
            buffer.writePasswordHash(password)
        case .openSession(let user, let token):
            buffer.writeInteger(Tag.openSession.rawValue)
            buffer.writeTrackerString(user)
            buffer.writeTrackerString(token)
        case .closeSession(let token):
            buffer.writeInteger(Tag.closeSession.rawValue)
            buffer.writeTrackerString(token)
        case .createGroup(let group, let owner):
            buffer.writeInteger(Tag.createGroup.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(owner)
        case .requestJoin(let group, let user):
            buffer.writeInteger(Tag.requestJoin.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(user)
        case .leaveGroup(let group, let user):
            buffer.writeInteger(Tag.leaveGroup.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(user)
        case .acceptRequest(let group, let owner, let user):
            Self.encodeOwnerAct(.acceptRequest, group: group, owner: owner, user: user, into: &buffer)
        case .rejectRequest(let group, let owner, let user):
            Self.encodeOwnerAct(.rejectRequest, group: group, owner: owner, user: user, into: &buffer)
        case .removeMember(let group, let owner, let user):
            Self.encodeOwnerAct(.removeMember, group: group, owner: owner, user: user, into: &buffer)
        case .addFile(let group, let name, let size, let pieceHashes, let seeder):
            buffer.writeInteger(Tag.addFile.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(name)
            buffer.writeInteger(size)
            buffer.writePieceHashes(pieceHashes)
            buffer.writeSeeder(seeder)
        case .addSeeder(let group, let name, let seeder):
            buffer.writeInteger(Tag.addSeeder.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(name)
            buffer.writeSeeder(seeder)
        case .removeSeeder(let group, let name, let user):
            buffer.writeInteger(Tag.removeSeeder.rawValue)
            buffer.writeTrackerString(group)
            buffer.writeTrackerString(name)
            buffer.writeTrackerString(user)
        case .identified(let origin, let op):
            buffer.writeInteger(Tag.identified.rawValue)
            buffer.writeInteger(origin.client)
            buffer.writeInteger(origin.request)
            buffer.writeTrackerBytes(origin.digest)
            op.encode(into: &buffer)
        case .stamped(let at, let op):
            buffer.writeInteger(Tag.stamped.rawValue)
            buffer.writeInteger(at)
            op.encode(into: &buffer)
        }
    }

    /// Reads one op written by ``encode(into:)`` from the front of `buffer`, leaving any bytes after it.
    static func decode(from buffer: inout ByteBuffer) throws(TrackerCodecError) -> TrackerOp {
        let format = try buffer.readTrackerInteger(as: UInt8.self)
        guard format == Self.format else { throw .unsupportedFormat(format) }
        let rawTag = try buffer.readTrackerInteger(as: UInt8.self)
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownOp(rawTag) }
        switch tag {
        case .createUser:
            return try .createUser(user: buffer.readTrackerString(), password: buffer.readPasswordHash())
        case .openSession:
            return try .openSession(user: buffer.readTrackerString(), token: buffer.readTrackerString())
        case .closeSession:
            return try .closeSession(token: buffer.readTrackerString())
        case .createGroup:
            return try .createGroup(group: buffer.readTrackerString(), owner: buffer.readTrackerString())
        case .requestJoin:
            return try .requestJoin(group: buffer.readTrackerString(), user: buffer.readTrackerString())
        case .leaveGroup:
            return try .leaveGroup(group: buffer.readTrackerString(), user: buffer.readTrackerString())
        case .acceptRequest:
            return try .acceptRequest(
                group: buffer.readTrackerString(), owner: buffer.readTrackerString(), user: buffer.readTrackerString()
            )
        case .rejectRequest:
            return try .rejectRequest(
                group: buffer.readTrackerString(), owner: buffer.readTrackerString(), user: buffer.readTrackerString()
            )
        case .removeMember:
            return try .removeMember(
                group: buffer.readTrackerString(), owner: buffer.readTrackerString(), user: buffer.readTrackerString()
            )
        case .addFile:
            return try .addFile(
                group: buffer.readTrackerString(), name: buffer.readTrackerString(),
                size: buffer.readTrackerInteger(as: UInt64.self), pieceHashes: buffer.readPieceHashes(),
                seeder: buffer.readSeeder()
            )
        case .addSeeder:
            return try .addSeeder(
                group: buffer.readTrackerString(), name: buffer.readTrackerString(), seeder: buffer.readSeeder()
            )
        case .removeSeeder:
            return try .removeSeeder(
                group: buffer.readTrackerString(), name: buffer.readTrackerString(), user: buffer.readTrackerString()
            )
        case .identified, .undigestedIdentified:
            let client = try buffer.readTrackerInteger(as: UInt64.self)
            let request = try buffer.readTrackerInteger(as: UInt64.self)
            let digest = tag == .identified ? try buffer.readTrackerBytes() : []
            // Refuse nesting before decoding the inner op: a deep nest would otherwise recurse off the stack.
            let innerTag = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
            if let innerTag, [Tag.identified, .undigestedIdentified, .stamped].map(\.rawValue).contains(innerTag) {
                throw .unknownOp(innerTag)
            }
            let origin = RequestOrigin(client: client, request: request, digest: digest)
            return .identified(origin, try TrackerOp.decode(from: &buffer))
        case .stamped:
            let at = try buffer.readTrackerInteger(as: UInt64.self)
            // As above; an identified op inside may hold neither wrapper, so nesting stops at two levels.
            let innerTag = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
            guard innerTag != Tag.stamped.rawValue else { throw .unknownOp(Tag.stamped.rawValue) }
            return .stamped(at: at, try TrackerOp.decode(from: &buffer))
        }
    }
}

extension TrackerState {
    /// Appends `op`'s bytes to `buffer` (format byte, tag, fields; see `TrackerOp+Codec.swift`).
    public static func encode(_ op: TrackerOp, into buffer: inout ByteBuffer) {
        op.encode(into: &buffer)
    }

    /// Reads an op written by ``encode(_:into:)``; `buffer` must hold exactly its bytes.
    ///
    /// - Throws: ``TrackerCodecError`` for truncated, garbled or left-over bytes; never traps.
    public static func decodeOp(from buffer: inout ByteBuffer) throws(TrackerCodecError) -> TrackerOp {
        let op = try TrackerOp.decode(from: &buffer)
        guard buffer.readableBytes == 0 else { throw .trailingBytes(buffer.readableBytes) }
        return op
    }

    /// Appends `reply`'s bytes to `buffer`, as the retry table stores them.
    public static func encode(_ reply: Reply, into buffer: inout ByteBuffer) {
        buffer.writeReplyRecord(reply)
    }

    /// Reads a reply written by ``encode(_:into:)-(Reply,_)``; `buffer` must hold exactly its bytes.
    public static func decodeOutput(from buffer: inout ByteBuffer) throws(WireError) -> Reply {
        let reply = try buffer.readReplyRecord()
        guard buffer.readableBytes == 0 else { throw .malformedPayload("trailing bytes after a reply") }
        return reply
    }
}
