import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Replica
import ReplicaCore
import ServerSupport
import ServiceLifecycle
import Tracker

/// Serves `GET /metrics` in the Prometheus text format: a tracker's on its metrics port (`metrics.port` of
/// cluster.yaml plus the tracker's index), a peer daemon's on its `--metrics-port`. Anything else is answered 404
/// or 405; each connection serves one request at a time, and the request line and headers are bounded by NIO's
/// HTTP parser. At most ``maxConnections`` are open (``maxConnectionsPerAddress`` from one address), and one
/// silent for ``idleTimeout`` is closed, so a flood of idle connections here cannot use up the process's
/// descriptors.
struct MetricsServer: Service, CustomStringConvertible {
    /// Scrapers connect from a few addresses and hold a connection or two each.
    static let maxConnections = 32
    static let maxConnectionsPerAddress = 8
    /// A scraper that keeps its connection between scrapes reconnects after this; a stalled one is gone.
    static let idleTimeout = TimeAmount.seconds(5)

    let host: String
    let port: Int
    /// The metrics text, made when scraped.
    let render: @Sendable () -> String
    let group: any EventLoopGroup
    let logger: Logger

    var description: String { "MetricsServer(\(self.host):\(self.port))" }

    func run() async throws {
        let (render, logger) = (self.render, self.logger)
        let gate = ConnectionGate(limit: Self.maxConnections, perAddress: Self.maxConnectionsPerAddress)
        let refusals = LogThrottle()
        let listener = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard gate.admit(channel) == .admitted else {
                    if let suppressed = refusals.permit() {
                        logger.warning(
                            "too many metrics connections; closing new ones",
                            metadata: [
                                "limit": "\(Self.maxConnections)", "log.suppressed": "\(suppressed)",
                                "conn.peer": "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")",
                            ])
                    }
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        MetricsHandler(render: render))
                }
            }
            .bind(host: self.host, port: self.port).get()
        self.logger.info(
            "serving metrics", metadata: ["metrics.address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])
        try await withGracefulShutdownHandler {
            try await listener.closeFuture.get()
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
    }
}

/// Answers each HTTP request: the metrics text for `GET /metrics`, an error status for anything else.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: () -> String
    private var request: HTTPRequestHead?

    init(render: @escaping () -> String) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.request = head
        case .body:
            break
        case .end:
            guard let head = self.request else { return }
            self.request = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            switch (head.method, path) {
            case (.GET, "/metrics"):
                self.respond(.ok, self.render(), to: head, context: context)
            case (_, "/metrics"):
                self.respond(.methodNotAllowed, "only GET\n", to: head, context: context)
            default:
                self.respond(.notFound, "metrics are at /metrics\n", to: head, context: context)
            }
        }
    }

    private func respond(
        _ status: HTTPResponseStatus, _ text: String, to request: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension MetricsHandler: Sendable {}
