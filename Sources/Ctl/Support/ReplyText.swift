import Wire

/// Replies as people read them: the listings as aligned columns, with the same field names `--json` uses.
enum ReplyText {
    /// The groups table: `GROUP  MEMBERSHIP`.
    static func groups(_ groups: [GroupEntry]) -> String {
        guard !groups.isEmpty else { return "no groups" }
        return TextTable.render(
            headers: ["GROUP", "MEMBERSHIP"], rows: groups.map { [$0.name, Self.membership($0.membership)] })
    }

    /// The pending join requests of a group, one user per line.
    static func requests(_ users: [String]) -> String {
        users.isEmpty ? "no pending requests" : TextTable.render(headers: ["USER"], rows: users.map { [$0] })
    }

    /// The files table: `NAME  SIZE  SEEDERS  FILE_ID`.
    static func files(_ files: [FileEntry]) -> String {
        guard !files.isEmpty else { return "no files" }
        return TextTable.render(
            headers: ["NAME", "SIZE", "SEEDERS", "FILE_ID"],
            rows: files.map { [$0.name, ByteCount.format($0.size), String($0.seeders), $0.fileID] })
    }

    /// `none`, `pending`, `member` or `owner`.
    static func membership(_ membership: Membership) -> String {
        switch membership {
        case .none: "none"
        case .pending: "pending"
        case .member: "member"
        case .owner: "owner"
        }
    }

    /// Any reply, for the shell: listings as tables, errors as `ERR <code>: <message>`.
    static func render(_ reply: Reply) -> String {
        switch reply {
        case .ok: "OK"
        case .token: "OK: logged in"
        case .user(let name): name
        case .groups(let groups): Self.groups(groups)
        case .users(let users): Self.requests(users)
        case .files(let files): Self.files(files)
        case .fileID(let id): "OK: file id \(id)"
        case .fileInfo(let info):
            "\(info.group)/\(info.name): \(ByteCount.format(info.size)), \(info.pieceHashes.count) pieces, "
                + "\(info.seeders.count) seeders"
        case .challenge: "challenge received"
        case .error(let code, let message): "ERR \(code.rawValue): \(message)"
        case .status(let fields): fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        case .logPage(let page): "\(page.items.count) items of the op log (tandemctl log prints them)"
        }
    }
}

/// Byte counts for people: `812 B`, `1.5 MiB`.
enum ByteCount {
    private static let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]

    static func format(_ bytes: UInt64) -> String {
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < Self.units.count - 1 {
            value /= 1024
            unit += 1
        }
        guard unit > 0 else { return "\(bytes) B" }
        let tenths = (value * 10).rounded() / 10
        return tenths == tenths.rounded() ? "\(Int(tenths)) \(Self.units[unit])" : "\(tenths) \(Self.units[unit])"
    }
}
