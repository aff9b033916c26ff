import Foundation
import TandemTestKit
import Testing

/// A full disk: the write is refused with a clear error, nothing changes, and writes resume once space is freed.
///
/// Runs where the tests may mount a small tmpfs (root); elsewhere it is skipped.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct FullDiskEndToEndTests {
    @Test func fullDiskRefusesTheWriteChangesNothingAndRecovers() throws {
        let cluster = try TestCluster()
        let dataDir = cluster.directory.appendingPathComponent("data/t1")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let mount = try TmpfsMount(at: dataDir.path, options: "size=256k")
        defer {
            _ = try? cluster.stop()
            mount.unmount()
        }
        try cluster.start()
        let client = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try client.request("CREATE_USER|ivy|pw") == "OK")
        #expect(try client.request("LOGIN|ivy|pw").hasPrefix("OK|"))

        // Fill the file system but for a few KiB, then write until the WAL cannot grow.
        let filler = dataDir.appendingPathComponent("filler")
        let free = try Self.freeBytes(dataDir.path)
        try Data(count: max(0, free - 8192)).write(to: filler)
        var acknowledged: [String] = []
        var refusal: String?
        for index in 0..<10_000 {
            let reply = try client.request("CREATE_GROUP|full\(index)")
            if reply == "OK" {
                acknowledged.append("full\(index)")
            } else {
                refusal = reply
                break
            }
        }
        let refused = try #require(refusal, "the disk never filled")
        #expect(refused.hasPrefix("ERR|unavailable|") && refused.contains("disk is full"), "\(refused)")
        let listing = try client.request("LIST_GROUPS")
        #expect(!listing.contains("full\(acknowledged.count):"), "the refused write changed nothing")
        #expect(listing.split(separator: "|").count == acknowledged.count + 1)

        try FileManager.default.removeItem(at: filler)
        let after = try client.request("CREATE_GROUP|after")
        #expect(after == "OK", "writes resume once space is freed: \(after)")

        try cluster.stop()
        try cluster.start()
        let reader = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try reader.request("LOGIN|ivy|pw").hasPrefix("OK|"))
        let restored = try reader.request("LIST_GROUPS")
        #expect(restored.split(separator: "|").count == acknowledged.count + 2, "every acknowledged write survives")
    }

    /// A text session ends with its connection even when the disk is full as it closes: the close is retried
    /// until it is logged. Before the fix, it was tried once, and the session outlived its connection.
    @Test func aTextSessionClosedOnAFullDiskEndsOnceSpaceIsFreed() throws {
        let cluster = try TestCluster()
        let dataDir = cluster.directory.appendingPathComponent("data/t1")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let mount = try TmpfsMount(at: dataDir.path, options: "size=256k")
        defer {
            _ = try? cluster.stop()
            mount.unmount()
        }
        try cluster.start()
        var client: LineSocket? = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try client?.request("CREATE_USER|ivy|pw") == "OK")
        let login = try #require(try client?.request("LOGIN|ivy|pw"))
        let token = String(try #require(login.split(separator: "|").last))

        let filler = dataDir.appendingPathComponent("filler")
        try Data(count: max(0, try Self.freeBytes(dataDir.path) - 8192)).write(to: filler)
        for index in 0..<10_000 where try client?.request("CREATE_GROUP|full\(index)") != "OK" { break }
        client = nil
        _ = try eventually("the tracker to find it cannot end the session yet") {
            cluster.log("t1").contains("could not end a session with its connection") ? true : nil
        }
        let other = try LineSocket(port: cluster.clientPorts["t1"]!)
        #expect(try other.request("RESUME|\(token)") == "OK|ivy", "the session is still open while the disk is full")

        try FileManager.default.removeItem(at: filler)
        _ = try eventually("the session to end once space is freed") { () -> Bool? in
            let probe = try LineSocket(port: cluster.clientPorts["t1"]!)
            return try probe.request("RESUME|\(token)").hasPrefix("ERR|not_found|") ? true : nil
        }
    }

    static func freeBytes(_ path: String) throws -> Int {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { throw SocketError(description: "statvfs \(path) failed") }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }
}
