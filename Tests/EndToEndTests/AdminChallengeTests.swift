import Foundation
import TandemCrypto
import TandemTestKit
import Testing
import Wire

/// An admin command's MAC names the command: the answer to a challenge is good for the command it was made for
/// and no other. Before the fix, HMAC-SHA256(secret, nonce) answered `QUIT` and `PROMOTE` alike, so a `QUIT`
/// answer promoted a backup.
@Suite(.serialized)
struct AdminChallengeTests {
    static func nonce(_ line: String) throws -> [UInt8] {
        try #require(line.hasPrefix("CHALLENGE|") ? Hex.decode(line.dropFirst("CHALLENGE|".count)) : nil, "\(line)")
    }

    @Test func aQuitAnswerDoesNotPromoteAndOnlyAPromoteAnswerDoes() throws {
        let cluster = try TestCluster()
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let admin = try LineSocket(port: cluster.clientPorts["t2"]!)

        for forged in [
            { (nonce: [UInt8]) in AdminProof.make(secret: cluster.secret, command: "QUIT", nonce: nonce) },
            { (nonce: [UInt8]) in Crypto.hmacSHA256(key: cluster.secret, message: nonce) },
        ] {
            let nonce = try Self.nonce(try admin.request("QUIT"))
            #expect(try admin.request("PROMOTE|\(Hex.encode(forged(nonce)))").hasPrefix("ERR|auth_failed|"))
            #expect(cluster.status("t2")?["role"] == "backup")
        }

        let nonce = try Self.nonce(try admin.request("PROMOTE"))
        let proof = AdminProof.make(secret: cluster.secret, command: "PROMOTE", nonce: nonce)
        #expect(try admin.request("PROMOTE|\(Hex.encode(proof))") == "OK")
        try cluster.waitForRole("primary", of: "t2")
    }
}
