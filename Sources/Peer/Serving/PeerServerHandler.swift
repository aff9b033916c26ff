import NIOCore
import Prometheus
import Swarm
import Wire

/// Serves one downloader: carries out what its ``PeerServeStateMachine`` decides. Pieces go from disk into the
/// socket (`sendfile` through NIO's `FileRegion`), never into memory, and only while the channel is writable, so
/// a slow downloader holds back its own pieces and nothing piles up. A downloader that leaves the channel
/// unwritable (it does not read what it asked for) for the peer timeout is cut off, freeing its slot.
///
/// Only this handler writes to its channel: the served file's news (a new piece, another downloader, the file
/// withdrawn) reaches it as a ``ServedFile/Notice`` on its event loop.
final class PeerServerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerInbound
    typealias OutboundOut = IOData

    /// How many requests a downloader may have queued; more is a protocol error.
    static let maxQueued = 256

    private let library: Library
    private let checker: any AccessChecking
    private let metrics: PeerMetrics
    /// The counter of bytes sent to this connection's user, by file id.
    private var sentCounters: [String: Counter] = [:]
    /// How long a new connection has to say hello, and a downloader to read again what it asked for.
    private let peerTimeout: TimeAmount
    private var machine = PeerServeStateMachine<ServedFile>(maxQueued: PeerServerHandler.maxQueued)
    private var greetingDeadline: Scheduled<Void>?
    /// Set while the channel is not writable: when it fires, the downloader has not read for the peer timeout.
    private var stallDeadline: Scheduled<Void>?
    private var recheck: RepeatedTask?
    /// The descriptor each served file is read from on this connection, by file id.
    private var handles: [String: NIOFileHandle] = [:]
    /// The file whose downloaders this connection is listed with (for `have` and peer exchange).
    private var announcedTo: ServedFile?

    init(library: Library, checker: any AccessChecking, metrics: PeerMetrics, peerTimeout: TimeAmount) {
        self.library = library
        self.checker = checker
        self.metrics = metrics
        self.peerTimeout = peerTimeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.greetingDeadline = context.eventLoop.scheduleTask(in: self.peerTimeout) {
            let (handler, context) = loopBound.value
            handler.run(handler.machine.greetingTimedOut(after: handler.peerTimeout), context)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.run(self.machine.received(Self.unwrapInboundIn(data), catalog: self.library), context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stallDeadline?.cancel()
            self.stallDeadline = nil
            self.pump(context)
        } else if self.stallDeadline == nil {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            self.stallDeadline = context.eventLoop.scheduleTask(in: self.peerTimeout) {
                let (handler, context) = loopBound.value
                handler.run(handler.machine.stalled(), context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.greetingDeadline?.cancel()
        self.stallDeadline?.cancel()
        self.recheck?.cancel()
        self.announcedTo?.release(ObjectIdentifier(self))
        self.announcedTo = nil
        for handle in self.handles.values { try? handle.close() }
        self.handles = [:]
        self.machine.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Actions

    private func run(_ action: PeerServeStateMachine<ServedFile>.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .sendPreface:
            self.send(context, ByteBuffer(bytes: PeerPreface.bytes))
        case .checkAccess(let user, let group, let proof):
            let checker = self.checker
            let verdict = context.eventLoop.makePromise(of: AccessVerdict.self)
            verdict.completeWithTask { await checker.check(user: user, group: group, proof: proof) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            verdict.futureResult.whenSuccess { verdict in
                let (handler, context) = loopBound.value
                handler.run(handler.machine.accessChecked(verdict), context)
            }
        case .admit(let file, let hello):
            self.admit(file, hello, context)
        case .sendOK:
            self.sendLine(context, TextAdapter.render(.ok))
        case .sendError(let code, let message):
            self.sendLine(context, TextAdapter.render(.error(code, message)))
        case .pump:
            self.pump(context)
        case .fail(let code, let message):
            var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
            if self.machine.isBinary {
                buffer.writePeerReply(.error(code: code, message: message))
            } else {
                buffer.writeString(TextAdapter.render(.error(code, message)) + "\n")
            }
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(.byteBuffer(buffer))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .close:
            context.close(promise: nil)
        }
    }

    /// Opens the file, lists this connection with its downloaders, welcomes the downloader and starts rechecking
    /// its access.
    private func admit(_ file: ServedFile, _ hello: PeerHello, _ context: ChannelHandlerContext) {
        // The file may have been withdrawn while the tracker was asked: this connection missed that notice.
        guard self.library.file(id: file.fileIDHex, in: file.group) === file else {
            return self.run(self.machine.withdrawn("\(file.name) is no longer shared by this peer"), context)
        }
        do {
            _ = try self.handle(for: file)
        } catch {
            if error.meansFileGone { self.library.reportLost(file, "\(error)") }
            return self.run(self.machine.openFailed(error), context)
        }
        let serving: PeerAddress? =
            hello.listenPort == 0
            ? nil : context.channel.remoteAddress?.ipAddress.map { PeerAddress(host: $0, port: hello.listenPort) }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let others = file.admit(ObjectIdentifier(self), serving: serving) { notice in
            loop.execute {
                let (handler, context) = loopBound.value
                handler.noticed(notice, context)
            }
        }
        self.announcedTo = file
        var frame = context.channel.allocator.buffer(capacity: 64 + file.layout.pieceCount / 8)
        frame.writePeerReply(.welcome(PeerWelcome(bitfield: file.bitfield.bytes, peers: others)))
        self.send(context, frame)
        self.scheduleRecheck(hello, group: file.group, context: context)
    }

    private func noticed(_ notice: ServedFile.Notice, _ context: ChannelHandlerContext) {
        guard !self.machine.isClosed else { return }
        var frame = context.channel.allocator.buffer(capacity: 64)
        switch notice {
        case .have(let piece):
            frame.writePeerReply(.have(piece))
        case .peers(let peers):
            frame.writePeerReply(.peers(peers))
        case .withdrawn(let reason):
            return self.run(self.machine.withdrawn(reason), context)
        }
        self.send(context, frame)
    }

    /// Asks again every ``AccessChecking/ttl``: a downloader that left the group or logged out loses the
    /// connection.
    private func scheduleRecheck(_ hello: PeerHello, group: String, context: ChannelHandlerContext) {
        let checker = self.checker
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let ttl = TimeAmount.nanoseconds(Int64(checker.ttl.components.seconds) * 1_000_000_000)
        let loop = context.eventLoop
        self.recheck = loop.scheduleRepeatedAsyncTask(initialDelay: ttl, delay: ttl) { _ in
            let verdict = loop.makePromise(of: AccessVerdict.self)
            verdict.completeWithTask { await checker.check(user: hello.user, group: group, proof: hello.proof) }
            return verdict.futureResult.map { verdict in
                guard case .refused(let message) = verdict else { return }
                let (handler, context) = loopBound.value
                handler.run(handler.machine.accessRevoked(message), context)
            }
        }
    }

    // MARK: Serving

    /// Writes queued pieces while the channel takes them.
    private func pump(_ context: ChannelHandlerContext) {
        var wrote = false
        while context.channel.isWritable, let next = self.machine.nextPiece() {
            self.serve(next, context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    private func serve(_ piece: PeerServeStateMachine<ServedFile>.Piece, _ context: ChannelHandlerContext) {
        switch piece {
        case .reject(let range, let code, let message, let text):
            var frame = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
            if text {
                frame.writeString(TextAdapter.render(.error(code, message)) + "\n")
            } else {
                frame.writePeerReply(.rejected(range, code: code, message: message))
            }
            context.write(Self.wrapOutboundOut(.byteBuffer(frame)), promise: nil)
        case .send(let range, let file, let text):
            let handle: NIOFileHandle
            do {
                handle = try self.handle(for: file)
            } catch {
                let line = TextAdapter.render(.error(.unavailable, "cannot serve \(file.name): \(error)")) + "\n"
                let buffer = context.channel.allocator.buffer(string: line)
                return context.write(Self.wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            }
            let piece = Int(range.piece)
            var header = context.channel.allocator.buffer(capacity: 32)
            if text {
                header.writeString("OK|\(piece)|\(range.length)\n")
            } else {
                header.writePeerReply(.piece(range))
            }
            let start = Int(file.layout.offset(of: piece)) + Int(range.offset)
            let region = FileRegion(fileHandle: handle, readerIndex: start, endIndex: start + Int(range.length))
            context.write(Self.wrapOutboundOut(.byteBuffer(header)), promise: nil)
            let completes = range.offset + range.length == UInt32(file.layout.length(of: piece))
            let written = context.eventLoop.makePromise(of: Void.self)
            let sent = self.sentCounter(for: file)
            written.futureResult.whenSuccess {
                file.recordServed(bytes: Int(range.length), completesPiece: completes)
                sent.increment(by: Int64(range.length))
            }
            context.write(Self.wrapOutboundOut(.fileRegion(region)), promise: written)
        }
    }

    /// The counter of `file`'s bytes sent to the user admitted on this connection.
    private func sentCounter(for file: ServedFile) -> Counter {
        if let counter = self.sentCounters[file.fileIDHex] { return counter }
        let counter = self.metrics.sent(group: file.group, file: file.name, to: self.machine.admittedUser ?? "unknown")
        self.sentCounters[file.fileIDHex] = counter
        return counter
    }

    /// The descriptor `file` is served from on this connection, opened the first time it is asked for; closed
    /// when the connection closes (pieces may be on their way from it until then).
    private func handle(for file: ServedFile) throws(PeerError) -> NIOFileHandle {
        if let handle = self.handles[file.fileIDHex] { return handle }
        let handle = try file.openForServing()
        self.handles[file.fileIDHex] = handle
        return handle
    }

    // MARK: Output

    private func send(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        context.writeAndFlush(Self.wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
    }

    /// Sends one text line (rendered by ``TextAdapter``, so it holds no newline).
    private func sendLine(_ context: ChannelHandlerContext, _ line: String) {
        self.send(context, context.channel.allocator.buffer(string: line + "\n"))
    }
}

@available(*, unavailable)
extension PeerServerHandler: Sendable {}
