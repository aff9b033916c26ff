import Foundation
import TandemTestKit
import Testing

/// What a peer daemon writes and serves is only what it created and hashed: a planted `NAME.part` link or an
/// existing `NAME.part` is never written through or destroyed, and a shared file swapped for a link or another
/// file is not served. Before the fix, the download wrote through the link (the finished file left a link), an
/// existing part file was overwritten and then deleted, and the swapped-in file's bytes were served.
@Suite(.serialized) struct PeerFileSafetyTests {
    static let pieceSize = 64 << 10

    /// Alice shares `report.bin` into team; bob is a member; both daemons run. Returns bob's download directory.
    static func swarm() throws -> (cluster: TestCluster, path: String, downloads: String, alicePort: Int) {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        let alicePort = try cluster.startPeer("alice")
        try cluster.startPeer("bob")
        let path = try cluster.writeFile("report.bin", size: 3 * Self.pieceSize + 17)
        try cluster.expectSuccess(["share", "team", path], as: "alice")
        let downloads = cluster.directory.appendingPathComponent("bob-files").path
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        return (cluster, path, downloads, alicePort)
    }

    static func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aPlantedPartLinkIsNeitherFollowedNorRemoved() throws {
        let (cluster, _, downloads, _) = try Self.swarm()
        let victim = cluster.directory.appendingPathComponent("victim.txt").path
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let part = downloads + "/report.bin.part"
        try FileManager.default.createSymbolicLink(atPath: part, withDestinationPath: victim)

        let result = try cluster.ctl(["download", "team", "report.bin", "--to", downloads], home: "bob")
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("report.bin.part exists already"), "\(result)")
        #expect(Self.contents(victim) == "precious\n", "the link's target is untouched")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: part) == victim, "the link is left")
        #expect(!FileManager.default.fileExists(atPath: downloads + "/report.bin"))
    }

    @Test func anExistingPartFileIsKeptWhetherItIsAnotherDownloadOrASharedFile() throws {
        let (cluster, path, downloads, _) = try Self.swarm()
        let part = downloads + "/report.bin.part"
        try "another program's half-done work\n".write(toFile: part, atomically: false, encoding: .utf8)
        let refused = try cluster.ctl(["download", "team", "report.bin", "--to", downloads], home: "bob")
        #expect(refused.status == 1 && refused.stderr.contains("exists already"), "\(refused)")
        #expect(Self.contents(part) == "another program's half-done work\n")

        // Bob shares a file that happens to be named report.bin.part, and then downloads report.bin beside it.
        try FileManager.default.removeItem(atPath: part)
        _ = try cluster.writeFile("bob-files/report.bin.part", size: 1000)
        let shared = Self.contents(part)
        try cluster.expectSuccess(["share", "team", part], as: "bob")
        let again = try cluster.ctl(["download", "team", "report.bin", "--to", downloads], home: "bob")
        #expect(again.status == 1 && again.stderr.contains("exists already"), "\(again)")
        #expect(Self.contents(part) == shared, "the seeded file is intact")
        let shares = try cluster.expectSuccess(["shares", "--json"], as: "bob").stdout
        #expect(shares.contains("\"name\":\"report.bin.part\""), "and still shared: \(shares)")

        // Elsewhere the same download works, and leaves a regular file.
        let elsewhere = cluster.directory.appendingPathComponent("elsewhere").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "report.bin", "--to", elsewhere], as: "bob")
        let attributes = try FileManager.default.attributesOfItem(atPath: elsewhere + "/report.bin")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(
            FileManager.default.contents(atPath: elsewhere + "/report.bin")
                == FileManager.default.contents(atPath: path))
    }

    @Test func aSharedFileSwappedForALinkOrAnotherFileIsNotServed() throws {
        let (cluster, path, _, alicePort) = try Self.swarm()
        let hello = try cluster.expectSuccess(["proof", "team"], as: "bob").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let secret = cluster.directory.appendingPathComponent("secret.bin").path
        try String(repeating: "S", count: 3 * Self.pieceSize + 17).write(
            toFile: secret, atomically: false, encoding: .utf8)
        chmod(secret, 0o600)

        let original = try #require(FileManager.default.contents(atPath: path))
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: secret)
        let linked = try LineSocket(port: alicePort)
        #expect(try linked.request(hello) == "OK")
        let viaLink = try linked.request("GET_PIECE|report.bin|0")
        #expect(viaLink.hasPrefix("ERR|unavailable|") && viaLink.contains("replaced by a symbolic link"), "\(viaLink)")

        // A regular file of the same size in its place is refused too: it is not the file that was hashed.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: secret, toPath: path)
        let copied = try LineSocket(port: alicePort)
        #expect(try copied.request(hello) == "OK")
        let viaCopy = try copied.request("GET_PIECE|report.bin|0")
        #expect(viaCopy.hasPrefix("ERR|unavailable|") && viaCopy.contains("replaced by another file"), "\(viaCopy)")

        // The file that was shared, put back, is served again.
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: path + ".moved", toPath: path)
        let restored = try LineSocket(port: alicePort)
        #expect(try restored.request(hello) == "OK")
        #expect(try restored.request("GET_PIECE|report.bin|0") == "OK|0|\(Self.pieceSize)")
        #expect(try restored.read(exactly: Self.pieceSize) == Array(original.prefix(Self.pieceSize)))
    }
}
