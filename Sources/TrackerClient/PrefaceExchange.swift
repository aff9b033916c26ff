import NIOCore
import Wire

/// Opens a binary connection: writes the client preface as soon as the connection is up, and completes
/// `answered` once the tracker has sent as many bytes as a preface.
///
/// It sits first in the pipeline and passes every byte on: ``Wire/ReplyFrameDecoder`` checks the preface itself.
/// `answered` is how the client tells a tracker that answers from a port that merely accepts connections.
final class PrefaceExchange: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answered: EventLoopPromise<Void>
    private var received = 0

    init(answered: EventLoopPromise<Void>) {
        self.answered = answered
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(bytes: Preface.bytes)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.received < Preface.bytes.count {
            self.received += Self.unwrapInboundIn(data).readableBytes
            if self.received >= Preface.bytes.count { self.answered.succeed() }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.answered.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension PrefaceExchange: Sendable {}
