import NIOCore
import Wire

/// One closed-loop client: set-up requests, then one measured request at a time until the deadline.
final class BenchConnection: ChannelInboundHandler {
    typealias InboundIn = ReplyFrame
    typealias OutboundOut = ByteBuffer

    private let run: BenchRun
    private let index: Int
    private var setup: [Request]
    private var context: ChannelHandlerContext?
    private var deadline: NIODeadline?
    private var sentAt = NIODeadline.now()
    private var sequence = 0

    init(run: BenchRun, index: Int) {
        self.run = run
        self.index = index
        let user = "\(run.tag)u\(index)"
        self.setup = [.createUser(user: user, password: "bench"), .login(user: user, password: "bench")]
        if index == 0 && run.op == .read { self.setup.append(.createGroup(group: "\(run.tag)g")) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        if self.run.format == .binary {
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: Preface.bytes)), promise: nil)
        }
        self.sendNextSetup()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.received(reply: Self.summary(of: self.unwrapInboundIn(data).reply))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.deadline == nil || !self.setup.isEmpty { self.run.fail("connection \(self.index) closed early") }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.run.fail("connection \(self.index): \(error)")
        context.close(promise: nil)
    }

    /// Starts the measured loop.
    func startMeasuring(until deadline: NIODeadline) {
        self.deadline = deadline
        self.sendMeasured()
    }

    /// Ends the measured loop early: the request in flight is the last.
    func stopMeasuring() {
        if self.deadline != nil { self.deadline = .now() }
    }

    /// nil for a success, else the error as text.
    private static func summary(of reply: Reply) -> String? {
        if case .error(let code, let message) = reply { "\(code.rawValue): \(message)" } else { nil }
    }

    private func received(reply error: String?) {
        if self.deadline == nil {
            let step = self.setup.removeFirst()
            // A user left by an earlier run against the same tracker is fine.
            if let error, !(error.hasPrefix("exists") && { if case .createUser = step { true } else { false } }()) {
                self.run.fail("set-up of connection \(self.index) failed: \(error)")
                return
            }
            if self.setup.isEmpty { self.run.connectionReady() } else { self.sendNextSetup() }
            return
        }
        self.run.record(latency: .now() - self.sentAt, error: error)
        self.sendMeasured()
    }

    private func sendNextSetup() {
        guard let request = self.setup.first else { return }
        self.send(request)
    }

    private func sendMeasured() {
        guard let deadline = self.deadline, NIODeadline.now() < deadline else {
            self.run.connectionFinished()
            self.context?.close(promise: nil)
            return
        }
        self.sequence += 1
        switch self.run.op {
        case .read: self.send(.listGroups)
        case .write: self.send(.createGroup(group: "\(self.run.tag)-\(self.index)-\(self.sequence)"))
        }
    }

    private func send(_ request: Request) {
        guard let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        switch self.run.format {
        case .binary:
            let requestID = UInt32(truncatingIfNeeded: self.sequence)
            buffer.writeRequestFrame(RequestFrame(requestID: requestID, request: request))
        case .text: buffer.writeString(TextAdapter.render(request) + "\n")
        }
        self.sentAt = .now()
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }
}

@available(*, unavailable)
extension BenchConnection: Sendable {}
