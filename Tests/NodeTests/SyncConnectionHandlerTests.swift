import Logging
import NIOCore
import NIOEmbedded
import Replica
import ReplicaCore
import Testing
import Wire

@testable import Node

/// The sync connection, over in-memory channels: the handshake, then messages; anything wrong closes it.
@Suite struct SyncConnectionHandlerTests {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    /// What one end reported.
    final class Record: @unchecked Sendable {
        var peer: UInt8?
        var messages: [SyncMessage] = []
        var snapshot: [UInt8] = []
        var snapshotEnded = false
        var forwards: [ForwardFrame] = []

        var events: SyncConnectionHandler.Events {
            SyncConnectionHandler.Events(
                authenticated: { self.peer = $0 }, received: { self.messages.append($0) },
                snapshotBytes: { self.snapshot += Array(buffer: $0) }, snapshotEnd: { self.snapshotEnded = true },
                forwarded: { self.forwards.append($0) })
        }
    }

    /// A dialer (tracker 1, dialing tracker 0) and a listener, each on an embedded channel.
    static func pair(
        dialerSecret: [UInt8] = Self.secret, maxFrame: Int = 1 << 20
    ) throws -> (dialer: EmbeddedChannel, listener: EmbeddedChannel, dialed: Record, listened: Record) {
        let dialed = Record()
        let listened = Record()
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let dialer = EmbeddedChannel(
            handler: SyncConnectionHandler(
                dialing: 0, as: 1, secret: dialerSecret, nonce: [UInt8](repeating: 1, count: 32), maxFrame: maxFrame,
                events: dialed.events, logger: logger))
        let listener = EmbeddedChannel(
            handler: SyncConnectionHandler(
                listeningWith: Self.secret, nonce: [UInt8](repeating: 2, count: 32), maxFrame: maxFrame,
                events: listened.events, logger: logger))
        try listener.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7201)).wait()
        try dialer.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7201)).wait()
        return (dialer, listener, dialed, listened)
    }

    /// Moves what each side wrote to the other until neither writes more.
    static func shuttle(_ a: EmbeddedChannel, _ b: EmbeddedChannel) throws {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(a, b), (b, a)] {
                while from.isActive, to.isActive, let bytes = try from.readOutbound(as: ByteBuffer.self) {
                    try to.writeInbound(bytes)
                    moved = true
                }
            }
        }
    }

    @Test func trackersWithTheSecretAuthenticateAndExchangeMessages() throws {
        let (dialer, listener, dialed, listened) = try Self.pair()
        try Self.shuttle(dialer, listener)
        #expect(dialed.peer == 0)
        #expect(listened.peer == 1)

        let hello = SyncMessage.hello(Hello(epoch: 4, role: .primary, position: .start, epochStart: 0))
        SyncConnectionHandler.write(hello, to: dialer)
        SyncConnectionHandler.write(.truncate(epoch: 4, afterSeq: 9), to: listener)
        try Self.shuttle(dialer, listener)
        #expect(listened.messages == [hello])
        #expect(dialed.messages == [.truncate(epoch: 4, afterSeq: 9)])
    }

    @Test func aDialerWithoutTheSecretIsRefusedAndHearsNothing() throws {
        let (dialer, listener, dialed, listened) = try Self.pair(dialerSecret: Array("wrong".utf8))
        try Self.shuttle(dialer, listener)
        #expect(dialed.peer == nil)
        #expect(listened.peer == nil)
        #expect(!dialer.isActive, "the dialer finds the listener's proof wrong and hangs up")
    }

    @Test func syncMessagesBeforeTheHandshakeCloseTheConnection() throws {
        let (_, listener, _, listened) = try Self.pair()
        var early = ByteBuffer()
        early.writeSyncFrame(.truncate(epoch: 9, afterSeq: 0))
        try listener.writeInbound(early)
        #expect(!listener.isActive)
        #expect(listened.messages.isEmpty)
    }

    @Test func malformedAndOversizedFramesCloseAnAuthenticatedConnection() throws {
        let (dialer, listener, _, listened) = try Self.pair(maxFrame: 1024)
        try Self.shuttle(dialer, listener)
        var garbage = ByteBuffer()
        garbage.writeFrame(kind: SyncKind.ack.rawValue) { $0.writeInteger(UInt8(1)) }
        try listener.writeInbound(garbage)
        #expect(!listener.isActive)

        let (dialer2, listener2, _, listened2) = try Self.pair(maxFrame: 1024)
        try Self.shuttle(dialer2, listener2)
        var huge = ByteBuffer()
        huge.writeInteger(UInt32(1 << 30))
        try listener2.writeInbound(huge)
        #expect(!listener2.isActive, "a 1 GiB length is refused before anything is buffered")
        #expect(listened.messages.isEmpty)
        #expect(listened2.messages.isEmpty)
    }

    @Test func beforeTheHandshakeOnlyHandshakeSizedFramesAreTaken() throws {
        let (_, listener, _, _) = try Self.pair()
        var long = ByteBuffer()
        long.writeInteger(UInt32(1_000))
        try listener.writeInbound(long)
        #expect(!listener.isActive, "a 1,000-byte frame before the handshake is refused at its length")
    }

    @Test func aConnectionThatDoesNotCompleteTheHandshakeIsClosed() throws {
        let (_, listener, _, listened) = try Self.pair()
        listener.embeddedEventLoop.advanceTime(by: SyncConnectionHandler.handshakeTimeout)
        #expect(!listener.isActive)
        #expect(listened.peer == nil)
    }
}
