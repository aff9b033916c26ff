import NIOCore
import Wire

/// The snapshot encoding of ``TrackerState``, for FULLSYNC and the snapshot files. Big-endian, built from the blocks
/// of `ByteBuffer+TrackerCodec.swift`:
///
/// ```
/// format: UInt8 = 3 (2 is read too: its files have no registrant, its replies no digest; and 1: it has no
///     retries section either)
/// pieceSize: UInt32
/// users: count, then per user, sorted by name:
///     name, password (salt, hash, iterations), sessions: count + tokens, oldest first
/// groups: count, then per group, sorted by name:
///     name, owner, members: count + names, sorted, requests: count + names, in arrival order,
///     files: count, then per file, sorted by name:
///         name, size: UInt64, piece hashes, seeders: count + seeders, in arrival order, registrant (format 3)
/// retries: retryClock: UInt64, count, then per client, sorted by id:
///     client: UInt64, lastHeard: UInt64, replies: count, then per reply, oldest first:
///         request: UInt64, digest (byte string), reply (kind byte, then its fields as in a reply frame)
/// ```
///
/// Names are sorted so that equal states give equal bytes on both trackers. File ids, the session index and the
/// usage table are not stored; decoding derives them. A file of a format-2 snapshot is charged to its first
/// seeder. Decoding checks the invariants listed on ``TrackerState``.
extension TrackerState {
    /// The snapshot format this version writes and reads.
    static let snapshotFormat: UInt8 = 3

    /// Appends the whole state's bytes to `buffer`.
    public func encodeSnapshot(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.snapshotFormat)
        buffer.writeInteger(self.pieceSize)
        buffer.writeTrackerCount(self.users.count)
        for (name, user) in self.users.sorted(by: { $0.key < $1.key }) {
            buffer.writeTrackerString(name)
            buffer.writePasswordHash(user.password)
            buffer.writeTrackerCount(user.sessions.count)
            for token in user.sessions {
                buffer.writeTrackerString(token)
            }
        }
        buffer.writeTrackerCount(self.groups.count)
        for (name, group) in self.groups.sorted(by: { $0.key < $1.key }) {
            buffer.writeTrackerString(name)
            group.encode(into: &buffer)
        }
        buffer.writeInteger(self.retryClock)
        buffer.writeTrackerCount(self.retries.count)
        for (id, client) in self.retries.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(id)
            buffer.writeInteger(client.lastHeard)
            buffer.writeTrackerCount(client.order.count)
            for request in client.order {
                let remembered = client.replies[request]!
                buffer.writeInteger(request)
                buffer.writeTrackerBytes(remembered.digest)
                buffer.writeReplyRecord(remembered.reply)
            }
        }
    }

    /// Reads a state written by ``encodeSnapshot(into:)``; `buffer` must hold exactly its bytes.
    ///
    /// - Throws: ``TrackerCodecError`` for truncated, garbled or left-over bytes, and for a snapshot that breaks the
    ///   state's invariants; never traps.
    public static func decodeSnapshot(from buffer: inout ByteBuffer) throws(TrackerCodecError) -> TrackerState {
        let format = try buffer.readTrackerInteger(as: UInt8.self)
        guard (1...Self.snapshotFormat).contains(format) else { throw .unsupportedFormat(format) }
        let pieceSize = try buffer.readTrackerInteger(as: UInt32.self)
        guard pieceSize > 0 else { throw .inconsistentSnapshot("the piece size is 0") }
        var state = TrackerState(pieceSize: pieceSize)
        try state.readUsers(from: &buffer)
        try state.readGroups(from: &buffer, registrants: format >= 3)
        state.rebuildUsage()
        if format >= 2 { try state.readRetries(from: &buffer, digests: format >= 3) }
        guard buffer.readableBytes == 0 else { throw .trailingBytes(buffer.readableBytes) }
        return state
    }

    private mutating func readRetries(from buffer: inout ByteBuffer, digests: Bool) throws(TrackerCodecError) {
        self.retryClock = try buffer.readTrackerInteger(as: UInt64.self)
        // A client is at least its id, its clock and a count; a reply at least its number and kind byte.
        let clients = try buffer.readTrackerCount(minimumElementSize: 20)
        // Eviction picks the client heard from longest ago: two clients heard at the same tick would make it
        // depend on dictionary order, which differs between processes.
        var heard: Set<UInt64> = []
        for _ in 0..<clients {
            let id = try buffer.readTrackerInteger(as: UInt64.self)
            var client = ClientReplies(lastHeard: try buffer.readTrackerInteger(as: UInt64.self))
            let count = try buffer.readTrackerCount(minimumElementSize: 9)
            for _ in 0..<count {
                let request = try buffer.readTrackerInteger(as: UInt64.self)
                let digest = digests ? try buffer.readTrackerBytes() : []
                do throws(WireError) {
                    client.replies[request] = RememberedReply(digest: digest, reply: try buffer.readReplyRecord())
                } catch {
                    throw .malformedReply("\(error)")
                }
                client.order.append(request)
            }
            guard self.retries.updateValue(client, forKey: id) == nil, client.replies.count == client.order.count,
                (1...Self.repliesKeptPerClient).contains(client.order.count), client.lastHeard <= self.retryClock,
                heard.insert(client.lastHeard).inserted
            else { throw .inconsistentSnapshot("the retries of client \(id) repeat, overflow or are empty") }
        }
        guard self.retries.count <= Self.clientsKept else {
            throw .inconsistentSnapshot("\(self.retries.count) clients' retries kept, over \(Self.clientsKept)")
        }
    }

    private mutating func readUsers(from buffer: inout ByteBuffer) throws(TrackerCodecError) {
        // A user takes at least a name, a password hash and a session count.
        let minimumUserSize = ByteBuffer.minimumStringSize + ByteBuffer.minimumPasswordHashSize + 4
        let count = try buffer.readTrackerCount(minimumElementSize: minimumUserSize)
        self.users.reserveCapacity(count)
        for _ in 0..<count {
            let name = try buffer.readTrackerString()
            let password = try buffer.readPasswordHash()
            let sessionCount = try buffer.readTrackerCount(minimumElementSize: ByteBuffer.minimumStringSize)
            guard sessionCount <= Self.maxSessionsPerUser else {
                throw .inconsistentSnapshot("user \(name) holds \(sessionCount) sessions")
            }
            var sessions: [String] = []
            sessions.reserveCapacity(sessionCount)
            for _ in 0..<sessionCount {
                let token = try buffer.readTrackerString()
                guard self.sessions.updateValue(name, forKey: token) == nil else {
                    throw .inconsistentSnapshot("a session token appears twice")
                }
                sessions.append(token)
            }
            guard self.users.updateValue(UserRecord(password: password, sessions: sessions), forKey: name) == nil else {
                throw .inconsistentSnapshot("user \(name) appears twice")
            }
        }
    }

    private mutating func readGroups(from buffer: inout ByteBuffer, registrants: Bool) throws(TrackerCodecError) {
        // A group takes at least a name, an owner and three counts.
        let count = try buffer.readTrackerCount(minimumElementSize: 2 * ByteBuffer.minimumStringSize + 12)
        self.groups.reserveCapacity(count)
        for _ in 0..<count {
            let name = try buffer.readTrackerString()
            let group = try GroupRecord.decode(from: &buffer, name: name, users: self.users, registrants: registrants)
            guard self.groups.updateValue(group, forKey: name) == nil else {
                throw .inconsistentSnapshot("group \(name) appears twice")
            }
        }
    }
}

extension TrackerState.GroupRecord {
    /// Appends the group (after its name) to a snapshot.
    fileprivate func encode(into buffer: inout ByteBuffer) {
        buffer.writeTrackerString(self.owner)
        buffer.writeTrackerCount(self.members.count)
        for member in self.members.sorted() {
            buffer.writeTrackerString(member)
        }
        buffer.writeTrackerCount(self.requests.count)
        for user in self.requests {
            buffer.writeTrackerString(user)
        }
        buffer.writeTrackerCount(self.files.count)
        for (name, file) in self.files.sorted(by: { $0.key < $1.key }) {
            buffer.writeTrackerString(name)
            buffer.writeInteger(file.size)
            buffer.writePieceHashes(file.pieceHashes)
            buffer.writeTrackerCount(file.seeders.count)
            for seeder in file.seeders {
                buffer.writeSeeder(seeder)
            }
            buffer.writeTrackerString(file.registrant)
        }
    }

    /// Reads the group called `name` from a snapshot, checking that everyone it names is one of `users`.
    fileprivate static func decode(
        from buffer: inout ByteBuffer, name: String, users: [String: TrackerState.UserRecord], registrants: Bool
    ) throws(TrackerCodecError) -> Self {
        let owner = try buffer.readTrackerString()
        guard users[owner] != nil else { throw .inconsistentSnapshot("group \(name): owner \(owner) is no user") }
        var group = Self(owner: owner)
        for _ in 0..<(try buffer.readTrackerCount(minimumElementSize: ByteBuffer.minimumStringSize)) {
            let member = try buffer.readTrackerString()
            guard users[member] != nil, !group.admits(member) else {
                throw .inconsistentSnapshot("group \(name): member \(member) is no user, the owner or a duplicate")
            }
            group.members.insert(member)
        }
        // Checked against a set: `membership(of:)` scans the requests, which would make a long list quadratic.
        var requesters: Set<String> = []
        for _ in 0..<(try buffer.readTrackerCount(minimumElementSize: ByteBuffer.minimumStringSize)) {
            let user = try buffer.readTrackerString()
            guard users[user] != nil, !group.admits(user), requesters.insert(user).inserted else {
                throw .inconsistentSnapshot("group \(name): requester \(user) is no user, in the group or a duplicate")
            }
            group.requests.append(user)
        }
        // A file takes at least a name, a size, an empty hash list and a seeder count.
        let fileCount = try buffer.readTrackerCount(minimumElementSize: 2 * ByteBuffer.minimumStringSize + 12)
        for _ in 0..<fileCount {
            let fileName = try buffer.readTrackerString()
            let file = try group.decodeFile(
                from: &buffer, group: name, name: fileName, registrant: registrants ? users : nil)
            guard group.files.updateValue(file, forKey: fileName) == nil else {
                throw .inconsistentSnapshot("group \(name): file \(fileName) appears twice")
            }
        }
        return group
    }

    /// Reads file `name` of this group from a snapshot, checking that its seeders are members, each once; and,
    /// when the format has them, its registrant, who must be one of `users`.
    private func decodeFile(
        from buffer: inout ByteBuffer, group: String, name: String, registrant users: [String: TrackerState.UserRecord]?
    ) throws(TrackerCodecError) -> TrackerState.FileRecord {
        let size = try buffer.readTrackerInteger(as: UInt64.self)
        let pieceHashes = try buffer.readPieceHashes()
        let seederCount = try buffer.readTrackerCount(minimumElementSize: ByteBuffer.minimumSeederSize)
        guard seederCount > 0 else { throw .inconsistentSnapshot("group \(group): file \(name) has no seeder") }
        var seeders: [Seeder] = []
        seeders.reserveCapacity(seederCount)
        var seederUsers: Set<String> = []
        for _ in 0..<seederCount {
            let seeder = try buffer.readSeeder()
            guard self.admits(seeder.user), seederUsers.insert(seeder.user).inserted else {
                throw .inconsistentSnapshot("group \(group): seeder \(seeder.user) of \(name) is no member or twice")
            }
            seeders.append(seeder)
        }
        var registrant = seeders[0].user
        if let users {
            registrant = try buffer.readTrackerString()
            guard users[registrant] != nil else {
                throw .inconsistentSnapshot("group \(group): the registrant \(registrant) of \(name) is no user")
            }
        }
        return TrackerState.FileRecord(size: size, pieceHashes: pieceHashes, seeders: seeders, registrant: registrant)
    }
}
