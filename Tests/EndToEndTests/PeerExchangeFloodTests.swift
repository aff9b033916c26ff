import Foundation
import Synchronization
import TandemTestKit
import Testing
import Wire

/// A seeder that names thousands of peers makes a downloader dial a bounded few of them, a few at a time, each a
/// bounded number of times, and say so in a line or two. Before the fix, a welcome naming 4,000 peers gave 40,000
/// connection attempts in 20 s, 10 MB of log and 96 MB of downloader memory.
@Suite(.serialized) struct PeerExchangeFloodTests {
    static let pieceSize = 64 << 10

    /// Counts the connections made to it, closing each at once.
    final class CountingListener: Sendable {
        let port: Int
        private let listener: Int32
        private let accepted = Atomic<Int>(0)

        var count: Int { self.accepted.load(ordering: .relaxed) }

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(listener, $0, length) == 0 && listen(listener, 64) == 0
                        && getsockname(listener, $0, &length) == 0
                }
            }
            guard bound else { throw SocketError(description: "cannot listen: errno \(errno)") }
            self.listener = listener
            self.port = Int(UInt16(bigEndian: address.sin_port))
            Thread.detachNewThread {
                while true {
                    let fd = accept(listener, nil, nil)
                    guard fd >= 0 else { return }
                    self.accepted.add(1, ordering: .relaxed)
                    close(fd)
                }
            }
        }

        func stop() { shutdown(self.listener, Int32(SHUT_RDWR)) }
    }

    @Test func aSeederNamingThousandsOfPeersGetsAFewDialedAFewTimes() throws {
        let cluster = try TestCluster(pieceSize: "64KiB", extraYAML: "swarm: { peer_timeout: 2s }\n")
        try cluster.start()
        try cluster.makeGroup("team", owner: "alice", members: ["bob", "mallory"])
        try cluster.startPeer("alice")
        try cluster.startPeer("bob")
        let path = try cluster.writeFile("data.bin", size: 64 * Self.pieceSize)
        try cluster.expectSuccess(["share", "team", path], as: "alice")

        // Mallory's seeder names 50 listeners that count, then 3,950 addresses where nothing listens (ports just
        // found free on 127.0.0.1, on other addresses of 127.0.0.0/8).
        let listeners = try (0..<50).map { _ in try CountingListener() }
        defer { listeners.forEach { $0.stop() } }
        let closed = try TestCluster.freePorts(100)
        let named =
            listeners.map { PeerAddress(host: "127.0.0.1", port: UInt16($0.port)) }
            + (0..<3_950).map { PeerAddress(host: "127.0.0.\(2 + $0 / 100)", port: UInt16(closed[$0 % 100])) }
        let flooder = try FakeSeeder(path: path, pieceSize: Self.pieceSize, behavior: .honest, peers: named)
        defer { flooder.stop() }
        try SwarmEndToEndTests.registerSeeder(flooder.port, file: "data.bin", as: "mallory", in: cluster)
        try cluster.expectSuccess(["stop-share", "team", "data.bin"], as: "alice")

        let target = cluster.directory.appendingPathComponent("bob-dir").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try cluster.expectSuccess(["download", "team", "data.bin", "--to", target], as: "bob")
        #expect(try SwarmEndToEndTests.sha1(target + "/data.bin") == SwarmEndToEndTests.sha1(path))

        let perSource = 32
        _ = try eventually("the first peers named to be dialed: peer exchange still works") {
            listeners.prefix(4).allSatisfy { $0.count >= 1 } ? true : nil
        }
        #expect(listeners[perSource...].allSatisfy { $0.count == 0 }, "names past the first 32 are never dialed")
        #expect(listeners.prefix(perSource).allSatisfy { $0.count <= 3 }, "\(listeners.map(\.count))")
        let log = cluster.peerLog("bob")
        #expect(log.components(separatedBy: "named more peers than a download takes").count - 1 == 1, "\(log)")
        #expect(log.components(separatedBy: "cannot reach a peer").count - 1 <= perSource)
        #expect(log.utf8.count < 64 << 10, "the log stays small: \(log.utf8.count) bytes")
    }
}
