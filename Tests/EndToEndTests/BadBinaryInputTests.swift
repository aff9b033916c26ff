import Foundation
import NIOCore
import TandemTestKit
import Testing
import Wire

/// Bad input on the binary protocol: a clear error frame, the connection closed when the stream cannot be
/// trusted, and the tracker serving others throughout.
@Suite(.serialized)
struct BadBinaryInputTests {
    static func frameHeader(length: UInt32, kind: UInt8) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        buffer.writeInteger(kind)
        return Array(buffer.readableBytesView)
    }

    static func expectStillServing(_ cluster: TestCluster) throws {
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try client.request(.listGroups) == .error(.notLoggedIn, "log in first (LOGIN|user|password)"))
    }

    @Test func walkthroughOverBinary() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try client.request(.createUser(user: "dora", password: "explorer")) == .ok)
        guard case .token(let token) = try client.request(.login(user: "dora", password: "explorer")) else {
            Issue.record("login gave no token")
            return
        }
        #expect(token.count >= 32)
        #expect(try client.request(.createGroup(group: "maps")) == .ok)
        #expect(try client.request(.listGroups) == .groups([GroupEntry(name: "maps", membership: .owner)]))
        let other = try BinaryClient(port: cluster.clientPorts["t1"]!)
        #expect(try other.request(.resume(token: token)) == .user("dora"))
        #expect(try other.request(.whoami) == .user("dora"))
        guard case .error(.notFound, _) = try other.request(.resume(token: String(repeating: "0", count: 64))) else {
            Issue.record("an unknown token resumed a session")
            return
        }
    }

    @Test func frameClaimingFourGibibytesIsRefusedUnbuffered() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
        client.socket.send(Self.frameHeader(length: 0xFFFF_FFFF, kind: 0x01))
        let reply = try client.readReply()
        guard case .error(.tooLarge, _) = reply.reply else {
            Issue.record("expected too_large, got \(reply)")
            return
        }
        try client.socket.waitForClose()
        try Self.expectStillServing(cluster)
    }

    @Test func unknownKindGetsAnErrorAndTheConnectionGoesOn() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
        client.socket.send(Self.frameHeader(length: 5, kind: 0x7F) + [0, 0, 0, 9])
        let reply = try client.readReply()
        guard case .error(.unknownCommand, _) = reply.reply else {
            Issue.record("expected unknown_command, got \(reply)")
            return
        }
        #expect(try client.request(.createUser(user: "erin", password: "pw")) == .ok)
    }

    @Test func truncatedFrameThenCloseLeavesTheTrackerServing() throws {
        let cluster = try TestCluster()
        try cluster.start()
        do {
            let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
            client.socket.send(Self.frameHeader(length: 100, kind: 0x01) + [0, 0])
        }
        try Self.expectStillServing(cluster)
    }

    @Test func wrongVersionInThePrefaceIsRefused() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!, preface: Preface.magic + [99])
        // The tracker answers with its own preface, so the client learns its version, then the error.
        let reply = try client.readReply()
        guard case .error(.unsupportedVersion, let message) = reply.reply else {
            Issue.record("expected unsupported_version, got \(reply)")
            return
        }
        #expect(message.contains("99"))
        try client.socket.waitForClose()
        try Self.expectStillServing(cluster)
    }

    @Test func malformedPayloadIsRefused() throws {
        let cluster = try TestCluster()
        try cluster.start()
        let client = try BinaryClient(port: cluster.clientPorts["t1"]!)
        // CREATE_USER whose first string claims 1,000 bytes but carries 2.
        client.socket.send(Self.frameHeader(length: 11, kind: 0x01) + [0, 0, 0, 1] + [0, 0, 0x03, 0xE8, 0x61, 0x62])
        let reply = try client.readReply()
        guard case .error(.badRequest, _) = reply.reply else {
            Issue.record("expected bad_request, got \(reply)")
            return
        }
        try Self.expectStillServing(cluster)
    }
}
