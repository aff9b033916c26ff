import NIOCore
import NIOEmbedded
import Wire

/// Drives a ``ClientRequestDecoder`` by hand, the way `ByteToMessageHandler` does, but with the buffer in view:
/// tests can see how many bytes the decoder leaves buffered.
///
/// The decoder fires its messages through a context taken from a handler in an `EmbeddedChannel`; they reach the
/// channel's inbound queue.
final class ClientDecoderDriver {
    private final class Anchor: ChannelInboundHandler {
        typealias InboundIn = ClientInbound
    }

    private let channel = EmbeddedChannel()
    private let context: ChannelHandlerContext
    private(set) var decoder: ClientRequestDecoder
    private var buffer = ByteBuffer()

    /// The bytes the decoder has left buffered.
    var buffered: Int { self.buffer.readableBytes }

    init(_ decoder: ClientRequestDecoder) throws {
        self.decoder = decoder
        try self.channel.pipeline.syncOperations.addHandler(Anchor())
        self.context = try self.channel.pipeline.syncOperations.context(handlerType: Anchor.self)
    }

    /// Appends `bytes` and decodes until the decoder needs more; returns what it emitted.
    func feed(_ bytes: some Sequence<UInt8>) throws -> [ClientInbound] {
        self.buffer.writeBytes(bytes)
        while try self.decoder.decode(context: self.context, buffer: &self.buffer) == .continue {}
        return try self.emitted()
    }

    /// Signals the end of the stream; returns what the decoder emitted for the bytes left.
    func finish() throws -> [ClientInbound] {
        while try self.decoder.decodeLast(context: self.context, buffer: &self.buffer, seenEOF: true) == .continue {}
        return try self.emitted()
    }

    private func emitted() throws -> [ClientInbound] {
        var messages: [ClientInbound] = []
        while let message = try self.channel.readInbound(as: ClientInbound.self) {
            messages.append(message)
        }
        return messages
    }

    /// A decoder that has already read a valid preface: for the verifier, which replays its inputs many times.
    static func binaryDecoder(maxFrame: Int, maxLine: Int) throws -> ClientRequestDecoder {
        let driver = try ClientDecoderDriver(ClientRequestDecoder(maxFrame: maxFrame, maxLine: maxLine))
        guard try driver.feed(Preface.bytes) == [.preface] else { throw PrimingFailed() }
        return driver.decoder
    }

    /// The decoder did not accept the preface.
    struct PrimingFailed: Error {}
}
