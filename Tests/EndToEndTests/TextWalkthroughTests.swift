import Foundation
import TandemTestKit
import Testing

/// The original README's user and group walkthrough over a raw text socket, as `nc` would do it.
@Suite(.serialized)
struct TextWalkthroughTests {
    static let hashes = String(repeating: "ab", count: 20) + "," + String(repeating: "cd", count: 20)

    @Test func originalWalkthroughOverText() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        let alice = try LineSocket(port: port)
        let bob = try LineSocket(port: port)

        #expect(try alice.request("LIST_GROUPS").hasPrefix("ERR|not_logged_in|"))
        #expect(try alice.request("CREATE_USER|alice|wonderland") == "OK")
        #expect(try alice.request("CREATE_USER|alice|again").hasPrefix("ERR|exists|"))
        #expect(try alice.request("LOGIN|alice|wrong") == "ERR|auth_failed|wrong user or password")
        #expect(try alice.request("LOGIN|alice|wonderland").hasPrefix("OK|"))
        #expect(try alice.request("CREATE_GROUP|readers") == "OK")
        #expect(try bob.request("CREATE_USER|bob|builder") == "OK")
        #expect(try bob.request("LOGIN|bob|builder").hasPrefix("OK|"))
        #expect(try bob.request("LIST_GROUPS") == "OK|readers:none")
        #expect(try bob.request("LIST_FILES|readers").hasPrefix("ERR|forbidden|"))
        #expect(try bob.request("JOIN_GROUP|readers") == "OK")
        #expect(try bob.request("JOIN_GROUP|readers").hasPrefix("ERR|exists|"))
        #expect(try bob.request("LIST_REQUESTS|readers").hasPrefix("ERR|forbidden|"))
        #expect(try alice.request("LIST_REQUESTS|readers") == "OK|bob")
        #expect(try alice.request("ACCEPT_REQUESTS|readers|bob") == "OK")
        #expect(try alice.request("ACCEPT_REQUEST|readers|bob").hasPrefix("ERR|not_found|"))
        #expect(try bob.request("LIST_GROUPS") == "OK|readers:member")
        #expect(try alice.request("LIST_GROUPS") == "OK|readers:owner")

        let upload = try bob.request("UPLOAD_FILE|readers|notes.txt|600000|\(Self.hashes)|15000")
        #expect(upload.hasPrefix("OK|") && upload.count == 3 + 40)
        #expect(try alice.request("LIST_FILES|readers") == "OK|notes.txt:600000:1:\(upload.dropFirst(3))")
        let info = try alice.request("DOWNLOAD_FILE|readers|notes.txt")
        #expect(info == "OK|readers|notes.txt|600000|524288|\(upload.dropFirst(3))|\(Self.hashes)|bob@127.0.0.1:15000")
        #expect(try alice.request("NEW_SEEDER|notes.txt|15001") == "OK")
        #expect(try bob.request("STOP_SHARE|readers|notes.txt") == "OK")
        #expect(try alice.request("LIST_FILES|readers") == "OK|notes.txt:600000:1:\(upload.dropFirst(3))")
        #expect(try bob.request("LEAVE_GROUP|readers") == "OK")
        #expect(try bob.request("LIST_GROUPS") == "OK|readers:none")
        #expect(try alice.request("LEAVE_GROUP|readers") == "OK")
        #expect(try alice.request("LIST_GROUPS") == "OK")
        #expect(try alice.request("LOGOUT") == "OK")
        #expect(try alice.request("LIST_GROUPS").hasPrefix("ERR|not_logged_in|"))
    }

    @Test func restartKeepsEverything() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        do {
            let alice = try LineSocket(port: port)
            #expect(try alice.request("CREATE_USER|alice|pw") == "OK")
            #expect(try alice.request("LOGIN|alice|pw").hasPrefix("OK|"))
            #expect(try alice.request("CREATE_GROUP|g1") == "OK")
            let oneHash = String(repeating: "0", count: 40)
            #expect(try alice.request("UPLOAD_FILE|g1|a.bin|1|\(oneHash)|12000").hasPrefix("OK|"))
        }
        #expect(try cluster.stop(signal: SIGTERM) == 0)
        try cluster.start()
        let again = try LineSocket(port: port)
        #expect(try again.request("LOGIN|alice|pw").hasPrefix("OK|"))
        #expect(try again.request("LIST_GROUPS") == "OK|g1:owner")
        #expect(try again.request("LIST_FILES|g1").hasPrefix("OK|a.bin:1:1:"))
    }

    @Test func textSessionEndsWithItsConnection() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        let first = try LineSocket(port: port)
        #expect(try first.request("CREATE_USER|carol|pw") == "OK")
        #expect(try first.request("LOGIN|carol|pw").hasPrefix("OK|"))
        let second = try LineSocket(port: port)
        #expect(try second.request("LIST_GROUPS").hasPrefix("ERR|not_logged_in|"))
        #expect(try second.request("LOGIN|carol|pw").hasPrefix("OK|"), "a second login is never refused")
        #expect(try first.request("LIST_GROUPS") == "OK")
    }
}
