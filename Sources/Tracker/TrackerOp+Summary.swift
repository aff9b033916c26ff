extension TrackerOp {
    /// The op for people and `tandemctl log`: its name and fields, with secrets left out (a password hash and
    /// a session token show as `<redacted>`; a token is a credential for as long as its session lives).
    public var summary: (name: String, fields: [(key: String, value: String)]) {
        let hidden = "<redacted>"
        switch self {
        case .createUser(let user, _):
            return ("create_user", [("user", user), ("password", hidden)])
        case .openSession(let user, _):
            return ("open_session", [("user", user), ("token", hidden)])
        case .closeSession:
            return ("close_session", [("token", hidden)])
        case .createGroup(let group, let owner):
            return ("create_group", [("group", group), ("owner", owner)])
        case .requestJoin(let group, let user):
            return ("request_join", [("group", group), ("user", user)])
        case .leaveGroup(let group, let user):
            return ("leave_group", [("group", group), ("user", user)])
        case .acceptRequest(let group, let owner, let user):
            return ("accept_request", [("group", group), ("owner", owner), ("user", user)])
        case .rejectRequest(let group, let owner, let user):
            return ("reject_request", [("group", group), ("owner", owner), ("user", user)])
        case .removeMember(let group, let owner, let user):
            return ("remove_member", [("group", group), ("owner", owner), ("user", user)])
        case .addFile(let group, let name, let size, let pieceHashes, let seeder):
            return (
                "add_file",
                [
                    ("group", group), ("name", name), ("size", "\(size)"), ("pieces", "\(pieceHashes.count)"),
                    ("seeder", "\(seeder.user)@\(seeder.host):\(seeder.port)"),
                ]
            )
        case .addSeeder(let group, let name, let seeder):
            return (
                "add_seeder",
                [("group", group), ("name", name), ("seeder", "\(seeder.user)@\(seeder.host):\(seeder.port)")]
            )
        case .removeSeeder(let group, let name, let user):
            return ("remove_seeder", [("group", group), ("name", name), ("user", user)])
        case .stamped(_, let op):
            return op.summary
        case .identified(let origin, let op):
            let inner = op.summary
            let digits = String(origin.client, radix: 16)
            let client = String(repeating: "0", count: 16 - digits.count) + digits
            return (inner.name, inner.fields + [("client", client), ("request", "\(origin.request)")])
        }
    }
}
