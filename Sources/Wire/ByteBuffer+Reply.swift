import NIOCore

// The payload of each reply kind, after the request id (docs/PROTOCOL.md, "Reply kinds").
extension ByteBuffer {
    /// Reads the fields of a reply of kind `kind` from a frame's payload, after its request id.
    ///
    /// Leaves any bytes after the fields for the caller, which refuses them as trailing bytes.
    /// - Throws: ``WireError/unknownKind(_:)`` for a kind that is not a reply's, and
    ///   ``WireError/malformedPayload(_:)`` for fields that do not decode.
    mutating func readReply(kind: UInt8) throws(WireError) -> Reply {
        guard let known = ReplyKind(rawValue: kind) else { throw .unknownKind(kind) }
        switch known {
        case .ok:
            return .ok
        case .token:
            return .token(try self.readWireString("token"))
        case .user:
            return .user(try self.readWireString("user"))
        case .groups:
            // A group entry is at least a 4-byte name length and a membership byte.
            let count = try self.readWireCount("groups", minimumItemSize: 5)
            var groups: [GroupEntry] = []
            groups.reserveCapacity(count)
            for _ in 0..<count {
                groups.append(try self.readGroupEntry())
            }
            return .groups(groups)
        case .users:
            return .users(try self.readWireStrings("users"))
        case .files:
            // A file entry is at least two 4-byte string lengths, an 8-byte size and a 4-byte seeder count.
            let count = try self.readWireCount("files", minimumItemSize: 20)
            var files: [FileEntry] = []
            files.reserveCapacity(count)
            for _ in 0..<count {
                files.append(try self.readFileEntry())
            }
            return .files(files)
        case .fileID:
            return .fileID(try self.readWireString("file id"))
        case .fileInfo:
            return .fileInfo(try self.readFileInfo())
        case .challenge:
            return .challenge(try self.readWireByteString("nonce"))
        case .error:
            let code = try self.readWireString("error code")
            guard let known = ErrorCode(rawValue: code) else {
                throw .malformedPayload("error code: '\(code.prefix(64))' is not a known code")
            }
            return .error(known, try self.readWireString("error message"))
        case .status:
            // A field is at least two 4-byte string lengths.
            let count = try self.readWireCount("status fields", minimumItemSize: 8)
            var fields: [StatusField] = []
            for _ in 0..<count {
                fields.append(
                    StatusField(try self.readWireString("field name"), try self.readWireString("field value")))
            }
            return .status(fields)
        case .logPage:
            return .logPage(try self.readLogPage())
        }
    }

    /// Writes `reply` whole, its kind byte then its fields, as it is kept outside a frame (a tracker's record of
    /// the replies it gave, for retried requests).
    ///
    /// - Returns: The number of bytes written.
    @discardableResult
    public mutating func writeReplyRecord(_ reply: Reply) -> Int {
        self.writeInteger(reply.kind.rawValue) + self.writeReply(reply)
    }

    /// Reads a reply written by ``writeReplyRecord(_:)`` from the front of the buffer, leaving what follows.
    /// - Throws: ``WireError/unknownKind(_:)`` or ``WireError/malformedPayload(_:)``.
    public mutating func readReplyRecord() throws(WireError) -> Reply {
        guard let kind = self.readInteger(as: UInt8.self) else { throw .malformedPayload("a reply record is empty") }
        return try self.readReply(kind: kind)
    }

    /// Writes the fields of `reply`: what ``readReply(kind:)`` reads, without the kind byte and request id.
    ///
    /// - Returns: The number of bytes written.
    @discardableResult
    mutating func writeReply(_ reply: Reply) -> Int {
        switch reply {
        case .ok:
            return 0
        case .token(let text), .user(let text), .fileID(let text):
            return self.writeWireString(text)
        case .groups(let groups):
            var written = self.writeWireCount(groups.count)
            for group in groups {
                written += self.writeWireString(group.name) + self.writeInteger(group.membership.rawValue)
            }
            return written
        case .users(let users):
            return self.writeWireStrings(users)
        case .files(let files):
            var written = self.writeWireCount(files.count)
            for file in files {
                written += self.writeWireString(file.name) + self.writeInteger(file.size)
                written += self.writeInteger(file.seeders) + self.writeWireString(file.fileID)
            }
            return written
        case .fileInfo(let info):
            return self.writeFileInfo(info)
        case .challenge(let nonce):
            return self.writeWireByteString(nonce)
        case .error(let code, let message):
            return self.writeWireString(code.rawValue) + self.writeWireString(message)
        case .status(let fields):
            var written = self.writeWireCount(fields.count)
            for field in fields { written += self.writeWireString(field.name) + self.writeWireString(field.value) }
            return written
        case .logPage(let page):
            return self.writeLogPage(page)
        }
    }

    /// The tag byte before each item of a ``LogPage``.
    private enum LogItemTag: UInt8 {
        case op = 0
        case snapshot = 1
        case segmentEnd = 2
        case cut = 3
    }

    private mutating func readLogPage() throws(WireError) -> LogPage {
        let cursor = try self.readLogCursor()
        let more = try self.readWireOptionalTag("more")
        // An item is at least its tag and two 8-byte numbers.
        let count = try self.readWireCount("log items", minimumItemSize: 17)
        var items: [LogPage.Item] = []
        items.reserveCapacity(count)
        for _ in 0..<count {
            let raw = try self.readWireInteger("log item tag", as: UInt8.self)
            switch LogItemTag(rawValue: raw) {
            case .op:
                items.append(
                    .op(
                        seq: try self.readWireInteger("seq"), epoch: try self.readWireInteger("epoch"),
                        payload: try self.readWireByteString("payload")))
            case .snapshot:
                items.append(.snapshot(seq: try self.readWireInteger("seq"), epoch: try self.readWireInteger("epoch")))
            case .segmentEnd:
                items.append(
                    .segmentEnd(
                        segment: try self.readWireString("segment"), offset: try self.readWireInteger("offset"),
                        problem: try self.readWireString("problem")))
            case .cut:
                items.append(
                    .cut(
                        file: try self.readWireString("file"), time: try self.readWireInteger("time"),
                        fromSeq: try self.readWireInteger("from seq"), ops: try self.readWireInteger("ops")))
            case nil:
                throw .malformedPayload("log item tag: \(raw) is not 0 to 3")
            }
        }
        return LogPage(items: items, cursor: cursor, more: more)
    }

    private mutating func writeLogPage(_ page: LogPage) -> Int {
        var written = self.writeLogCursor(page.cursor) + self.writeWireOptionalTag(page.more)
        written += self.writeWireCount(page.items.count)
        for item in page.items {
            switch item {
            case .op(let seq, let epoch, let payload):
                written += self.writeInteger(LogItemTag.op.rawValue) + self.writeInteger(seq) + self.writeInteger(epoch)
                written += self.writeWireByteString(payload)
            case .snapshot(let seq, let epoch):
                written += self.writeInteger(LogItemTag.snapshot.rawValue) + self.writeInteger(seq)
                written += self.writeInteger(epoch)
            case .segmentEnd(let segment, let offset, let problem):
                written += self.writeInteger(LogItemTag.segmentEnd.rawValue) + self.writeWireString(segment)
                written += self.writeInteger(offset) + self.writeWireString(problem)
            case .cut(let file, let time, let fromSeq, let ops):
                written += self.writeInteger(LogItemTag.cut.rawValue) + self.writeWireString(file)
                written += self.writeInteger(time) + self.writeInteger(fromSeq) + self.writeInteger(ops)
            }
        }
        return written
    }

    private mutating func readGroupEntry() throws(WireError) -> GroupEntry {
        let name = try self.readWireString("group name")
        let raw = try self.readWireInteger("membership", as: UInt8.self)
        guard let membership = Membership(rawValue: raw) else {
            throw .malformedPayload("membership: \(raw) is not 0 to 3")
        }
        return GroupEntry(name: name, membership: membership)
    }

    private mutating func readFileEntry() throws(WireError) -> FileEntry {
        FileEntry(
            name: try self.readWireString("file name"),
            size: try self.readWireInteger("file size", as: UInt64.self),
            seeders: try self.readWireInteger("seeder count", as: UInt32.self),
            fileID: try self.readWireString("file id")
        )
    }

    private mutating func readFileInfo() throws(WireError) -> FileInfo {
        let group = try self.readWireString("group")
        let name = try self.readWireString("name")
        let size = try self.readWireInteger("size", as: UInt64.self)
        let pieceSize = try self.readWireInteger("piece size", as: UInt32.self)
        let hashes = try self.readWirePieceHashes("hashes")
        let fileID = try self.readWireString("file id")
        // A seeder is at least two 4-byte string lengths and a 2-byte port.
        let count = try self.readWireCount("seeders", minimumItemSize: 10)
        var seeders: [Seeder] = []
        seeders.reserveCapacity(count)
        for _ in 0..<count {
            seeders.append(
                Seeder(
                    user: try self.readWireString("seeder user"),
                    host: try self.readWireString("seeder host"),
                    port: try self.readWireInteger("seeder port", as: UInt16.self)
                ))
        }
        return FileInfo(
            group: group, name: name, size: size, pieceSize: pieceSize, pieceHashes: hashes, fileID: fileID,
            seeders: seeders)
    }

    private mutating func writeFileInfo(_ info: FileInfo) -> Int {
        var written = self.writeWireString(info.group) + self.writeWireString(info.name)
        written += self.writeInteger(info.size) + self.writeInteger(info.pieceSize)
        written += self.writeWirePieceHashes(info.pieceHashes) + self.writeWireString(info.fileID)
        written += self.writeWireCount(info.seeders.count)
        for seeder in info.seeders {
            written += self.writeWireString(seeder.user) + self.writeWireString(seeder.host)
            written += self.writeInteger(seeder.port)
        }
        return written
    }
}
