import NIOCore
import Wire

/// A request on its way out, with its id and the promise its reply completes.
struct PendingRequest: Sendable {
    let id: UInt32
    let request: Request
    let reply: EventLoopPromise<Reply>
}

/// Sends each request with its id and completes its promise with the reply carrying that id.
///
/// A reply with id 0 (the tracker could not read the frame's id) goes to the oldest
/// pending request. When the connection fails or closes, every pending request fails.
final class ReplyRouter: ChannelDuplexHandler {
    typealias InboundIn = ReplyFrame
    typealias OutboundIn = PendingRequest
    typealias OutboundOut = RequestFrame

    private var pending: [UInt32: EventLoopPromise<Reply>] = [:]

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        self.pending[request.id] = request.reply
        context.write(
            Self.wrapOutboundOut(RequestFrame(requestID: request.id, request: request.request)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        let id = frame.requestID == 0 ? self.pending.keys.min() : frame.requestID
        if let id, let promise = self.pending.removeValue(forKey: id) {
            promise.succeed(frame.reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(ChannelError.eof)
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        let pending = self.pending
        self.pending = [:]
        for promise in pending.values { promise.fail(error) }
    }
}

@available(*, unavailable)
extension ReplyRouter: Sendable {}
