import NIOCore
import Wire

/// Messages for round-trip and decoder tests: every case, with empty, `.max`, UTF-8 and large fields.
enum Samples {
    /// `count` distinct piece hashes.
    static func hashes(_ count: Int) -> PieceHashes {
        PieceHashes(bytes: (0..<(count * PieceHashes.digestLength)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            ?? .empty
    }

    /// A SHA1 in hex, as file ids are.
    static let fileID = String(repeating: "a1", count: 20)

    /// Every request case, several times where fields can be empty, extreme or non-ASCII.
    static let requests: [Request] = [
        .createUser(user: "alice", password: "s3cret"),
        .createUser(user: "", password: ""),
        .createUser(user: "élodie", password: "日本🔑"),
        .login(user: "alice", password: "s3cret"),
        .login(user: " bob 🎉 ", password: "p w"),
        .resume(token: "00112233445566778899aabbccddeeff"),
        .resume(token: ""),
        .logout,
        .whoami,
        .createGroup(group: "team"),
        .createGroup(group: "日本"),
        .joinGroup(group: "team"),
        .leaveGroup(group: "équipe"),
        .listGroups,
        .listRequests(group: "team"),
        .acceptRequest(group: "team", user: "bob"),
        .uploadFile(group: "team", name: "empty.bin", size: 0, pieceHashes: .empty, port: 1),
        .uploadFile(group: "日本", name: "🎬 film.mkv", size: .max, pieceHashes: Self.hashes(1_000), port: .max),
        .uploadFile(group: "", name: "", size: 1, pieceHashes: Self.hashes(1), port: 0),
        .listFiles(group: "team"),
        .downloadFile(group: "team", name: "a.bin"),
        .stopShare(group: "team", name: "é.txt"),
        .newSeeder(group: nil, name: "a.bin", port: 7000),
        .newSeeder(group: "team", name: "a.bin", port: .max),
        .newSeeder(group: "", name: "", port: 0),
        .quit(mac: nil),
        .quit(mac: []),
        .quit(mac: Array(0...31)),
        .identify(client: [UInt8](repeating: 0, count: 16)),
        .identify(client: [UInt8](repeating: 0xFF, count: 64)),
        .status,
        .promote(mac: nil),
        .promote(mac: Array(0...31)),
        .switchover(mac: nil),
        .switchover(mac: Array(0...31)),
        .checkPeer(user: "", group: "", proof: []),
        .checkPeer(user: "bob", group: "日本", proof: Array(0...31)),
        .readLog(LogQuery(start: .seq(0), limit: 0), mac: nil),
        .readLog(LogQuery(start: .after(LogCursor(segment: .max, offset: .max)), limit: .max), mac: []),
    ]

    /// Requests the text form can express: no empty field, no `|` or line break, no port 0.
    static let textRequests: [Request] = [
        .createUser(user: "alice", password: "s3cret"),
        .createUser(user: "élodie", password: "日本🔑"),
        .login(user: " bob 🎉 ", password: "p w"),
        .resume(token: "00112233445566778899aabbccddeeff"),
        .logout,
        .whoami,
        .createGroup(group: "日本"),
        .joinGroup(group: "team"),
        .leaveGroup(group: "équipe"),
        .listGroups,
        .listRequests(group: "team"),
        .acceptRequest(group: "team", user: "bob"),
        .uploadFile(group: "team", name: "empty.bin", size: 0, pieceHashes: .empty, port: 1),
        .uploadFile(group: "日本", name: "🎬 film.mkv", size: .max, pieceHashes: Self.hashes(100), port: .max),
        .listFiles(group: "team"),
        .downloadFile(group: "team", name: "a.bin"),
        .stopShare(group: "team", name: "é.txt"),
        .newSeeder(group: nil, name: "a.bin", port: 7000),
        .newSeeder(group: "team", name: "a.bin", port: .max),
        .quit(mac: nil),
        .quit(mac: Array(0...31)),
        .identify(client: [UInt8](repeating: 0xFF, count: 64)),
        .status,
        .promote(mac: nil),
        .promote(mac: Array(0...31)),
        .checkPeer(user: "bob", group: "日本", proof: Array(0...31)),
        .readLog(LogQuery(start: .seq(1), limit: 1000), mac: nil),
        .readLog(LogQuery(start: .after(LogCursor(segment: 101, offset: 4096)), limit: .max), mac: Array(0...31)),
    ]

    /// Every reply case, with empty and large lists, `.max` numbers and every error code.
    static let replies: [Reply] =
        [
            .ok,
            .token("00112233445566778899aabbccddeeff"),
            .token(""),
            .user("élodie 日本 🎉"),
            .groups([]),
            .groups(Membership.allCases.map { GroupEntry(name: "group \($0.rawValue)", membership: $0) }),
            .users([]),
            .users(["alice", "", "日本"]),
            .users((0..<300).map { "user\($0)" }),
            .files([]),
            .files([FileEntry(name: "🎬", size: .max, seeders: .max, fileID: Self.fileID)]),
            .files((0..<100).map { FileEntry(name: "f\($0)", size: UInt64($0), seeders: 0, fileID: "") }),
            .fileID(Self.fileID),
            .fileID(""),
            .fileInfo(
                FileInfo(
                    group: "", name: "", size: 0, pieceSize: 0, pieceHashes: .empty, fileID: "", seeders: [])),
            .fileInfo(
                FileInfo(
                    group: "日本", name: "🎬 film.mkv", size: .max, pieceSize: .max, pieceHashes: Self.hashes(500),
                    fileID: Self.fileID,
                    seeders: (0..<50).map { Seeder(user: "u\($0)", host: "10.0.0.\($0)", port: .max) })),
            .challenge([]),
            .challenge(Array(0...31)),
            .error(.badRequest, ""),
            .status([]),
            .status([StatusField("role", "primary"), StatusField("reason", "é 日本 🎉"), StatusField("", "")]),
            .logPage(LogPage(items: [], cursor: LogCursor(segment: 0, offset: 0), more: false)),
            .logPage(
                LogPage(
                    items: [
                        .snapshot(seq: 9, epoch: 1), .op(seq: 10, epoch: 2, payload: []),
                        .op(seq: .max, epoch: .max, payload: Array(0...255)),
                        .segmentEnd(segment: "wal-1.log", offset: 77, problem: LogPage.torn),
                        .cut(file: "cut-1.log", time: .max, fromSeq: 3, ops: .max),
                    ], cursor: LogCursor(segment: .max, offset: 12), more: true)),
        ] + ErrorCode.allCases.map { .error($0, "why: é 日本 🎉") }

    /// Request ids to pair with messages, cycling through the extremes.
    static func requestID(_ index: Int) -> UInt32 {
        [0, 1, .max, 0x0102_0304][index % 4]
    }

    /// One request frame's bytes.
    static func frame(_ frame: RequestFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeRequestFrame(frame)
        return buffer
    }

    /// One reply frame's bytes.
    static func frame(_ frame: ReplyFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeReplyFrame(frame)
        return buffer
    }

    /// A raw frame: the length field (counting the kind and payload, unless given), the kind, the payload.
    static func rawFrame(kind: UInt8, payload: [UInt8], length: UInt32? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(length ?? UInt32(1 + payload.count))
        buffer.writeInteger(kind)
        buffer.writeBytes(payload)
        return buffer
    }
}
