import Logging
import NIOCore
import Replica
import ReplicaCore
import ServerSupport
import Wire

/// One end of a sync connection between the two trackers: the handshake (``SyncHandshake``), then sync
/// messages both ways, in frames.
///
/// A frame that does not decode, a failed proof, or a frame over `maxFrame` ends the connection: the sync port
/// trusts nothing before the handshake and nothing malformed after it. Until the handshake is done, frames may
/// be no longer than a handshake step and the handshake must end within ``handshakeTimeout``, so an
/// unauthenticated connection costs a few bytes and a few seconds. Input is cut into frames as it arrives, so
/// at most one partial frame is buffered.
final class SyncConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the connection reports to the replica that owns it.
    struct Events {
        /// The handshake succeeded: the other side is tracker `peer` (its index in cluster.yaml).
        var authenticated: (_ peer: UInt8) -> Void
        /// A sync message arrived.
        var received: (SyncMessage) -> Void
        /// The next bytes of a FULLSYNC snapshot arrived.
        var snapshotBytes: (ByteBuffer) -> Void
        /// A FULLSYNC snapshot ended.
        var snapshotEnd: () -> Void
        /// A forwarded write, or the answer to one, arrived.
        var forwarded: (ForwardFrame) -> Void
    }

    private var handshake: SyncHandshake
    private let firstFrame: SyncAuthFrame?
    private let knownPeer: UInt8?
    private let maxFrame: Int
    private let events: Events
    private let logger: Logger
    /// Shared by every connection of the sync port: a refusal is logged at most every so often.
    private let refusals: LogThrottle
    private var inbound = ByteBuffer()
    private var authenticated = false
    private var handshakeDeadline: Scheduled<Void>?

    /// How long the other side has to complete the handshake.
    static let handshakeTimeout = TimeAmount.seconds(5)
    /// The longest handshake frame: the kind byte, two 32-byte fields and a node index.
    static let maxHandshakeFrame = 1 + 2 * SyncHandshake.nonceLength + 1

    /// The dialing side: it greets with `nonce` and knows it dialed tracker `peer`.
    init(
        dialing peer: UInt8, as node: UInt8, secret: [UInt8], nonce: [UInt8], maxFrame: Int, events: Events,
        refusals: LogThrottle = LogThrottle(), logger: Logger
    ) {
        self.refusals = refusals
        let (handshake, greeting) = SyncHandshake.dialer(secret: secret, node: node, nonce: nonce)
        self.handshake = handshake
        self.firstFrame = greeting
        self.knownPeer = peer
        self.maxFrame = maxFrame
        self.events = events
        self.logger = logger
    }

    /// The listening side: it waits for a greeting, and answers with `nonce`.
    init(
        listeningWith secret: [UInt8], nonce: [UInt8], maxFrame: Int, events: Events,
        refusals: LogThrottle = LogThrottle(), logger: Logger
    ) {
        self.refusals = refusals
        self.handshake = SyncHandshake.listener(secret: secret, nonce: nonce)
        self.firstFrame = nil
        self.knownPeer = nil
        self.maxFrame = maxFrame
        self.events = events
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting = self.firstFrame { self.send(greeting, context: context) }
        self.handshakeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: Self.handshakeTimeout) {
            if let suppressed = self.refusals.permit() {
                self.logger.warning(
                    "refused a sync connection: no handshake in time", metadata: ["log.suppressed": "\(suppressed)"])
            }
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.handshakeDeadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        self.inbound.writeBuffer(&bytes)
        do {
            while context.channel.isActive,
                let frame = try self.inbound.readFrame(
                    maxFrame: self.authenticated ? self.maxFrame : Self.maxHandshakeFrame)
            {
                try self.take(frame, context: context)
            }
            if self.inbound.readerIndex > self.inbound.readableBytes { self.inbound.discardReadBytes() }
        } catch {
            if let suppressed = self.refusals.permit() {
                self.logger.warning(
                    "refused a sync connection", metadata: ["error": "\(error)", "log.suppressed": "\(suppressed)"])
            }
            self.inbound.clear()
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("sync connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Encodes `message` and writes it to the connection (once ``Events/authenticated`` was reported).
    static func write(_ message: SyncMessage, to channel: any Channel) {
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeSyncFrame(message)
        channel.writeAndFlush(buffer, promise: nil)
    }

    private func take(_ frame: Frame, context: ChannelHandlerContext) throws {
        guard self.authenticated else {
            switch try self.handshake.receive(SyncAuthFrame(frame: frame)) {
            case .send(let reply):
                self.send(reply, context: context)
            case .sendAndFinish(let proof):
                self.send(proof, context: context)
                if let peer = self.knownPeer { self.finish(peer: peer) }
            case .finish(let peer):
                self.finish(peer: peer)
            }
            return
        }
        switch SyncStreamKind(rawValue: frame.kind) {
        case .snapshotBytes:
            self.events.snapshotBytes(frame.payload)
        case .snapshotEnd:
            self.events.snapshotEnd()
        case nil:
            if let forward = try ForwardFrame(frame: frame) {
                self.events.forwarded(forward)
            } else {
                self.events.received(try SyncMessage(frame: frame))
            }
        }
    }

    private func finish(peer: UInt8) {
        self.authenticated = true
        self.handshakeDeadline?.cancel()
        self.events.authenticated(peer)
    }

    private func send(_ frame: SyncAuthFrame, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 80)
        buffer.writeSyncAuthFrame(frame)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }
}

@available(*, unavailable)
extension SyncConnectionHandler: Sendable {}
