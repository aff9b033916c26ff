import Foundation
import TandemCrypto
import TandemTestKit
import Testing
import Wire

/// The retry cache answers a retried write with its first reply, and nothing else: not another client's reply (a
/// session token) to whoever claims its id, not a LOGIN reply to a wrong password, not one request's reply to
/// another request under the same number. Before the fix, `CLIENT|<id from tandemctl log>` and `LOGIN|victim|wrong`
/// as request 1 returned the victim's token on either tracker, and a LEAVE_GROUP under a used number got that
/// number's `OK` without being applied.
@Suite(.serialized)
struct RetryCacheTheftTests {
    static let victimID = [UInt8](repeating: 0x5A, count: 16)

    /// The `client=` and `request=` of the victim's `open_session` in tracker `id`'s log.
    static func loggedOrigin(_ cluster: TestCluster, user: String) throws -> (client: String, request: UInt32) {
        let log = try cluster.ctl(["log", "--tracker", "t1", "--json"])
        for line in log.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let fields = object?["fields"] as? [String: String] ?? [:]
            if object?["op"] as? String == "open_session", fields["user"] == user, let client = fields["client"],
                let request = fields["request"].flatMap(UInt32.init)
            {
                return (client, request)
            }
        }
        throw SocketError(description: "no open_session of \(user) in the log: \(log)")
    }

    @Test func nothingTheLogPrintsLetsAnotherClientTakeASessionOnEitherTracker() throws {
        let cluster = try TestCluster()
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        #expect(try cluster.ctl(["create-user", "alice", "--password-stdin"], stdin: "wonderland\n").status == 0)
        #expect(try cluster.ctl(["login", "alice", "--password-stdin"], stdin: "wonderland\n").status == 0)
        let token = try cluster.sessionToken()
        let logged = try Self.loggedOrigin(cluster, user: "alice")
        let printed = try #require(Hex.decode(logged.client))

        for tracker in ["t1", "t2"] {
            // The printed id as it is, padded to a valid length, and repeated: none of them is the client.
            for claimed in [printed + printed, printed + [UInt8](repeating: 0, count: 8)] {
                let attacker = try BinaryClient(port: cluster.clientPorts[tracker]!)
                #expect(try attacker.request(.identify(client: claimed)) == .ok)
                let reply = try attacker.request(.login(user: "alice", password: "wrong"), id: logged.request)
                #expect(reply == .error(.authFailed, "wrong user or password"), "on \(tracker): \(reply)")
                #expect(try attacker.request(.whoami) == .error(.notLoggedIn, "log in first (LOGIN|user|password)"))
            }
            let short = try BinaryClient(port: cluster.clientPorts[tracker]!)
            guard case .error(.badRequest, _) = try short.request(.identify(client: printed)) else {
                Issue.record("an 8-byte client id was taken on \(tracker)")
                return
            }
        }
        let log = try cluster.ctl(["log", "--tracker", "t1"]).stdout
        #expect(!log.contains(token))
    }

    @Test func aClientsOwnNumberAnswersOnlyItsOwnRequestAndOnlyAfterItsPassword() throws {
        let cluster = try TestCluster()
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let victim = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try victim.request(.identify(client: Self.victimID), id: 100) == .ok)
        #expect(try victim.request(.createUser(user: "alice", password: "wonderland"), id: 1) == .ok)
        let token = try #require(
            { if case .token(let token) = $0 { token } else { nil } }(
                try victim.request(.login(user: "alice", password: "wonderland"), id: 2)))
        #expect(try victim.request(.createGroup(group: "readers"), id: 3) == .ok)
        #expect(try victim.request(.createGroup(group: "writers"), id: 4) == .ok)

        for tracker in ["t1", "t2"] {
            // Even holding the client's secret id, a wrong password gets no token.
            let guesser = try BinaryClient(port: cluster.clientPorts[tracker]!)
            #expect(try guesser.request(.identify(client: Self.victimID), id: 100) == .ok)
            #expect(
                try guesser.request(.login(user: "alice", password: "wrong"), id: 2)
                    == .error(.authFailed, "wrong user or password"), "on \(tracker)")
            #expect(
                try guesser.request(.whoami, id: 200) == .error(.notLoggedIn, "log in first (LOGIN|user|password)"))

            // A different request under a used number is refused, and not applied.
            let other = try BinaryClient(port: cluster.clientPorts[tracker]!)
            #expect(try other.request(.identify(client: Self.victimID), id: 100) == .ok)
            #expect(try other.request(.resume(token: token), id: 101) == .user("alice"))
            guard case .error(.invalid, let message) = try other.request(.leaveGroup(group: "writers"), id: 4) else {
                Issue.record("a LEAVE_GROUP under CREATE_GROUP's number was answered as if applied, on \(tracker)")
                return
            }
            #expect(message.contains("already used for a different request"))
            let both = [
                GroupEntry(name: "readers", membership: .owner), GroupEntry(name: "writers", membership: .owner),
            ]
            #expect(try other.request(.listGroups, id: 102) == .groups(both))

            // The real retry, on a new connection: the first reply, applied once.
            #expect(try other.request(.createGroup(group: "writers"), id: 4) == .ok)
            let retriedLogin = try guesser.request(.login(user: "alice", password: "wonderland"), id: 2)
            #expect(retriedLogin == .token(token), "the retried LOGIN gets its first token, on \(tracker)")
        }
        #expect(try cluster.createdGroups(inLogOf: "t1") == ["readers": 1, "writers": 1])
    }
}
