/// The text protocol: `COMMAND|arg|arg` lines in, `OK|...`, `CHALLENGE|...` or `ERR|code|message` lines out.
///
/// ``parse(_:)`` turns a line into the same ``Request`` a binary frame carries, and ``render(_:)-(Reply)`` turns a
/// ``Reply`` into one line. ``render(_:)-(Request)`` is the inverse of ``parse(_:)`` for `tandemctl shell` and
/// tests. docs/PROTOCOL.md gives the grammar and an example of every command.
public enum TextAdapter {
    /// Renders a reply as one line, without the `\n` that ends it on the wire.
    ///
    /// `OK` alone for ``Reply/ok`` and for an empty list; otherwise `OK|` and the fields, `CHALLENGE|<hex nonce>`
    /// or `ERR|<code>|<message>`. Line breaks in any field become spaces, and so does `|` in an error message, so
    /// the reply is always one line with the field count the client expects.
    public static func render(_ reply: Reply) -> String {
        switch reply {
        case .ok:
            return "OK"
        case .token(let text), .user(let text), .fileID(let text):
            return Self.line(["OK", text])
        case .groups(let groups):
            return Self.line(["OK"] + groups.map { "\($0.name):\(Self.word($0.membership))" })
        case .users(let users):
            return Self.line(["OK"] + users)
        case .files(let files):
            return Self.line(["OK"] + files.map { "\($0.name):\($0.size):\($0.seeders):\($0.fileID)" })
        case .fileInfo(let info):
            return Self.line([
                "OK", info.group, info.name, String(info.size), String(info.pieceSize), info.fileID,
                Self.hashList(info.pieceHashes),
                info.seeders.map { "\($0.user)@\($0.host):\($0.port)" }.joined(separator: ","),
            ])
        case .challenge(let nonce):
            return Self.line(["CHALLENGE", Hex.encode(nonce)])
        case .status(let fields):
            return Self.line(["OK"] + fields.map { "\($0.name)=\(Self.blanking($0.value, scalars: ["|"]))" })
        case .logPage(let page):
            return Self.line(
                ["OK", Self.cursor(page.cursor), page.more ? "more" : "end"] + page.items.map(Self.logItem))
        case .error(let code, let message):
            return Self.line(["ERR", code.rawValue, Self.blanking(message, scalars: ["|"])])
        }
    }

    /// Renders a request as the line ``parse(_:)`` reads back, without a `\n`.
    ///
    /// The text form cannot express every request: a field that is empty (where ``parse(_:)`` refuses empty
    /// fields) or holds `|`, `\r` or `\n`, a `NEW_SEEDER` group that is empty, an empty `QUIT` MAC or a port 0.
    /// Such requests render as lines that parse differently or not at all. ``Request/acceptRequest(group:user:)``
    /// renders as `ACCEPT_REQUEST`.
    public static func render(_ request: Request) -> String {
        let arguments: [String]
        switch request {
        case .createUser(let user, let password): arguments = [user, password]
        case .login(let user, let password): arguments = [user, password]
        case .resume(let token): arguments = [token]
        case .logout: arguments = []
        case .whoami: arguments = []
        case .createGroup(let group): arguments = [group]
        case .joinGroup(let group): arguments = [group]
        case .leaveGroup(let group): arguments = [group]
        case .listGroups: arguments = []
        case .listRequests(let group): arguments = [group]
        case .acceptRequest(let group, let user), .rejectRequest(let group, let user),
            .removeMember(let group, let user):
            arguments = [group, user]
        case .uploadFile(let group, let name, let size, let hashes, let port):
            arguments = [group, name, String(size), Self.hashList(hashes), String(port)]
        case .listFiles(let group): arguments = [group]
        case .downloadFile(let group, let name): arguments = [group, name]
        case .stopShare(let group, let name): arguments = [group, name]
        case .newSeeder(.some(let group), let name, let port): arguments = [group, name, String(port)]
        case .newSeeder(.none, let name, let port): arguments = [name, String(port)]
        case .quit(.some(let mac)): arguments = [Hex.encode(mac)]
        case .quit(.none): arguments = []
        case .identify(let client): arguments = [Hex.encode(client)]
        case .status: arguments = []
        case .promote(.some(let mac)): arguments = [Hex.encode(mac)]
        case .promote(.none): arguments = []
        case .switchover(.some(let mac)): arguments = [Hex.encode(mac)]
        case .switchover(.none): arguments = []
        case .checkPeer(let user, let group, let proof): arguments = [user, group, Hex.encode(proof)]
        case .readLog(let query, let mac):
            let from =
                switch query.start {
                case .seq(let seq): String(seq)
                case .after(let cursor): Self.cursor(cursor)
                }
            arguments = [from, String(query.limit)] + (mac.map { [Hex.encode($0)] } ?? [])
        }
        return ([request.command] + arguments).joined(separator: "|")
    }

    /// The word `LIST_GROUPS` shows for a membership.
    static func word(_ membership: Membership) -> String {
        switch membership {
        case .none: "none"
        case .pending: "pending"
        case .member: "member"
        case .owner: "owner"
        }
    }

    /// Piece hashes as comma-separated lowercase hex; empty for an empty file.
    static func hashList(_ hashes: PieceHashes) -> String {
        (0..<hashes.count).map { Hex.encode(hashes[$0]) }.joined(separator: ",")
    }

    /// `segment:offset`.
    static func cursor(_ cursor: LogCursor) -> String { "\(cursor.segment):\(cursor.offset)" }

    /// `op:seq:epoch:payload-hex`, `snapshot:seq:epoch`, `end:segment:offset:problem`, `cut:file:time:from:ops`.
    private static func logItem(_ item: LogPage.Item) -> String {
        switch item {
        case .op(let seq, let epoch, let payload): "op:\(seq):\(epoch):\(Hex.encode(payload))"
        case .snapshot(let seq, let epoch): "snapshot:\(seq):\(epoch)"
        case .segmentEnd(let segment, let offset, let problem):
            "end:\(segment):\(offset):\(Self.blanking(problem, scalars: ["|"]))"
        case .cut(let file, let time, let fromSeq, let ops): "cut:\(file):\(time):\(fromSeq):\(ops)"
        }
    }

    /// Joins fields with `|`, turning line breaks inside them into spaces.
    private static func line(_ fields: [String]) -> String {
        fields.map { Self.blanking($0, scalars: ["\n", "\r"]) }.joined(separator: "|")
    }

    /// The text with each of `scalars` replaced by a space.
    ///
    /// Works on Unicode scalars, not characters, so that `\r\n`, or a `|` followed by a combining mark, cannot
    /// slip through as a single character that differs from the one looked for.
    private static func blanking(_ text: String, scalars: Set<Unicode.Scalar>) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(scalars.contains(scalar) ? " " : scalar)
        }
        return String(result)
    }
}
