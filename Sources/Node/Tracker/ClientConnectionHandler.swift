import Logging
import NIOCore
import NIOExtras
import Wire

/// Serves one client connection on its event loop: one request at a time, in order, each answered before the
/// next is started; the session lives here between requests. The discipline (queue bound, back-pressure,
/// half-close, shutdown) is ``ClientConnectionStateMachine``'s; this handler carries out its steps.
///
/// It takes the connection's bytes and decodes a message only when the machine has room for it, and it encodes
/// replies into one buffer that goes to the socket every ``flushThreshold`` bytes and whenever it waits. So
/// what a client can make it hold is bounded in bytes: one partial line or frame and one read of input, the
/// requests queued (``maxQueuedBytes`` plus one), and replies up to the channel's high water mark plus one
/// buffer. Before the connection has a session its frames are small (the decoder's limit); past
/// ``inputAllowance`` the input it holds is reserved from the tracker's ``InputBudget`` before each read, and a
/// connection that finds the budget spent stops reading until some is given back.
///
/// On `ChannelShouldQuiesceEvent` (the tracker is stopping) it finishes the request in flight, answers each waiting one `try_again`, and closes.
/// When the connection closes, a session bound to it (a text LOGIN) ends.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ClientOutbound
    typealias OutboundOut = ByteBuffer

    /// Requests a pipelining client may have waiting before reads pause.
    static let maxQueued = 64
    /// Input bytes those waiting requests may come from before reads pause (one more request may push past it).
    static let maxQueuedBytes = 1 << 20
    /// Replies are written to the socket once this many bytes of them are ready.
    static let flushThreshold = 16 << 10
    /// How long a closing connection keeps dropping what the client still sends before it is cut off.
    static let lingerTimeout = TimeAmount.seconds(10)
    /// Input a connection may hold (unread and queued) without reserving any of the budget.
    static let inputAllowance = 128 << 10
    /// The most one read brings (the server's receive allocator gives at most this).
    static let readSize = 64 << 10

    private let engine: TrackerEngine
    private let budget: InputBudget
    /// Bytes of the budget this connection holds.
    private var reserved = 0
    /// The budget was spent when this connection wanted to read; it is called back when some is given back.
    private var waitingForBudget = false
    private var logger: Logger
    private var session: ConnectionSession
    private var machine = ClientConnectionStateMachine<ClientInbound>(
        maxQueued: ClientConnectionHandler.maxQueued, maxQueuedBytes: ClientConnectionHandler.maxQueuedBytes)
    private var decoder: ClientRequestDecoder
    private let encoder: ClientReplyEncoder
    /// Replies encoded and not yet handed to the channel.
    private var outgoing = ByteBuffer()
    private var lingerCutOff: Scheduled<Void>?
    /// Set once the tracker is stopping: closes the connection if it has not closed within the grace.
    private var shutdownCutOff: Scheduled<Void>?
    /// Bytes received and not yet decoded.
    private var inbound = ByteBuffer()
    /// The client will send nothing more: what is left in ``inbound`` is its last message.
    private var streamEnded = false
    private var prefaceSent = false
    /// The most recent write; closing waits for it.
    private var lastWrite: EventLoopFuture<Void>?
    /// Whether ``advance(context:)`` is running: a request answered at once does not start it again, so a long
    /// pipeline is served in a loop rather than in ever deeper recursion.
    private var advancing = false
    /// An event arrived while ``advance(context:)`` ran; it must look at the machine once more.
    private var advanceAgain = false

    init(
        engine: TrackerEngine, decoder: ClientRequestDecoder, encoder: ClientReplyEncoder, budget: InputBudget,
        logger: Logger, peer: SocketAddress?
    ) {
        self.engine = engine
        self.budget = budget
        self.decoder = decoder
        self.encoder = encoder
        self.logger = logger
        self.logger[metadataKey: "conn.peer"] = "\(peer.map { "\($0)" } ?? "unknown")"
        self.session = ConnectionSession(format: .text, peerHost: peer?.ipAddress ?? "unknown")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.machine.acceptsInput else { return }
        var bytes = self.unwrapInboundIn(data)
        if self.inbound.readableBytes == 0 {
            self.inbound = bytes
        } else {
            if self.inbound.readerIndex > self.inbound.readableBytes { self.inbound.discardReadBytes() }
            self.inbound.writeBuffer(&bytes)
        }
        self.advance(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if self.machine.readRequested() {
            self.readIfBudgetAllows(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            self.machine.shutdownRequested()
            // A client that reads none of its last replies is cut off after the grace.
            self.shutdownCutOff = context.eventLoop.assumeIsolated().scheduleTask(in: TrackerServer.shutdownGrace) {
                context.close(promise: nil)
            }
        case is IdleStateHandler.IdleStateEvent:
            // The client sent nothing for `idle_timeout`: close, unless it is waiting for an answer and reads
            // its replies (one that does not has stopped being read, and would hold its slot forever).
            if self.machine.isIdle || !context.channel.isWritable { context.close(promise: nil) }
            return
        case ChannelEvent.inputClosed:
            self.streamEnded = true
        default:
            context.fireUserInboundEventTriggered(event)
            return
        }
        self.advance(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // With a request in flight (a LOGIN, say), the session ends once that request has settled it.
        if self.machine.channelClosed() { self.engine.connectionClosed(self.session, on: context.eventLoop) }
        self.inbound = ByteBuffer()
        self.budget.release(self.reserved)
        self.reserved = 0
        self.lingerCutOff?.cancel()
        self.shutdownCutOff?.cancel()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.advance(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Carries out the machine's steps until it waits for the next event.
    private func advance(context: ChannelHandlerContext) {
        // A write can flush at once and change writability; the event that reports it lands here, in a nested
        // call, and is remembered so the loop below takes another pass instead of losing it.
        guard !self.advancing else {
            self.advanceAgain = true
            return
        }
        self.advancing = true
        defer { self.advancing = false }
        while true {
            self.advanceAgain = false
            self.decodeWhileThereIsRoom()
            switch self.machine.nextStep(writable: context.channel.isWritable) {
            case .wait:
                self.writeOutgoing(context: context)
                self.releaseUnneededBudget()
                if !self.advanceAgain { return }
            case .resumeReading:
                self.readIfBudgetAllows(context: context)
            case .close:
                self.writeOutgoing(context: context)
                self.afterLastWrite(context: context) { context.close(promise: nil) }
            case .closeOutput:
                // Drop the client's input from now on, so it can finish sending and read the last replies;
                // end the output once they are on the socket, and cut the connection off if the client lingers.
                self.writeOutgoing(context: context)
                context.read()
                self.afterLastWrite(context: context) { context.close(mode: .output, promise: nil) }
                self.lingerCutOff = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTimeout) {
                    context.close(promise: nil)
                }
            case .serve(let message):
                self.serve(message, context: context)
            case .refuse(.request(let format, let requestID, _)):
                self.write(
                    .reply(format, requestID: requestID, .error(.tryAgain, "the tracker is shutting down; retry")),
                    context: context)
            case .refuse(let message):
                self.serve(message, context: context)
            }
        }
    }

    /// Answers one message; a request is answered when the engine is done with it.
    private func serve(_ message: ClientInbound, context: ChannelHandlerContext) {
        switch message {
        case .preface:
            self.session.format = .binary
            self.prefaceSent = true
            self.write(.preface, context: context)
            self.machine.finished()
        case .invalid(let format, let requestID, let error):
            self.refuse(error, format: format, requestID: requestID, context: context)
            self.machine.finished()
        case .request(let format, let requestID, let request):
            self.session.format = format
            let started = NIODeadline.now()
            self.engine.handle(request, requestID: requestID, session: self.session, on: context.eventLoop)
                .assumeIsolated()
                .whenComplete { result in
                    let reply: Reply
                    switch result {
                    case .success(let outcome):
                        self.session = outcome.session
                        reply = outcome.reply
                    case .failure(let error):
                        reply = .error(.unavailable, "the tracker could not serve the request: \(error)")
                    }
                    self.machine.finished()
                    if self.machine.isClosed {
                        self.engine.connectionClosed(self.session, on: context.eventLoop)
                        return
                    }
                    let took = NIODeadline.now() - started
                    self.write(.reply(format, requestID: requestID, reply), context: context)
                    self.engine.metrics.served(request, reply, after: .nanoseconds(took.nanoseconds))
                    self.advance(context: context)
                }
        }
    }

    /// Answers input that did not decode; closes the connection when the stream can no longer be trusted.
    private func refuse(_ error: WireError, format: ClientFormat, requestID: UInt32, context: ChannelHandlerContext) {
        self.logger.debug("refused malformed input", metadata: ["error": "\(error)"])
        if format == .binary && !self.prefaceSent {
            // A bad preface: answer with ours first, so the client learns which version we speak.
            self.prefaceSent = true
            self.write(.preface, context: context)
        }
        self.write(.reply(format, requestID: requestID, .error(error.code, error.description)), context: context)
        if error.isFatal { self.machine.closeAfterInFlight() }
    }

    /// Runs `body` once every reply written so far is on the socket (closing earlier would fail those writes).
    private func afterLastWrite(context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        guard let last = self.lastWrite else { return body() }
        last.assumeIsolated().whenComplete { _ in body() }
    }

    /// The budget the connection needs: for the requests it holds (waiting and in flight), the frame it is
    /// reading (whole, as its length field declares, so a connection holding budget can always finish its frame
    /// and one waiting holds none for it), and `slack` more bytes, beyond ``inputAllowance``.
    private func budgetNeeded(slack: Int) -> Int {
        let front = max(self.inbound.readableBytes, self.decoder.pendingFrameSize(in: self.inbound) ?? 0)
        return max(0, self.machine.heldBytes + front + slack - Self.inputAllowance)
    }

    /// Reads once, if the budget covers what the connection would hold after the read; otherwise waits to be
    /// called back when budget is given back.
    private func readIfBudgetAllows(context: ChannelHandlerContext) {
        guard self.machine.acceptsInput else { return context.read() }
        let needed = self.budgetNeeded(slack: Self.readSize)
        if needed > self.reserved {
            guard !self.waitingForBudget else { return }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let granted = self.budget.reserve(needed - self.reserved, orWaitOn: context.eventLoop) {
                let (handler, context) = loopBound.value
                handler.waitingForBudget = false
                guard !handler.machine.isClosed else { return }
                handler.read(context: context)
            }
            guard granted else {
                self.waitingForBudget = true
                return
            }
            self.reserved = needed
        }
        context.read()
    }

    /// Gives back the budget held beyond what the connection needs now and for its next read.
    private func releaseUnneededBudget() {
        let needed = self.budgetNeeded(slack: Self.readSize)
        guard self.reserved > needed else { return }
        self.budget.release(self.reserved - needed)
        self.reserved = needed
    }

    /// Hands the machine the messages it has room for; tells it when the client's last one is in.
    private func decodeWhileThereIsRoom() {
        // A connection without a session may send only small frames.
        self.decoder.hasSession = self.session.token != nil
        defer { self.compactInbound() }
        while self.machine.hasRoom {
            let before = self.inbound.readerIndex
            guard let message = self.decoder.nextMessage(from: &self.inbound, atEnd: self.streamEnded) else { break }
            self.machine.received(message, size: self.inbound.readerIndex - before)
        }
        if self.streamEnded && self.machine.hasRoom { self.machine.inputClosed() }
    }

    /// Frees the storage of a large frame once it is decoded: what is left moves to a buffer of its own size.
    private func compactInbound() {
        let readable = self.inbound.readableBytes
        guard self.inbound.capacity > 2 * Self.inputAllowance, self.inbound.capacity > 4 * readable else { return }
        self.inbound = readable == 0 ? ByteBuffer() : ByteBuffer(bytes: self.inbound.readableBytesView)
    }

    /// Encodes `message` after the replies not yet written; writes them once there are enough to be worth it.
    private func write(_ message: ClientOutbound, context: ChannelHandlerContext) {
        do {
            try self.encoder.encode(data: message, out: &self.outgoing)
        } catch {
            self.logger.error("could not encode a reply", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        if self.outgoing.readableBytes >= Self.flushThreshold { self.writeOutgoing(context: context) }
    }

    /// Hands the encoded replies to the channel, in a buffer of their own (so the channel's count of pending
    /// bytes is what they hold).
    private func writeOutgoing(context: ChannelHandlerContext) {
        guard self.outgoing.readableBytes > 0 else { return }
        self.lastWrite = context.writeAndFlush(self.wrapOutboundOut(self.outgoing))
        self.outgoing = context.channel.allocator.buffer(capacity: 0)
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
