import Foundation
import TandemTestKit
import Testing

/// Bad input on the text port: a clear error, nothing changed, never a crash.
@Suite(.serialized)
struct BadTextInputTests {
    static let oneHash = String(repeating: "0", count: 40)

    /// A tracker with alice logged in on `alice`, owning group `g`, and bob logged in on `bob`, not a member.
    struct World {
        let cluster: TestCluster
        let alice: LineSocket
        let bob: LineSocket

        init() throws {
            self.cluster = try TestCluster()
            try self.cluster.start()
            let port = self.cluster.clientPorts["t1"]!
            self.alice = try LineSocket(port: port)
            self.bob = try LineSocket(port: port)
            _ = try self.alice.request("CREATE_USER|alice|pw")
            _ = try self.alice.request("LOGIN|alice|pw")
            _ = try self.alice.request("CREATE_GROUP|g")
            _ = try self.bob.request("CREATE_USER|bob|pw")
            _ = try self.bob.request("LOGIN|bob|pw")
        }

        var port: Int { self.cluster.clientPorts["t1"]! }

        /// The tracker is still up and its state for alice unchanged.
        func expectUnchanged() throws {
            let probe = try LineSocket(port: self.port)
            #expect(try probe.request("LOGIN|alice|pw").hasPrefix("OK|"))
            #expect(try probe.request("LIST_GROUPS") == "OK|g:owner")
            #expect(try probe.request("LIST_FILES|g") == "OK")
        }
    }

    static let malformedLines: [(line: String, code: String)] = [
        ("UPLOAD_FILE|g|f|abc|\(oneHash)|9000", "bad_request"),
        ("UPLOAD_FILE|g|f|-1|\(oneHash)|9000", "bad_request"),
        ("UPLOAD_FILE|g|f|99999999999999999999|\(oneHash)|9000", "bad_request"),
        ("UPLOAD_FILE|g|f|1|\(oneHash)", "bad_request"),
        ("UPLOAD_FILE|g|f|1|\(oneHash)|9000|extra", "bad_request"),
        ("UPLOAD_FILE|g|f|1|zz|9000", "bad_request"),
        ("UPLOAD_FILE|g|f|1|\(oneHash)|0", "bad_request"),
        ("UPLOAD_FILE|g|f|1|\(oneHash)|70000", "bad_request"),
        ("UPLOAD_FILE|g|f|1048577|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g||1|\(oneHash)|9000", "bad_request"),
        ("CREATE_GROUP", "bad_request"),
        ("CREATE_GROUP|", "bad_request"),
        ("CREATE_GROUP|a|b", "bad_request"),
        ("ACCEPT_REQUEST|g", "bad_request"),
        ("LOGIN|alice", "bad_request"),
        ("FROBNICATE|x", "unknown_command"),
        ("create_group|x", "unknown_command"),
        ("UPLOAD_FILE|g|../etc|1|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g|a/b|1|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g|..|1|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g|/etc/passwd|1|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g|nul\u{0}name|1|\(oneHash)|9000", "invalid"),
        ("UPLOAD_FILE|g|\(String(repeating: "x", count: 10 * 1024))|1|\(oneHash)|9000", "invalid"),
        ("CREATE_GROUP|bad/name", "invalid"),
        ("CREATE_USER|\(String(repeating: "u", count: 65))|pw", "invalid"),
    ]

    @Test func malformedLinesAreRefusedAndChangeNothing() throws {
        let world = try World()
        for (line, code) in Self.malformedLines {
            let reply = try world.alice.request(line)
            #expect(reply.hasPrefix("ERR|\(code)|"), "\(line.prefix(60)) -> \(reply.prefix(200))")
        }
        try world.expectUnchanged()
    }

    static let needsLogin = [
        "LOGOUT", "WHOAMI", "CREATE_GROUP|x", "JOIN_GROUP|g", "LEAVE_GROUP|g", "LIST_GROUPS", "LIST_REQUESTS|g",
        "ACCEPT_REQUEST|g|bob", "UPLOAD_FILE|g|f|1|\(oneHash)|9000", "LIST_FILES|g", "DOWNLOAD_FILE|g|f",
        "STOP_SHARE|g|f", "NEW_SEEDER|f|9000",
    ]

    @Test func commandsBeforeLoginAreRefused() throws {
        let world = try World()
        let stranger = try LineSocket(port: world.port)
        for line in Self.needsLogin {
            #expect(try stranger.request(line).hasPrefix("ERR|not_logged_in|"), "\(line)")
        }
        try world.expectUnchanged()
    }

    @Test func everyPermissionRuleBrokenOnce() throws {
        let world = try World()
        let bob = world.bob
        #expect(try bob.request("LIST_REQUESTS|g").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("ACCEPT_REQUEST|g|bob").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("LIST_FILES|g").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("UPLOAD_FILE|g|f|1|\(Self.oneHash)|9000").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("DOWNLOAD_FILE|g|f").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("STOP_SHARE|g|f").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("NEW_SEEDER|g|f|9000").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("LEAVE_GROUP|g").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("JOIN_GROUP|nope").hasPrefix("ERR|not_found|"))
        #expect(try bob.request("CREATE_GROUP|g").hasPrefix("ERR|exists|"))
        #expect(try world.alice.request("JOIN_GROUP|g").hasPrefix("ERR|exists|"))
        #expect(try world.alice.request("ACCEPT_REQUEST|g|bob").hasPrefix("ERR|not_found|"))
        #expect(try bob.request("LOGIN|alice|wrong").hasPrefix("ERR|auth_failed|"))
        #expect(try bob.request("LOGIN|nobody|pw") == "ERR|auth_failed|wrong user or password")
        try world.expectUnchanged()
    }

    @Test func fortyMebibyteLineIsRefusedAtMaxLineAndMemoryStaysFlat() throws {
        let world = try World()
        let pid = try #require(world.cluster.pid("t1"))
        let before = try residentBytes(of: pid)
        let flooder = try LineSocket(port: world.port)
        let chunk = [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20)
        var sent = 0
        while sent < 40 && flooder.send(chunk) { sent += 1 }
        #expect(try flooder.readLine().hasPrefix("ERR|too_large|"))
        try flooder.waitForClose()
        let after = try residentBytes(of: pid)
        #expect(after - before < 16 << 20, "RSS grew from \(before) to \(after) bytes")
        try world.expectUnchanged()
    }

    @Test func randomBytesNeverCrashTheTracker() throws {
        let world = try World()
        var generator = SeededGenerator(seed: 0x7A4D)
        for _ in 0..<20 {
            let noise = LineSocketNoise.bytes(count: 4096, using: &generator)
            let socket = try LineSocket(port: world.port, timeout: .seconds(5))
            socket.send(noise)
            socket.send(line: "")
        }
        try world.expectUnchanged()
    }

    @Test func threeHundredIdleConnectionsDoNotStarveAClient() throws {
        let world = try World()
        // From two addresses, each under the per-address cap of 256.
        let idle = try (0..<300).map { try LineSocket(port: world.port, source: "127.0.0.\(2 + $0 % 2)") }
        let busy = try LineSocket(port: world.port, timeout: .seconds(5))
        #expect(try busy.request("LOGIN|alice|pw").hasPrefix("OK|"))
        for index in 0..<50 {
            #expect(try busy.request("CREATE_GROUP|busy\(index)") == "OK")
        }
        #expect(idle.count == 300)
    }

    /// Names that would show as another name in a listing (a bidirectional override, a C1 control, a line
    /// separator) are refused. Before the fix they were registered as they were.
    @Test func fileNamesThatShowAsAnotherNameAreRefused() throws {
        let world = try World()
        for name in ["report\u{202E}fdp.exe", "a\u{85}b", "a\u{2028}b", "a\u{2066}b"] {
            let reply = try world.alice.request("UPLOAD_FILE|g|\(name)|0||7001")
            #expect(reply.hasPrefix("ERR|invalid|file names may not hold C1 control characters"), "\(reply)")
        }
        #expect(try world.alice.request("LIST_FILES|g") == "OK")
        #expect(try world.alice.request("UPLOAD_FILE|g|r\u{E9}sum\u{E9}.txt|0||7001").hasPrefix("OK"))
    }

    @Test func quitWithoutTheSecretIsRefused() throws {
        let world = try World()
        let intruder = try LineSocket(port: world.port)
        #expect(try intruder.request("QUIT|00").hasPrefix("ERR|auth_failed|"))
        #expect(try intruder.request("QUIT").hasPrefix("CHALLENGE|"))
        #expect(try intruder.request("QUIT|\(String(repeating: "ab", count: 32))").hasPrefix("ERR|auth_failed|"))
        #expect(try intruder.request("QUIT|\(String(repeating: "ab", count: 32))").hasPrefix("ERR|auth_failed|"))
        try world.expectUnchanged()
    }

}

/// Random bytes for noise tests.
enum LineSocketNoise {
    static func bytes(count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
