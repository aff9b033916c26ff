import Foundation
import TandemTestKit
import Testing

/// Quotas of cluster.yaml through the real binaries: accounts per address per hour, files and their metadata per
/// user. Before the fix there was no limit: registration needs no login, and each 16 MB hash list cost about 30 MB
/// on both trackers.
@Suite(.serialized) struct QuotaTests {
    static let hash = String(repeating: "ab", count: 20)

    static func hashes(_ count: Int) -> String { Array(repeating: Self.hash, count: count).joined(separator: ",") }

    @Test func registrationsPerAddressAreLimited() throws {
        let cluster = try TestCluster(extraYAML: "quotas: { users_per_address_per_hour: 3 }\n")
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        let client = try LineSocket(port: port)
        for user in ["u1", "u2", "u3"] { #expect(try client.request("CREATE_USER|\(user)|pw") == "OK") }
        let refused = try client.request("CREATE_USER|u4|pw")
        #expect(refused.hasPrefix("ERR|quota_exceeded|127.0.0.1 registered 3 accounts in the last hour"), "\(refused)")
        #expect(refused.contains("quotas.users_per_address_per_hour"))
        let elsewhere = try LineSocket(port: port, source: "127.0.0.2")
        #expect(try elsewhere.request("CREATE_USER|u4|pw") == "OK", "another address is not held back")
        #expect(try client.request("LOGIN|u4|pw").hasPrefix("OK|"), "and nothing else is")
    }

    @Test func filesAndMetadataPerUserAreLimited() throws {
        let cluster = try TestCluster(
            pieceSize: "16KiB", extraYAML: "quotas: { files_per_user: 2, metadata_per_user: 1KiB }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: [])
        let token = try cluster.sessionToken(home: "alice")
        let client = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try client.request("RESUME|\(token)") == "OK|alice")
        let big = try client.request("UPLOAD_FILE|team|big|\(60 * 16384)|\(Self.hashes(60))|7001")
        #expect(big.hasPrefix("ERR|quota_exceeded|") && big.contains("quotas.metadata_per_user"), "\(big)")
        #expect(try client.request("UPLOAD_FILE|team|a|16384|\(Self.hashes(1))|7001").hasPrefix("OK|"))
        #expect(try client.request("UPLOAD_FILE|team|b|16384|\(Self.hashes(1))|7001").hasPrefix("OK|"))
        let third = try client.request("UPLOAD_FILE|team|c|16384|\(Self.hashes(1))|7001")
        #expect(third.hasPrefix("ERR|quota_exceeded|") && third.contains("quotas.files_per_user"), "\(third)")

        // tandemctl share says so too, and the file is not registered.
        try cluster.startPeer("alice")
        let path = try cluster.writeFile("film.bin", size: 64 * 16384)
        let shared = try cluster.ctl(["share", "team", path], home: "alice")
        #expect(shared.status == 1 && shared.stderr.contains("quota"), "\(shared)")
        #expect(!(try client.request("LIST_FILES|team")).contains("film.bin"))
    }
}
