import Foundation
import NIOCore
import TandemTestKit
import Testing
import Wire

/// What clients can make a tracker hold: before a session only small frames, and all connections together no
/// more than `limits.max_buffered_input` beyond a small allowance each; the memory returns when they close.
/// Before the fix, 100 connections each sending 15 MiB of a declared 16 MiB frame, without logging in, took a
/// tracker from about 49 MB to 1.6 GB, still held after they closed.
@Suite(.serialized) struct TrackerMemoryTests {
    static let mebibyte = 1 << 20
    /// Most of a frame that declares 16 MiB, never finished.
    static let payload = [UInt8](repeating: 0x41, count: 15 << 20)

    /// A frame header declaring `length` bytes (kind byte plus payload) of a CREATE_GROUP.
    static func header(length: UInt32) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        buffer.writeInteger(UInt8(0x05))
        buffer.writeInteger(UInt32(1))
        return Array(buffer.readableBytesView)
    }

    @Test func connectionsWithoutASessionMaySendOnlySmallFrames() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let pid = try #require(cluster.pid("t1"))
        let baseline = try residentBytes(of: pid)
        var sockets: [LineSocket] = []
        for _ in 0..<100 {
            let socket = try LineSocket(port: cluster.clientPorts["t1"]!)
            socket.send(Preface.bytes + Self.header(length: 16 << 20 - 1))
            _ = socket.send(Self.payload, untilStalledFor: .milliseconds(300))
            sockets.append(socket)
        }
        let peak = try peakResidentBytes(of: pid)
        #expect(peak - baseline < 64 * Self.mebibyte, "peak \(peak >> 20) MiB from \(baseline >> 20) MiB")

        // Each was told why, before anything of the frame was buffered.
        var reply = [UInt8]()
        while !String(decoding: reply, as: UTF8.self).contains("session"), let bytes = try sockets[0].readSome() {
            reply += bytes
        }
        let text = String(decoding: reply, as: UTF8.self)
        #expect(text.contains("before a session"), "\(text)")
        sockets.removeAll()
        let after = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try after.request(.createUser(user: "still", password: "serving")) == .ok)
    }

    @Test func loggedInConnectionsShareABoundedBudgetAndGiveItBack() throws {
        let cluster = try TestCluster(extraYAML: "limits: { max_buffered_input: 64MiB }")
        try cluster.start()
        let pid = try #require(cluster.pid("t1"))
        let owner = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try owner.request(.createUser(user: "heavy", password: "uploader")) == .ok)
        guard case .token(let token) = try owner.request(.login(user: "heavy", password: "uploader")) else {
            Issue.record("no token")
            return
        }
        let baseline = try residentBytes(of: pid)
        var uploaders = try (0..<32).map { _ in try BinaryClient(port: cluster.clientPorts["t1"]!) }
        for uploader in uploaders { #expect(try uploader.request(.resume(token: token)) == .user("heavy")) }
        do {
            // Each socket is used by one iteration only.
            nonisolated(unsafe) let sockets = uploaders.map(\.socket)
            DispatchQueue.concurrentPerform(iterations: sockets.count) { index in
                sockets[index].send(Self.header(length: 16 << 20 - 1))
                _ = sockets[index].send(Self.payload, untilStalledFor: .milliseconds(200))
            }
        }
        let peak = try peakResidentBytes(of: pid)
        #expect(peak - baseline < 128 * Self.mebibyte, "peak \(peak >> 20) MiB from \(baseline >> 20) MiB")

        // Small requests need none of the budget: another client is served while it is spent.
        let other = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try other.request(.resume(token: token)) == .user("heavy"))
        #expect(try other.request(.createGroup(group: "meanwhile")) == .ok)

        uploaders.removeAll()
        let settled = try eventually("the tracker to give the memory back") { () -> Int? in
            let resident = try residentBytes(of: pid)
            return resident - baseline < 48 * Self.mebibyte ? resident : nil
        }
        #expect(settled - baseline < 48 * Self.mebibyte)
    }
}
