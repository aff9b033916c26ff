import Foundation
import NIOCore
import TandemTestKit
import Testing
import Wire

/// Every listener is capped, in all and per source address, and times out what holds a slot without using it: one
/// listener's flood never starves another, and one address cannot take every slot. Before the fix, 20,000 idle
/// connections to the metrics port used up the tracker's descriptors and its client port stopped answering;
/// a client that never read its replies, or a member that never read its pieces, held a slot forever; and every
/// refused connection wrote a log line.
@Suite(.serialized) struct ListenerLimitsTests {
    /// The descriptors process `pid` has open.
    static func descriptors(of pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    static func occurrences(of text: String, in log: String) -> Int {
        log.components(separatedBy: text).count - 1
    }

    /// Whether a text client on `port`, from `source`, is served (`STATUS` answered).
    static func served(port: Int, source: String = "127.0.0.1") -> Bool {
        guard let socket = try? LineSocket(port: port, timeout: .seconds(2), source: source),
            let reply = try? socket.request("STATUS")
        else { return false }
        return reply.hasPrefix("OK|")
    }

    @Test func floodsOfIdleConnectionsToTheMetricsAndSyncPortsCostFewDescriptors() throws {
        let metrics = try TestCluster.freePortPair()
        let cluster = try TestCluster(extraYAML: "metrics: { port: \(metrics) }\n")
        try cluster.startPair()
        try cluster.waitForPair(primary: "t1")
        let pid = try #require(cluster.pid("t1"))
        let before = try Self.descriptors(of: pid)
        var flood: [LineSocket] = []
        for _ in 0..<2_000 { flood.append(try LineSocket(port: metrics)) }
        for _ in 0..<500 { flood.append(try LineSocket(port: cluster.syncPorts["t1"]!)) }
        _ = try eventually("the tracker to have closed what it does not serve") { () -> Bool? in
            try Self.descriptors(of: pid) - before < 100 ? true : nil
        }
        #expect(Self.served(port: cluster.clientPorts["t1"]!), "the client port answers through the flood")
        // The idle ones it took are timed out, and a scrape gets through again.
        let scraped = try eventually("a scrape to be answered", timeout: .seconds(20)) { () -> String? in
            let reply = try? MetricsPage.get("/metrics", port: metrics)
            return reply?.hasPrefix("HTTP/1.1 200") == true ? reply : nil
        }
        #expect(scraped.contains("tandem_"))
        #expect(
            Self.occurrences(of: "too many metrics connections", in: cluster.log("t1")) <= 2, "\(cluster.log("t1"))")
        #expect(try cluster.waitForPair(primary: "t1")["backup"] == "in_sync", "the pair kept its sync connection")
        withExtendedLifetime(flood) {}
    }

    @Test func oneAddressCannotTakeEveryClientSlotAndRefusalsAreLoggedSparingly() throws {
        let cluster = try TestCluster(extraYAML: "limits: { max_connections_per_address: 20 }\n")
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        let held = try (0..<20).map { _ in try LineSocket(port: port) }
        for socket in held { #expect(try socket.request("STATUS").hasPrefix("OK|")) }
        var refused: [LineSocket] = []
        for _ in 0..<200 { refused.append(try LineSocket(port: port, timeout: .seconds(5))) }
        for socket in refused.prefix(5) { try socket.waitForClose() }
        #expect(Self.served(port: port, source: "127.0.0.2"), "another address is served")
        #expect(!Self.served(port: port), "this one is not")
        #expect(Self.occurrences(of: "too many connections", in: cluster.log("t1")) <= 2, "\(cluster.log("t1"))")
        withExtendedLifetime(held) {}
    }

    @Test func aClientThatNeverReadsItsRepliesLosesItsSlot() throws {
        let cluster = try TestCluster(extraYAML: "limits: { max_connections: 1, idle_timeout: 5s }\n")
        try cluster.start()
        let port = cluster.clientPorts["t1"]!
        // The only slot, once the tracker has noticed that the probe of its start closed.
        let greedy = try eventually("a client to take the only slot") { () -> LineSocket? in
            guard let socket = try? LineSocket(port: port, receiveBuffer: 4096),
                (try? socket.request("STATUS"))?.hasPrefix("OK|") == true
            else { return nil }
            return socket
        }
        let requests = Array(String(repeating: "STATUS\n", count: 100_000).utf8)
        _ = greedy.send(requests, untilStalledFor: .milliseconds(300))
        #expect(!Self.served(port: port), "the only slot is taken")
        // The tracker answers what it read until its replies back up, then stops reading; the slot is freed
        // `idle_timeout` after that. A loaded machine takes a while to get there: the deadline is generous.
        _ = try eventually("the slot to be freed", timeout: .seconds(60)) { Self.served(port: port) ? true : nil }
    }

    @Test func aMemberThatNeverReadsItsPiecesLosesItsSlotAndOneAddressCannotTakeThemAll() throws {
        let cluster = try TestCluster(
            pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s, max_peers: 3, max_peers_per_address: 2 }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob"])
        let port = try cluster.startPeer("alice")
        let path = try cluster.writeFile("big.bin", size: 200 << 16)
        let shared = try cluster.expectSuccess(["share", "team", path, "--json"], as: "alice").stdout
        let fileID = try #require(
            shared.range(of: "\"file_id\":\"").map { String(shared[$0.upperBound...].prefix(40)) })
        let hello = try SwarmAccessTests.helloFrame("bob", fileID: fileID, in: cluster)

        let greedy = try LineSocket(port: port, receiveBuffer: 4096)
        #expect(greedy.send(hello))
        var requests = ByteBuffer()
        for piece in 0..<200 {
            requests.writePeerRequest(.request(PieceRange(piece: UInt32(piece), offset: 0, length: 1 << 16)))
        }
        // The welcome comes before the requests may be sent.
        var reader = PeerReader(greedy)
        guard case .welcome = reader.next() else {
            Issue.record("bob was not welcomed")
            return
        }
        #expect(greedy.send(Array(requests.readableBytesView)))

        // A second connection from this address is taken; a third is not, and one from another address is.
        let second = try LineSocket(port: port)
        #expect(second.send(hello))
        let third = try LineSocket(port: port)
        let refusal = String(decoding: try third.readSome() ?? [], as: UTF8.self)
        #expect(refusal.contains("connections from your address already"), "\(refusal)")
        let elsewhere = try LineSocket(port: port, source: "127.0.0.2")
        #expect(elsewhere.send(hello))
        let welcomed = try elsewhere.readSome() ?? []
        #expect(!String(decoding: welcomed, as: UTF8.self).contains("already"), "another address is admitted")

        // The greedy one, reading nothing, is cut off after the peer timeout, and its slot is free again.
        _ = try eventually("the greedy downloader's slot to be freed") { () -> Bool? in
            guard let next = try? LineSocket(port: port, timeout: .seconds(2)), next.send(hello),
                let bytes = try? next.readSome()
            else { return nil }
            return String(decoding: bytes, as: UTF8.self).contains("already") ? nil : true
        }
        withExtendedLifetime([second, elsewhere]) {}
    }
}
