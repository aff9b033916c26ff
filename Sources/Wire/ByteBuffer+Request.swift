import NIOCore

// The payload of each request kind, after the request id (docs/PROTOCOL.md, "Request kinds").
extension ByteBuffer {
    /// Reads the fields of a request of kind `kind` from a frame's payload, after its request id.
    ///
    /// Leaves any bytes after the fields for the caller, which refuses them as trailing bytes.
    /// - Throws: ``WireError/unknownKind(_:)`` for a kind that is not a request's, and
    ///   ``WireError/malformedPayload(_:)`` for fields that do not decode.
    mutating func readRequest(kind: UInt8) throws(WireError) -> Request {
        guard let known = RequestKind(rawValue: kind) else { throw .unknownKind(kind) }
        switch known {
        case .createUser:
            return .createUser(user: try self.readWireString("user"), password: try self.readWireString("password"))
        case .login:
            return .login(user: try self.readWireString("user"), password: try self.readWireString("password"))
        case .resume:
            return .resume(token: try self.readWireString("token"))
        case .logout:
            return .logout
        case .whoami:
            return .whoami
        case .createGroup:
            return .createGroup(group: try self.readWireString("group"))
        case .joinGroup:
            return .joinGroup(group: try self.readWireString("group"))
        case .leaveGroup:
            return .leaveGroup(group: try self.readWireString("group"))
        case .listGroups:
            return .listGroups
        case .listRequests:
            return .listRequests(group: try self.readWireString("group"))
        case .acceptRequest:
            return .acceptRequest(group: try self.readWireString("group"), user: try self.readWireString("user"))
        case .rejectRequest:
            return .rejectRequest(group: try self.readWireString("group"), user: try self.readWireString("user"))
        case .removeMember:
            return .removeMember(group: try self.readWireString("group"), user: try self.readWireString("user"))
        case .uploadFile:
            return .uploadFile(
                group: try self.readWireString("group"),
                name: try self.readWireString("name"),
                size: try self.readWireInteger("size", as: UInt64.self),
                pieceHashes: try self.readWirePieceHashes("hashes"),
                port: try self.readWireInteger("port", as: UInt16.self)
            )
        case .listFiles:
            return .listFiles(group: try self.readWireString("group"))
        case .downloadFile:
            return .downloadFile(group: try self.readWireString("group"), name: try self.readWireString("name"))
        case .stopShare:
            return .stopShare(group: try self.readWireString("group"), name: try self.readWireString("name"))
        case .newSeeder:
            let group = try self.readWireOptionalTag("group") ? try self.readWireString("group") : nil
            return .newSeeder(
                group: group,
                name: try self.readWireString("name"),
                port: try self.readWireInteger("port", as: UInt16.self)
            )
        case .quit:
            let mac = try self.readWireOptionalTag("mac") ? try self.readWireByteString("mac") : nil
            return .quit(mac: mac)
        case .identify:
            let client = try self.readWireByteString("client")
            guard Request.clientIDLengths.contains(client.count) else {
                throw .malformedPayload(
                    "client: \(client.count) bytes; a client id is \(Request.clientIDLengths) random bytes")
            }
            return .identify(client: client)
        case .status:
            return .status
        case .promote:
            let mac = try self.readWireOptionalTag("mac") ? try self.readWireByteString("mac") : nil
            return .promote(mac: mac)
        case .switchover:
            let mac = try self.readWireOptionalTag("mac") ? try self.readWireByteString("mac") : nil
            return .switchover(mac: mac)
        case .checkPeer:
            return .checkPeer(
                user: try self.readWireString("user"), group: try self.readWireString("group"),
                proof: try self.readWireByteString("proof"))
        case .readLog:
            let start: LogQuery.Start =
                try self.readWireOptionalTag("cursor")
                ? .after(try self.readLogCursor()) : .seq(try self.readWireInteger("from", as: UInt64.self))
            let query = LogQuery(start: start, limit: try self.readWireInteger("limit", as: UInt32.self))
            let mac = try self.readWireOptionalTag("mac") ? try self.readWireByteString("mac") : nil
            return .readLog(query, mac: mac)
        }
    }

    /// Reads a ``LogCursor``: its segment and offset.
    mutating func readLogCursor() throws(WireError) -> LogCursor {
        LogCursor(
            segment: try self.readWireInteger("segment", as: UInt64.self),
            offset: try self.readWireInteger("offset", as: UInt64.self))
    }

    /// Writes a ``LogCursor``.
    mutating func writeLogCursor(_ cursor: LogCursor) -> Int {
        self.writeInteger(cursor.segment) + self.writeInteger(cursor.offset)
    }

    /// Writes the fields of `request`: what ``readRequest(kind:)`` reads, without the kind byte and request id.
    ///
    /// - Returns: The number of bytes written.
    @discardableResult
    mutating func writeRequest(_ request: Request) -> Int {
        switch request {
        case .createUser(let user, let password), .login(let user, let password):
            return self.writeWireString(user) + self.writeWireString(password)
        case .resume(let token):
            return self.writeWireString(token)
        case .logout, .whoami, .listGroups, .status:
            return 0
        case .identify(let client):
            return self.writeWireByteString(client)
        case .createGroup(let group), .joinGroup(let group), .leaveGroup(let group), .listRequests(let group),
            .listFiles(let group):
            return self.writeWireString(group)
        case .acceptRequest(let group, let user), .rejectRequest(let group, let user),
            .removeMember(let group, let user):
            return self.writeWireString(group) + self.writeWireString(user)
        case .uploadFile(let group, let name, let size, let pieceHashes, let port):
            return self.writeWireString(group) + self.writeWireString(name) + self.writeInteger(size)
                + self.writeWirePieceHashes(pieceHashes) + self.writeInteger(port)
        case .downloadFile(let group, let name), .stopShare(let group, let name):
            return self.writeWireString(group) + self.writeWireString(name)
        case .newSeeder(let group, let name, let port):
            var written = self.writeWireOptionalTag(group != nil)
            if let group {
                written += self.writeWireString(group)
            }
            return written + self.writeWireString(name) + self.writeInteger(port)
        case .quit(let mac), .promote(let mac), .switchover(let mac):
            var written = self.writeWireOptionalTag(mac != nil)
            if let mac {
                written += self.writeWireByteString(mac)
            }
            return written
        case .checkPeer(let user, let group, let proof):
            return self.writeWireString(user) + self.writeWireString(group) + self.writeWireByteString(proof)
        case .readLog(let query, let mac):
            var written: Int
            switch query.start {
            case .seq(let seq): written = self.writeWireOptionalTag(false) + self.writeInteger(seq)
            case .after(let cursor): written = self.writeWireOptionalTag(true) + self.writeLogCursor(cursor)
            }
            written += self.writeInteger(query.limit) + self.writeWireOptionalTag(mac != nil)
            if let mac { written += self.writeWireByteString(mac) }
            return written
        }
    }
}
