import TandemTestKit
import Testing
import Wire

/// `TextAdapter.parse`: every command, and the exact error for each way a line can be wrong.
@Suite struct TextAdapterParseTests {
    private func error(_ line: String) -> WireError? {
        if case .failure(let error) = TextAdapter.parse(Substring(line)) { return error }
        return nil
    }

    private static let hash = String(repeating: "0f", count: 20)

    @Test(arguments: Samples.textRequests)
    func renderedRequestsParseBack(request: Request) {
        #expect(TextAdapter.parse(Substring(TextAdapter.render(request))) == .success(request))
    }

    @Test func theDocumentedLinesParse() {
        let lines: [(String, Request)] = [
            ("CREATE_USER|alice|pw", .createUser(user: "alice", password: "pw")),
            ("LOGIN| alice | p w ", .login(user: " alice ", password: " p w ")),
            ("ACCEPT_REQUEST|g|bob", .acceptRequest(group: "g", user: "bob")),
            ("ACCEPT_REQUESTS|g|bob", .acceptRequest(group: "g", user: "bob")),
            (
                "UPLOAD_FILE|g|empty|0||7000",
                .uploadFile(group: "g", name: "empty", size: 0, pieceHashes: .empty, port: 7000)
            ),
            (
                "UPLOAD_FILE|g|f|9|\(Self.hash),\(Self.hash.uppercased())|65535",
                .uploadFile(
                    group: "g", name: "f", size: 9,
                    pieceHashes: PieceHashes(bytes: Array(repeating: 0x0F, count: 40)) ?? .empty,
                    port: 65535)
            ),
            (
                "UPLOAD_FILE|g|f|18446744073709551615||1",
                .uploadFile(group: "g", name: "f", size: .max, pieceHashes: .empty, port: 1)
            ),
            ("NEW_SEEDER|f|7000", .newSeeder(group: nil, name: "f", port: 7000)),
            ("NEW_SEEDER|g|f|7000", .newSeeder(group: "g", name: "f", port: 7000)),
            ("QUIT", .quit(mac: nil)),
            ("QUIT|00ffAB", .quit(mac: [0x00, 0xFF, 0xAB])),
            ("CLIENT|" + String(repeating: "ff", count: 64), .identify(client: [UInt8](repeating: 0xFF, count: 64))),
            ("CLIENT|000102030405060708090a0b0c0d0e0F", .identify(client: Array(0...15))),
            ("STATUS", .status),
            ("PROMOTE", .promote(mac: nil)),
            ("SWITCHOVER", .switchover(mac: nil)),
            ("PROMOTE|0a", .promote(mac: [0x0A])),
            ("READ_LOG|1|100", .readLog(LogQuery(start: .seq(1), limit: 100), mac: nil)),
            (
                "READ_LOG|7:4096|5|0a",
                .readLog(LogQuery(start: .after(LogCursor(segment: 7, offset: 4096)), limit: 5), mac: [0x0A])
            ),
        ]
        for (line, request) in lines {
            #expect(TextAdapter.parse(Substring(line)) == .success(request), "\(line)")
        }
    }

    @Test func wrongFieldCountsGiveTheUsage() {
        let cases: [(String, String)] = [
            ("CREATE_USER|alice", "CREATE_USER takes 2 fields: CREATE_USER|user|password"),
            ("LOGIN|a|b|c", "LOGIN takes 2 fields: LOGIN|user|password"),
            ("RESUME", "RESUME takes 1 field: RESUME|token"),
            ("LOGOUT|now", "LOGOUT takes no fields: LOGOUT"),
            ("WHOAMI|", "WHOAMI takes no fields: WHOAMI"),
            ("LIST_GROUPS|x", "LIST_GROUPS takes no fields: LIST_GROUPS"),
            ("CREATE_GROUP", "CREATE_GROUP takes 1 field: CREATE_GROUP|group"),
            ("ACCEPT_REQUESTS|g", "ACCEPT_REQUESTS takes 2 fields: ACCEPT_REQUESTS|group|user"),
            ("UPLOAD_FILE|g|f|1|", "UPLOAD_FILE takes 5 fields: UPLOAD_FILE|group|name|size|hashes|port"),
            ("UPLOAD_FILE|g|f|1||2|3", "UPLOAD_FILE takes 5 fields: UPLOAD_FILE|group|name|size|hashes|port"),
            ("DOWNLOAD_FILE|g", "DOWNLOAD_FILE takes 2 fields: DOWNLOAD_FILE|group|name"),
            ("NEW_SEEDER|f", "NEW_SEEDER takes 2 or 3 fields: NEW_SEEDER|name|port or NEW_SEEDER|group|name|port"),
            ("QUIT|a|b", "QUIT takes 0 or 1 fields: QUIT or QUIT|mac"),
            ("CLIENT", "CLIENT takes 1 field: CLIENT|id"),
            ("STATUS|now", "STATUS takes no fields: STATUS"),
            ("CLIENT|-1", "CLIENT: id must be 32 to 128 hex digits drawn at random, not -1"),
            ("CLIENT|7", "CLIENT: id must be 32 to 128 hex digits drawn at random, not 7"),
            (
                "CLIENT|0102030405060708090a0b0c0d0e0f",
                "CLIENT: id must be 32 to 128 hex digits drawn at random, not 0102030405060708090a0b0c0d0e0f"
            ),
        ]
        for (line, message) in cases {
            #expect(self.error(line) == .badLine(message), "\(line)")
        }
    }

    @Test func emptyFieldsAreNamed() {
        let cases: [(String, String)] = [
            ("CREATE_USER||pw", "CREATE_USER: user is empty"),
            ("LOGIN|alice|", "LOGIN: password is empty"),
            ("RESUME|", "RESUME: token is empty"),
            ("JOIN_GROUP|", "JOIN_GROUP: group is empty"),
            ("UPLOAD_FILE|g||1||7000", "UPLOAD_FILE: name is empty"),
            ("UPLOAD_FILE|g|f|||7000", "UPLOAD_FILE: size is empty"),
            ("UPLOAD_FILE|g|f|1||", "UPLOAD_FILE: port is empty"),
            ("NEW_SEEDER||f|7000", "NEW_SEEDER: group is empty"),
            ("QUIT|", "QUIT: mac is empty"),
        ]
        for (line, message) in cases {
            #expect(self.error(line) == .badLine(message), "\(line)")
        }
    }

    @Test func badSizesAreRefused() {
        let range = "(0 to 18446744073709551615)"
        let cases: [(String, String)] = [
            ("abc", "UPLOAD_FILE: size 'abc' is not a decimal number of bytes \(range)"),
            ("-1", "UPLOAD_FILE: size '-1' is not a decimal number of bytes \(range)"),
            ("+5", "UPLOAD_FILE: size '+5' is not a decimal number of bytes \(range)"),
            (" 5", "UPLOAD_FILE: size ' 5' is not a decimal number of bytes \(range)"),
            ("1.5", "UPLOAD_FILE: size '1.5' is not a decimal number of bytes \(range)"),
            ("99999999999999999999", "UPLOAD_FILE: size '99999999999999999999' is too large \(range)"),
            ("18446744073709551616", "UPLOAD_FILE: size '18446744073709551616' is too large \(range)"),
        ]
        for (size, message) in cases {
            #expect(self.error("UPLOAD_FILE|g|f|\(size)||7000") == .badLine(message), "\(size)")
        }
    }

    @Test func badPortsAreRefused() {
        for port in ["0", "65536", "-1", "x", "99999999999999999999999"] {
            let message = "UPLOAD_FILE: port '\(port)' is not a port number (1 to 65535)"
            #expect(self.error("UPLOAD_FILE|g|f|0||\(port)") == .badLine(message), "\(port)")
        }
        #expect(self.error("NEW_SEEDER|f|0") == .badLine("NEW_SEEDER: port '0' is not a port number (1 to 65535)"))
    }

    @Test func badLogStartsAreRefused() {
        for from in ["x", "1:", ":2", "1:2:3", "-1", "99999999999999999999999"] {
            let message = "READ_LOG: from '\(from)' is neither a seq nor segment:offset"
            #expect(self.error("READ_LOG|\(from)|10") == .badLine(message), "\(from)")
        }
        #expect(self.error("READ_LOG|1|4294967296") == .badLine("READ_LOG: limit 4294967296 is too large"))
    }

    @Test func badHashesAreRefused() {
        let odd = Self.hash + "0"
        let nonHex = String(repeating: "g", count: 40)
        let short = String(Self.hash.dropLast())
        let cases: [(String, String)] = [
            (odd, "UPLOAD_FILE: hashes: piece 0 hash '\(odd)' is not 40 hex digits"),
            (nonHex, "UPLOAD_FILE: hashes: piece 0 hash '\(nonHex)' is not 40 hex digits"),
            (short, "UPLOAD_FILE: hashes: piece 0 hash '\(short)' is not 40 hex digits"),
            ("\(Self.hash),\(short)", "UPLOAD_FILE: hashes: piece 1 hash '\(short)' is not 40 hex digits"),
            ("\(Self.hash),", "UPLOAD_FILE: hashes: piece 1 hash '' is not 40 hex digits"),
            (",\(Self.hash)", "UPLOAD_FILE: hashes: piece 0 hash '' is not 40 hex digits"),
        ]
        for (hashes, message) in cases {
            #expect(self.error("UPLOAD_FILE|g|f|1|\(hashes)|7000") == .badLine(message), "\(hashes)")
        }
        #expect(self.error("QUIT|abc") == .badLine("QUIT: mac 'abc' is not hex"))
        #expect(self.error("QUIT|zz") == .badLine("QUIT: mac 'zz' is not hex"))
    }

    @Test func unknownCommandsAreNamedAndCut() {
        #expect(self.error("login|a|b") == .unknownCommand("login"))
        #expect(self.error("LOGIN |a|b") == .unknownCommand("LOGIN "))
        #expect(self.error("") == .unknownCommand(""))
        #expect(self.error("|x") == .unknownCommand(""))
        let long = String(repeating: "A", count: 100)
        #expect(self.error(long + "|x") == .unknownCommand(String(repeating: "A", count: 64)))
    }

    @Test func longBadValuesAreCutInMessages() {
        let size = String(repeating: "9", count: 200)
        #expect(
            self.error("UPLOAD_FILE|g|f|\(size)||1")
                == .badLine(
                    "UPLOAD_FILE: size '\(String(repeating: "9", count: 64))...' is too large"
                        + " (0 to 18446744073709551615)"))
    }

    @Test func randomLinesNeverCrash() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let commands = [
            "CREATE_USER", "LOGIN", "RESUME", "LOGOUT", "WHOAMI", "CREATE_GROUP", "JOIN_GROUP", "LEAVE_GROUP",
            "LIST_GROUPS", "LIST_REQUESTS", "ACCEPT_REQUEST", "UPLOAD_FILE", "LIST_FILES", "DOWNLOAD_FILE",
            "STOP_SHARE", "NEW_SEEDER", "QUIT",
        ]
        let alphabet = Array("|,:0123456789abcdefABCDEF-+ é日🎉\r\u{301}x")
        for _ in 0..<2_000 {
            let command = commands.randomElement(using: &generator) ?? ""
            let tail = (0..<Int.random(in: 0...60, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator) ?? "x"
            }
            let line = command + String(tail)
            switch TextAdapter.parse(Substring(line)) {
            case .success(let request):
                #expect(TextAdapter.render(request).isEmpty == false, "seed \(seed): \(line)")
            case .failure(let error):
                #expect([.badRequest, .unknownCommand].contains(error.code), "seed \(seed): \(line)")
            }
        }
    }
}
