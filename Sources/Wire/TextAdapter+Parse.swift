extension TextAdapter {
    /// Parses one text line, without its line ending, into a request.
    ///
    /// Fields are separated by `|`; the command name comes first and is matched case-sensitively. Fields are taken
    /// as given, spaces included (the tracker validates names). docs/PROTOCOL.md lists every command.
    /// - Returns: The request, or ``WireError/unknownCommand(_:)`` for an unknown name (cut to 64 characters), or
    ///   ``WireError/badLine(_:)`` naming what is wrong: the field count (with the command's usage), an empty
    ///   field, a size, port, hash list or MAC that does not parse.
    public static func parse(_ line: Substring) -> Result<Request, WireError> {
        Result { () throws(WireError) in try Self.request(line) }
    }

    private static func request(_ line: Substring) throws(WireError) -> Request {
        // Split on the scalar `|`, not on characters, so that a combining mark after `|` cannot hide a separator.
        let parts = line.unicodeScalars.split(separator: "|", omittingEmptySubsequences: false).map(Substring.init)
        let command = parts.first ?? ""
        let args = Line(command: command, values: Array(parts.dropFirst()))
        switch command {
        case "CREATE_USER":
            let fields = try args.fields(["user", "password"])
            return .createUser(user: fields[0], password: fields[1])
        case "LOGIN":
            let fields = try args.fields(["user", "password"])
            return .login(user: fields[0], password: fields[1])
        case "RESUME":
            return .resume(token: try args.fields(["token"])[0])
        case "LOGOUT":
            _ = try args.fields([])
            return .logout
        case "WHOAMI":
            _ = try args.fields([])
            return .whoami
        case "CREATE_GROUP":
            return .createGroup(group: try args.fields(["group"])[0])
        case "JOIN_GROUP":
            return .joinGroup(group: try args.fields(["group"])[0])
        case "LEAVE_GROUP":
            return .leaveGroup(group: try args.fields(["group"])[0])
        case "LIST_GROUPS":
            _ = try args.fields([])
            return .listGroups
        case "LIST_REQUESTS":
            return .listRequests(group: try args.fields(["group"])[0])
        case "ACCEPT_REQUEST", "ACCEPT_REQUESTS":
            let fields = try args.fields(["group", "user"])
            return .acceptRequest(group: fields[0], user: fields[1])
        case "REJECT_REQUEST":
            let fields = try args.fields(["group", "user"])
            return .rejectRequest(group: fields[0], user: fields[1])
        case "REMOVE_MEMBER":
            let fields = try args.fields(["group", "user"])
            return .removeMember(group: fields[0], user: fields[1])
        case "UPLOAD_FILE":
            let fields = try args.fields(["group", "name", "size", "hashes", "port"], mayBeEmpty: "hashes")
            return .uploadFile(
                group: fields[0],
                name: fields[1],
                size: try args.size(fields[2]),
                pieceHashes: try args.hashes(fields[3]),
                port: try args.port(fields[4])
            )
        case "LIST_FILES":
            return .listFiles(group: try args.fields(["group"])[0])
        case "DOWNLOAD_FILE":
            let fields = try args.fields(["group", "name"])
            return .downloadFile(group: fields[0], name: fields[1])
        case "STOP_SHARE":
            let fields = try args.fields(["group", "name"])
            return .stopShare(group: fields[0], name: fields[1])
        case "NEW_SEEDER":
            let fields = try args.fields(["name", "port"], or: ["group", "name", "port"])
            let port = try args.port(fields[fields.count - 1])
            return fields.count == 3
                ? .newSeeder(group: fields[0], name: fields[1], port: port)
                : .newSeeder(group: nil, name: fields[0], port: port)
        case "QUIT":
            let fields = try args.fields([], or: ["mac"])
            return .quit(mac: try fields.first.map { mac throws(WireError) in try args.mac(mac) })
        case "CLIENT":
            let field = try args.fields(["id"])[0]
            guard let client = Hex.decode(Substring(field)), Request.clientIDLengths.contains(client.count) else {
                let digits = "\(Request.clientIDLengths.lowerBound * 2) to \(Request.clientIDLengths.upperBound * 2)"
                throw .badLine("CLIENT: id must be \(digits) hex digits drawn at random, not \(field.prefix(64))")
            }
            return .identify(client: client)
        case "STATUS":
            _ = try args.fields([])
            return .status
        case "PROMOTE":
            let fields = try args.fields([], or: ["mac"])
            return .promote(mac: try fields.first.map { mac throws(WireError) in try args.mac(mac) })
        case "SWITCHOVER":
            let fields = try args.fields([], or: ["mac"])
            return .switchover(mac: try fields.first.map { mac throws(WireError) in try args.mac(mac) })
        case "READ_LOG":
            let fields = try args.fields(["from", "limit"], or: ["from", "limit", "mac"])
            let limit = try args.size(fields[1])
            guard limit <= UInt32.max else { throw .badLine("READ_LOG: limit \(limit) is too large") }
            let query = LogQuery(start: try args.logStart(fields[0]), limit: UInt32(limit))
            return .readLog(
                query, mac: try fields.dropFirst(2).first.map { mac throws(WireError) in try args.mac(mac) })
        case "CHECK_PEER":
            let fields = try args.fields(["user", "group", "proof"])
            return .checkPeer(user: fields[0], group: fields[1], proof: try args.mac(fields[2]))
        default:
            throw .unknownCommand(String(command.prefix(64)))
        }
    }
}

/// The fields of one text line, with the checks that name the command and field in their errors.
private struct Line {
    /// How much of a bad value an error message repeats.
    private static let quoteLimit = 64

    let command: Substring
    let values: [Substring]

    /// The fields, checked against the command's forms: their count must match one form, and no field may be
    /// empty except the one named `mayBeEmpty`.
    func fields(_ form: [String], or other: [String]? = nil, mayBeEmpty: String? = nil) throws(WireError) -> [String] {
        let forms = [form] + (other.map { [$0] } ?? [])
        guard let names = forms.first(where: { $0.count == self.values.count }) else {
            throw .badLine(self.usage(forms))
        }
        for (name, value) in zip(names, self.values) where value.isEmpty && name != mayBeEmpty {
            throw .badLine("\(self.command): \(name) is empty")
        }
        return self.values.map(String.init)
    }

    /// A decimal UInt64 of digits only: no sign, no spaces.
    func size(_ text: String) throws(WireError) -> UInt64 {
        let limit = "0 to \(UInt64.max)"
        guard !text.isEmpty, text.utf8.allSatisfy({ UInt8(ascii: "0") <= $0 && $0 <= UInt8(ascii: "9") }) else {
            throw .badLine("\(self.command): size '\(Self.quote(text))' is not a decimal number of bytes (\(limit))")
        }
        guard let size = UInt64(text) else {
            throw .badLine("\(self.command): size '\(Self.quote(text))' is too large (\(limit))")
        }
        return size
    }

    /// A decimal port number, 1 to 65535.
    func port(_ text: String) throws(WireError) -> UInt16 {
        guard text.utf8.allSatisfy({ UInt8(ascii: "0") <= $0 && $0 <= UInt8(ascii: "9") }),
            let port = UInt16(text), port > 0
        else {
            throw .badLine("\(self.command): port '\(Self.quote(text))' is not a port number (1 to 65535)")
        }
        return port
    }

    /// Comma-separated SHA1s, 40 hex digits each; the empty string is the empty list of an empty file.
    func hashes(_ text: String) throws(WireError) -> PieceHashes {
        guard !text.isEmpty else { return .empty }
        var bytes: [UInt8] = []
        for (index, hash) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            guard hash.utf8.count == PieceHashes.digestLength * 2, let digest = Hex.decode(hash) else {
                throw .badLine(
                    "\(self.command): hashes: piece \(index) hash '\(Self.quote(hash))' is not 40 hex digits")
            }
            bytes += digest
        }
        guard let hashes = PieceHashes(bytes: bytes) else {
            throw .badLine("\(self.command): hashes are not 40 hex digits each")
        }
        return hashes
    }

    /// A seq, or `segment:offset`.
    func logStart(_ text: String) throws(WireError) -> LogQuery.Start {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let numbers = parts.compactMap { part in
            part.utf8.allSatisfy { UInt8(ascii: "0") <= $0 && $0 <= UInt8(ascii: "9") } ? UInt64(part) : nil
        }
        switch (parts.count, numbers.count) {
        case (1, 1): return .seq(numbers[0])
        case (2, 2): return .after(LogCursor(segment: numbers[0], offset: numbers[1]))
        default:
            throw .badLine("\(self.command): from '\(Self.quote(text))' is neither a seq nor segment:offset")
        }
    }

    /// An HMAC in hex.
    func mac(_ text: String) throws(WireError) -> [UInt8] {
        guard let mac = Hex.decode(Substring(text)) else {
            throw .badLine("\(self.command): mac '\(Self.quote(text))' is not hex")
        }
        return mac
    }

    /// `CREATE_USER takes 2 fields: CREATE_USER|user|password`, and the like.
    private func usage(_ forms: [[String]]) -> String {
        let counts = forms.map(\.count)
        let taken =
            switch counts {
            case [0]: "no fields"
            case [1]: "1 field"
            default: counts.map(String.init).joined(separator: " or ") + " fields"
            }
        let examples = forms.map { ([String(self.command)] + $0).joined(separator: "|") }
        return "\(self.command) takes \(taken): \(examples.joined(separator: " or "))"
    }

    private static func quote(_ text: some StringProtocol) -> String {
        text.count > Self.quoteLimit ? text.prefix(Self.quoteLimit) + "..." : String(text)
    }
}
