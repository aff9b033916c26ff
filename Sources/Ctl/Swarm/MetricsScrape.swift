import NIOCore
import NIOPosix
import TrackerClient

/// One sample of a Prometheus text page: a metric's name, its labels and its value.
struct MetricSample: Equatable, Sendable {
    let name: String
    let labels: [String: String]
    let value: Double

    /// The samples of a page in the Prometheus text format; comments and lines that do not parse are skipped.
    static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{") else {
                return MetricSample(name: String(series), labels: [:], value: value)
            }
            guard series.last == "}" else { return nil }
            guard let labels = Self.labels(series[series.index(after: open)..<series.index(before: series.endIndex)])
            else { return nil }
            return MetricSample(name: String(series[..<open]), labels: labels, value: value)
        }
    }

    /// `a="x",b="y \"quoted\""`, with the escapes Prometheus writes (`\\`, `\"`, `\n`).
    private static func labels(_ text: Substring) -> [String: String]? {
        var labels: [String: String] = [:]
        var rest = text[...]
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].first == "\"" else {
                return nil
            }
            let name = String(rest[..<equals])
            var value = ""
            var index = rest.index(equals, offsetBy: 2)
            var closed = false
            while index < rest.endIndex {
                let character = rest[index]
                index = rest.index(after: index)
                if character == "\"" {
                    closed = true
                    break
                }
                if character == "\\", index < rest.endIndex {
                    value.append(rest[index] == "n" ? "\n" : rest[index])
                    index = rest.index(after: index)
                } else {
                    value.append(character)
                }
            }
            guard closed else { return nil }
            labels[name] = value
            rest = rest[index...]
            if rest.first == "," { rest = rest.dropFirst() }
        }
        return labels
    }
}

/// Fetches a peer daemon's `/metrics` with one HTTP/1.1 GET (`Connection: close`).
enum MetricsScrape {
    /// The most a page may hold.
    static let maxBytes = 16 << 20

    /// The page of `http://host:port/metrics`, parsed.
    ///
    /// - Throws: ``TrackerClient/ClientError`` saying why there is none (no answer, not 200, too large).
    static func samples(host: String, port: Int, timeout: TimeAmount) async throws -> [MetricSample] {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: ByteBuffer.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group).connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw ClientError.failed("no metrics at \(host):\(port): \(error)")
        }
        let request = "GET /metrics HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            channel.pipeline.fireUserInboundEventTriggered(ResponseCollector.TimedOut())
        }
        defer { deadline.cancel() }
        let response = String(buffer: try await promise.futureResult.get())
        guard response.hasPrefix("HTTP/1.1 200"), let body = response.range(of: "\r\n\r\n") else {
            let status = response.prefix { $0 != "\r" }
            throw ClientError.failed("\(host):\(port)/metrics answered \(status.isEmpty ? "nothing" : status)")
        }
        return MetricSample.parse(String(response[body.upperBound...]))
    }
}

/// Gathers the whole response until the server closes; refuses more than ``MetricsScrape/maxBytes``, and a
/// server that has not closed by the deadline.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// The deadline passed.
    struct TimedOut {}

    private let promise: EventLoopPromise<ByteBuffer>
    private var response = ByteBuffer()
    private var settled = false

    init(promise: EventLoopPromise<ByteBuffer>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        guard self.response.readableBytes + bytes.readableBytes <= MetricsScrape.maxBytes else {
            return self.fail(ClientError.failed("the metrics page is over \(MetricsScrape.maxBytes) bytes"), context)
        }
        self.response.writeBuffer(&bytes)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is TimedOut else { return context.fireUserInboundEventTriggered(event) }
        self.fail(ClientError.failed("the metrics page did not come in time"), context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !self.settled else { return }
        self.settled = true
        self.promise.succeed(self.response)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error, context)
    }

    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        if !self.settled {
            self.settled = true
            self.promise.fail(error)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ResponseCollector: Sendable {}
