import Logging
import NIOCore
import Wire

/// Serves one client connection on its event loop: one request at a time, in order, each answered before the
/// next is started; the session lives here between requests.
///
/// Bounded: at most ``maxQueued`` decoded requests wait behind the one in flight; past that the handler stops
/// reading from the socket until the queue drains. On ``TrackerShutdown`` it finishes the request in flight,
/// then closes. When the connection closes, a session bound to it (a text LOGIN) ends.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ClientInbound
    typealias OutboundIn = ClientOutbound
    typealias OutboundOut = ClientOutbound

    /// Requests a pipelining client may have waiting before reads pause.
    static let maxQueued = 64

    private let engine: TrackerEngine
    private var logger: Logger
    private var session: ConnectionSession
    private var waiting = CircularBuffer<ClientInbound>()
    private var inFlight = false
    private var readPaused = false
    private var prefaceSent = false
    private var stopping = false
    private var closed = false

    init(engine: TrackerEngine, logger: Logger, peer: SocketAddress?) {
        self.engine = engine
        self.logger = logger
        self.logger[metadataKey: "conn.peer"] = "\(peer.map { "\($0)" } ?? "unknown")"
        self.session = ConnectionSession(format: .text, peerHost: peer?.ipAddress ?? "unknown")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.waiting.append(self.unwrapInboundIn(data))
        self.serveNext(context: context)
    }

    func read(context: ChannelHandlerContext) {
        // Replies the client does not read fill the outbound buffer: stop reading (and serving) until it drains.
        if self.waiting.count >= Self.maxQueued || !context.channel.isWritable {
            self.readPaused = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is TrackerShutdown else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.stopping = true
        if !self.inFlight { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.closed = true
        // With a request in flight (a LOGIN, say), the session ends once that request has settled it.
        if !self.inFlight { self.engine.connectionClosed(self.session) }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.serveNext(context: context)
            if self.readPaused && self.waiting.count < Self.maxQueued {
                self.readPaused = false
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Starts the next waiting request unless one is in flight.
    private func serveNext(context: ChannelHandlerContext) {
        while !self.inFlight, !self.stopping, context.channel.isWritable, let message = self.waiting.popFirst() {
            if self.readPaused && self.waiting.count < Self.maxQueued {
                self.readPaused = false
                context.read()
            }
            switch message {
            case .preface:
                self.session.format = .binary
                self.prefaceSent = true
                context.writeAndFlush(self.wrapOutboundOut(.preface), promise: nil)
            case .invalid(let format, let requestID, let error):
                self.refuse(error, format: format, requestID: requestID, context: context)
            case .request(let format, let requestID, let request):
                self.session.format = format
                self.inFlight = true
                self.engine.handle(request, session: self.session, on: context.eventLoop).assumeIsolated()
                    .whenSuccess { outcome in
                        self.session = outcome.session
                        self.inFlight = false
                        if self.closed {
                            self.engine.connectionClosed(self.session)
                            return
                        }
                        let written = context.writeAndFlush(
                            self.wrapOutboundOut(.reply(format, requestID: requestID, outcome.reply)))
                        if self.stopping {
                            // Close once the reply is on the socket: closing at once would fail the pending write.
                            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                        } else {
                            self.serveNext(context: context)
                        }
                    }
            }
        }
    }

    /// Answers input that did not decode; closes the connection when the stream can no longer be trusted.
    private func refuse(_ error: WireError, format: ClientFormat, requestID: UInt32, context: ChannelHandlerContext) {
        self.logger.debug("refused malformed input", metadata: ["error": "\(error)"])
        if format == .binary && !self.prefaceSent {
            // A bad preface: answer with ours first, so the client learns which version we speak.
            self.prefaceSent = true
            context.write(self.wrapOutboundOut(.preface), promise: nil)
        }
        let reply = ClientOutbound.reply(format, requestID: requestID, .error(error.code, error.description))
        if error.isFatal {
            self.stopping = true
            context.writeAndFlush(self.wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            context.writeAndFlush(self.wrapOutboundOut(reply), promise: nil)
        }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}

/// Asks every connection to finish its request in flight and close: the tracker is stopping.
struct TrackerShutdown: Sendable {}
