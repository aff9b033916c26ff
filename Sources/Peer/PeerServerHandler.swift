import NIOCore
import Swarm
import TandemCrypto
import Wire

/// Serves one downloader: the handshake and access check, then its piece requests in order, each read from disk
/// into the socket (`sendfile` through NIO's `FileRegion`), never into memory.
///
/// Requests wait in a queue of at most ``maxQueued``; pieces are written only while the channel is writable,
/// so a slow downloader holds back its own pieces and nothing piles up in memory. A downloader that leaves the
/// channel unwritable (it does not read what it asked for) for the peer timeout is cut off, freeing its slot. Any protocol error ends the
/// connection with an error frame; a text client gets an `ERR` line and may go on.
final class PeerServerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerInbound
    typealias OutboundOut = IOData

    /// How many requests a downloader may have queued; more is a protocol error.
    static let maxQueued = 256

    private enum State {
        /// Waiting for the hello (binary) or `HELLO` (text).
        case greeting
        /// The tracker is being asked.
        case checking
        /// Binary: admitted for one file.
        case serving(Admission)
        /// Text: admitted for a group's files.
        case textServing(group: String)
        case closed
    }

    private struct Admission {
        let file: ServedFile
        let handle: NIOFileHandle
    }

    private struct Queued {
        let range: PieceRange
        let file: ServedFile
        let handle: NIOFileHandle
        let text: Bool
    }

    private let library: Library
    private let checker: AccessChecker
    /// How long a new connection has to say hello, and a downloader to read again what it asked for.
    private let peerTimeout: TimeAmount
    private var greetingDeadline: Scheduled<Void>?
    /// Set while the channel is not writable: when it fires, the downloader has not read for the peer timeout.
    private var stallDeadline: Scheduled<Void>?
    private var state = State.greeting
    private var binary = false
    private var queue = CircularBuffer<Queued>()
    private var textHandles: [String: NIOFileHandle] = [:]
    /// Every file this connection opened; closed when it closes (pieces may be on their way from them until then).
    private var openHandles: [NIOFileHandle] = []
    /// The file whose downloaders this connection is listed with (for `have` and peer exchange).
    private var announcedTo: ServedFile?
    private var recheck: RepeatedTask?

    init(library: Library, checker: AccessChecker, peerTimeout: TimeAmount) {
        self.library = library
        self.checker = checker
        self.peerTimeout = peerTimeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.greetingDeadline = context.eventLoop.scheduleTask(in: self.peerTimeout) {
            let (handler, context) = loopBound.value
            guard case .greeting = handler.state else { return }
            handler.fail(context, code: .badRequest, "no hello within \(handler.peerTimeout); closing")
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .preface:
            self.binary = true
            self.send(context, ByteBuffer(bytes: PeerPreface.bytes))
        case .request(let request):
            self.handle(request, context: context)
        case .text(let command):
            self.handle(command, context: context)
        case .invalid(let error, let binary):
            if binary {
                self.fail(context, code: error.code, error.description)
            } else {
                self.sendError(context, error.code, error.description)
                if error.isFatal { self.close(context) }
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stallDeadline?.cancel()
            self.stallDeadline = nil
            self.pump(context)
        } else if self.stallDeadline == nil {
            // Nothing more can be written until the downloader reads; one that never does is closed.
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            self.stallDeadline = context.eventLoop.scheduleTask(in: self.peerTimeout) {
                loopBound.value.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.greetingDeadline?.cancel()
        self.stallDeadline?.cancel()
        self.recheck?.cancel()
        self.announcedTo?.release(context.channel)
        self.announcedTo = nil
        for handle in self.openHandles { try? handle.close() }
        self.openHandles = []
        self.textHandles = [:]
        self.queue.removeAll()
        self.state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Binary

    private func handle(_ request: PeerRequest, context: ChannelHandlerContext) {
        switch (request, self.state) {
        case (.hello(let hello), .greeting):
            self.greet(hello, context: context)
        case (.hello, _):
            self.fail(context, code: .badRequest, "hello sent twice")
        case (.request(let range), .serving(let admission)):
            self.enqueue(Queued(range: range, file: admission.file, handle: admission.handle, text: false), context)
        case (.cancel(let range), .serving):
            if let index = self.queue.firstIndex(where: { $0.range == range }) { self.queue.remove(at: index) }
        case (.request, .checking), (.cancel, .checking):
            // Pipelined right behind the hello: wait with them until the tracker answered.
            self.fail(context, code: .badRequest, "request sent before the welcome; wait for it")
        case (.request, _), (.cancel, _):
            self.fail(context, code: .badRequest, "request before the hello; start with a hello naming the file")
        }
    }

    private func greet(_ hello: PeerHello, context: ChannelHandlerContext) {
        let fileIDHex = Hex.encode(hello.fileID)
        guard let file = self.library.file(id: fileIDHex), file.group == hello.group else {
            return self.fail(
                context, code: .notFound,
                "this peer does not serve file \(fileIDHex.prefix(40)) in \(hello.group.prefix(64))")
        }
        self.state = .checking
        let checker = self.checker
        let verdict = context.eventLoop.makePromise(of: AccessVerdict.self)
        verdict.completeWithTask { await checker.check(user: hello.user, group: file.group, proof: hello.proof) }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        verdict.futureResult.whenSuccess { verdict in
            let (handler, context) = loopBound.value
            handler.admit(hello, file: file, verdict: verdict, context: context)
        }
    }

    private func admit(_ hello: PeerHello, file: ServedFile, verdict: AccessVerdict, context: ChannelHandlerContext) {
        guard case .checking = self.state else { return }
        switch verdict {
        case .refused(let message):
            return self.fail(context, code: .forbidden, "\(hello.user) may not download from \(file.group): \(message)")
        case .unavailable(let message):
            return self.fail(context, code: .unavailable, "\(message); try again shortly")
        case .admitted:
            break
        }
        let handle: NIOFileHandle
        do {
            handle = try file.openForServing()
            self.openHandles.append(handle)
        } catch {
            return self.fail(context, code: .unavailable, "cannot serve \(file.name): \(error)")
        }
        self.state = .serving(Admission(file: file, handle: handle))
        let serving: PeerAddress? =
            hello.listenPort == 0
            ? nil : context.channel.remoteAddress?.ipAddress.map { PeerAddress(host: $0, port: hello.listenPort) }
        let others = file.admit(context.channel, serving: serving)
        self.announcedTo = file
        var frame = context.channel.allocator.buffer(capacity: 64 + file.layout.pieceCount / 8)
        frame.writePeerReply(.welcome(PeerWelcome(bitfield: file.bitfield.bytes, peers: others)))
        self.send(context, frame)
        self.scheduleRecheck(hello, group: file.group, context: context)
    }

    /// Asks again every ``AccessChecker/ttl``: a downloader that left the group or logged out loses the connection.
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
                handler.fail(
                    context, code: .forbidden, "\(hello.user) may no longer download from \(group): \(message)")
            }
        }
    }

    // MARK: Text

    private func handle(_ command: PeerTextCommand, context: ChannelHandlerContext) {
        switch (command, self.state) {
        case (.hello(let user, let group, let proof), .greeting):
            self.state = .checking
            let checker = self.checker
            let verdict = context.eventLoop.makePromise(of: AccessVerdict.self)
            verdict.completeWithTask { await checker.check(user: user, group: group, proof: proof) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            verdict.futureResult.whenSuccess { verdict in
                let (handler, context) = loopBound.value
                guard case .checking = handler.state else { return }
                switch verdict {
                case .admitted:
                    handler.state = .textServing(group: group)
                    handler.sendLine(context, TextAdapter.render(.ok))
                case .refused(let message):
                    handler.state = .greeting
                    handler.sendError(context, .forbidden, message)
                case .unavailable(let message):
                    handler.state = .greeting
                    handler.sendError(context, .unavailable, "\(message); try again shortly")
                }
            }
        case (.hello, _):
            self.sendError(context, .badRequest, "HELLO was already sent")
        case (.getPiece(let name, let index), .textServing(let group)):
            guard let file = self.library.file(named: name, in: group) else {
                return self.sendError(context, .notFound, "this peer does not serve \(name.prefix(64)) in \(group)")
            }
            let handle: NIOFileHandle
            do {
                handle = try self.textHandle(for: file)
            } catch {
                return self.sendError(context, .unavailable, "cannot serve \(file.name): \(error)")
            }
            let length = Int(index) < file.layout.pieceCount ? file.layout.length(of: Int(index)) : 0
            let range = PieceRange(piece: index, offset: 0, length: UInt32(length))
            self.enqueue(Queued(range: range, file: file, handle: handle, text: true), context)
        case (.getPiece, _):
            self.sendError(
                context, .notLoggedIn,
                "send a HELLO line with your user, the group and its proof first (tandemctl proof GROUP prints it)")
        }
    }

    private func textHandle(for file: ServedFile) throws(PeerError) -> NIOFileHandle {
        if let handle = self.textHandles[file.fileIDHex] { return handle }
        let handle = try file.openForServing()
        self.textHandles[file.fileIDHex] = handle
        self.openHandles.append(handle)
        return handle
    }

    // MARK: Serving

    private func enqueue(_ request: Queued, _ context: ChannelHandlerContext) {
        guard self.queue.count < Self.maxQueued else {
            return self.fail(
                context, code: .tooLarge,
                "more than \(Self.maxQueued) requests queued; wait for pieces before asking for more")
        }
        self.queue.append(request)
        self.pump(context)
    }

    /// Writes queued pieces while the channel takes them.
    private func pump(_ context: ChannelHandlerContext) {
        var wrote = false
        while context.channel.isWritable, let next = self.queue.popFirst() {
            self.serve(next, context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    private func serve(_ request: Queued, _ context: ChannelHandlerContext) {
        let file = request.file
        let range = request.range
        let piece = Int(range.piece)
        let problem: (ErrorCode, String)? =
            if !file.has(piece) {
                piece < file.layout.pieceCount
                    ? (.notFound, "piece \(piece) is not here yet")
                    : (.invalid, "piece \(piece) is out of range: the file has \(file.layout.pieceCount) pieces")
            } else if range.length == 0
                || UInt64(range.offset) + UInt64(range.length) > UInt64(file.layout.length(of: piece))
            {
                (
                    .invalid,
                    "bytes \(range.offset)+\(range.length) are outside piece \(piece) of \(file.layout.length(of: piece)) bytes"
                )
            } else {
                nil
            }
        if let (code, message) = problem {
            if request.text {
                self.sendError(context, code, message, flush: false)
            } else {
                var frame = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
                frame.writePeerReply(.rejected(range, code: code, message: message))
                context.write(Self.wrapOutboundOut(.byteBuffer(frame)), promise: nil)
            }
            return
        }
        var header = context.channel.allocator.buffer(capacity: 32)
        if request.text {
            header.writeString("OK|\(piece)|\(range.length)\n")
        } else {
            header.writePeerReply(.piece(range))
        }
        let start = Int(file.layout.offset(of: piece)) + Int(range.offset)
        let region = FileRegion(fileHandle: request.handle, readerIndex: start, endIndex: start + Int(range.length))
        context.write(Self.wrapOutboundOut(.byteBuffer(header)), promise: nil)
        let completes = range.offset + range.length == UInt32(file.layout.length(of: piece))
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenSuccess { file.recordServed(bytes: Int(range.length), completesPiece: completes) }
        context.write(Self.wrapOutboundOut(.fileRegion(region)), promise: written)
    }

    // MARK: Output

    private func send(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) {
        context.writeAndFlush(Self.wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
    }

    private func sendLine(_ context: ChannelHandlerContext, _ line: String, flush: Bool = true) {
        let buffer = context.channel.allocator.buffer(string: line.replacingOccurrences(of: "\n", with: " ") + "\n")
        if flush {
            self.send(context, buffer)
        } else {
            context.write(Self.wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        }
    }

    /// Sends `ERR|code|message`, rendered as the tracker renders its refusals.
    private func sendError(_ context: ChannelHandlerContext, _ code: ErrorCode, _ message: String, flush: Bool = true) {
        self.sendLine(context, TextAdapter.render(.error(code, message)), flush: flush)
    }

    /// Sends an error frame (or line) and closes.
    private func fail(_ context: ChannelHandlerContext, code: ErrorCode, _ message: String) {
        guard !self.isClosed else { return }
        self.queue.removeAll()
        var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
        if self.binary {
            buffer.writePeerReply(.error(code: code, message: message))
        } else {
            buffer.writeString(TextAdapter.render(.error(code, message)) + "\n")
        }
        self.state = .closed
        let channel = context.channel
        context.writeAndFlush(Self.wrapOutboundOut(.byteBuffer(buffer))).whenComplete { _ in channel.close(promise: nil)
        }
    }

    private func close(_ context: ChannelHandlerContext) {
        self.state = .closed
        context.close(promise: nil)
    }

    private var isClosed: Bool {
        if case .closed = self.state { true } else { false }
    }
}

@available(*, unavailable)
extension PeerServerHandler: Sendable {}
