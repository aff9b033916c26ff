import Testing
import Wire

/// `TextAdapter.render`: the exact line for every reply, and the lines for requests.
@Suite struct TextAdapterRenderTests {
    private static let id = String(repeating: "ab", count: 20)

    @Test func everyReplyRendersAsDocumented() {
        let hashes = PieceHashes(bytes: Array(repeating: 0x01, count: 20) + Array(repeating: 0xFE, count: 20)) ?? .empty
        let info = FileInfo(
            group: "team", name: "a.bin", size: 40, pieceSize: 16, pieceHashes: hashes, fileID: Self.id,
            seeders: [
                Seeder(user: "alice", host: "127.0.0.1", port: 7000), Seeder(user: "bob", host: "::1", port: 7001),
            ])
        let cases: [(Reply, String)] = [
            (.ok, "OK"),
            (.token("0011"), "OK|0011"),
            (.user("élodie"), "OK|élodie"),
            (
                .groups([
                    GroupEntry(name: "a", membership: .owner), GroupEntry(name: "b", membership: .member),
                    GroupEntry(name: "c", membership: .pending), GroupEntry(name: "d", membership: .none),
                ]),
                "OK|a:owner|b:member|c:pending|d:none"
            ),
            (.groups([]), "OK"),
            (.users(["alice", "bob"]), "OK|alice|bob"),
            (.users([]), "OK"),
            (
                .files([FileEntry(name: "a.bin", size: 10, seeders: 2, fileID: Self.id)]),
                "OK|a.bin:10:2:\(Self.id)"
            ),
            (.files([]), "OK"),
            (.fileID(Self.id), "OK|\(Self.id)"),
            (
                .fileInfo(info),
                "OK|team|a.bin|40|16|\(Self.id)|"
                    + "\(String(repeating: "01", count: 20)),\(String(repeating: "fe", count: 20))|"
                    + "alice@127.0.0.1:7000,bob@::1:7001"
            ),
            (
                .fileInfo(
                    FileInfo(
                        group: "g", name: "e", size: 0, pieceSize: 16, pieceHashes: .empty, fileID: "x", seeders: [])),
                "OK|g|e|0|16|x||"
            ),
            (.challenge([0x00, 0x01, 0xAB, 0xFF]), "CHALLENGE|0001abff"),
            (.error(.notFound, "no such group"), "ERR|not_found|no such group"),
            (.status([StatusField("role", "backup"), StatusField("epoch", "3")]), "OK|role=backup|epoch=3"),
            (.status([]), "OK"),
        ]
        for (reply, line) in cases {
            #expect(TextAdapter.render(reply) == line)
        }
    }

    @Test(arguments: ErrorCode.allCases)
    func everyErrorCodeRendersItsRawValue(code: ErrorCode) {
        #expect(TextAdapter.render(.error(code, "why")) == "ERR|\(code.rawValue)|why")
    }

    @Test func repliesAreAlwaysOneLine() {
        #expect(TextAdapter.render(.error(.badRequest, "a|b\nc\r\nd|\u{301}e")) == "ERR|bad_request|a b c  d \u{301}e")
        #expect(TextAdapter.render(.user("evil\nOK")) == "OK|evil OK")
        #expect(TextAdapter.render(.users(["a\r\nb"])) == "OK|a  b")
        for reply in Samples.replies {
            let line = TextAdapter.render(reply)
            #expect(!line.unicodeScalars.contains("\n") && !line.unicodeScalars.contains("\r"))
        }
    }

    @Test func requestsRenderAsTheirCommands() {
        let cases: [(Request, String)] = [
            (.createUser(user: "a", password: "b"), "CREATE_USER|a|b"),
            (.acceptRequest(group: "g", user: "u"), "ACCEPT_REQUEST|g|u"),
            (
                .uploadFile(group: "g", name: "f", size: 0, pieceHashes: .empty, port: 7000),
                "UPLOAD_FILE|g|f|0||7000"
            ),
            (.newSeeder(group: nil, name: "f", port: 1), "NEW_SEEDER|f|1"),
            (.newSeeder(group: "g", name: "f", port: 1), "NEW_SEEDER|g|f|1"),
            (.quit(mac: nil), "QUIT"),
            (.quit(mac: [0xDE, 0xAD]), "QUIT|dead"),
            (.resume(token: "t"), "RESUME|t"),
        ]
        for (request, line) in cases {
            #expect(TextAdapter.render(request) == line)
        }
    }

    @Test func theDocumentedMistakesRenderAsInTheProtocolDocument() throws {
        let lines = ["login|alice|s3cret", "CREATE_USER|alice", "UPLOAD_FILE|team|a.bin|-1||7000"]
        let expected = [
            "ERR|unknown_command|unknown command 'login'; see docs/PROTOCOL.md for the list",
            "ERR|bad_request|CREATE_USER takes 2 fields: CREATE_USER user password",
            "ERR|bad_request|UPLOAD_FILE: size '-1' is not a decimal number of bytes (0 to 18446744073709551615)",
        ]
        for (line, reply) in zip(lines, expected) {
            guard case .failure(let error) = TextAdapter.parse(Substring(line)) else {
                Issue.record("\(line) parsed")
                continue
            }
            #expect(TextAdapter.render(.error(error.code, error.description)) == reply)
        }
    }
}
