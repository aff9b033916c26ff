import Cluster
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Wire

/// How long the client waits: for a tracker to accept and answer the preface, and for each reply.
public struct ClientTimeouts: Sendable {
    /// TCP connect plus the tracker's preface. Short, so that failover to the next tracker is quick.
    public var connect: TimeAmount = .seconds(1)
    /// One request's reply; a write waits for the backup too, so this is generous.
    public var request: TimeAmount = .seconds(10)

    /// The defaults: 1 s to connect, 10 s for a reply.
    public init() {}
}

/// Why a connection attempt failed, as the "no tracker reachable" message shows it.
public struct ConnectFailure: Error {
    public let reason: String
    /// Whether the host refused the connection outright (nothing listens on the port).
    public var refused = false
}

/// Numbers a client run's requests: 1, 2, 3... across all its connections, so a write retried on another
/// tracker keeps its number (the tracker applies a write with the same client id and number once).
public final class RequestNumbers: Sendable {
    /// 16 bytes drawn from the system's secure generator once per run; `CLIENT|id` tells each tracker. A secret:
    /// whoever knew it could claim this run's retries.
    public let clientID: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }()
    private let last = NIOLockedValueBox<UInt32>(0)

    /// The next number.
    public func next() -> UInt32 {
        self.last.withLockedValue { last in
            last = last == .max ? 1 : last + 1
            return last
        }
    }
}

/// One binary connection to one tracker. Requests go out one after another, each numbered by ``RequestNumbers``,
/// and each awaits the reply carrying its number.
public struct TrackerConnection: Sendable {
    /// The tracker at the other end.
    public let tracker: TrackerConfig
    private let channel: any Channel
    private let timeouts: ClientTimeouts
    private let numbers: RequestNumbers

    /// `t1 (127.0.0.1:7101)`.
    public var name: String { Self.name(of: self.tracker) }

    /// Connects, exchanges prefaces and returns the open connection.
    public static func connect(
        to tracker: TrackerConfig, group: any EventLoopGroup, maxFrame: Int, timeouts: ClientTimeouts,
        numbers: RequestNumbers
    ) async throws(ConnectFailure) -> TrackerConnection {
        let loop = group.next()
        let answered = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeouts.connect)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(PrefaceExchange(answered: answered))
                    try pipeline.addHandler(ByteToMessageHandler(ReplyFrameDecoder(maxFrame: maxFrame)))
                    try pipeline.addHandler(MessageToByteHandler(RequestFrameEncoder()))
                    try pipeline.addHandler(ReplyRouter())
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: tracker.host, port: tracker.clientPort).get()
        } catch {
            answered.fail(error)
            throw ConnectFailure(reason: Self.describe(error), refused: Self.isRefusal(error))
        }
        let timeout = loop.scheduleTask(in: timeouts.connect) {
            answered.fail(
                ConnectFailure(reason: "accepted the connection but sent no preface within \(timeouts.connect)"))
        }
        do {
            try await answered.futureResult.get()
            timeout.cancel()
        } catch {
            channel.close(promise: nil)
            throw error as? ConnectFailure ?? ConnectFailure(reason: "closed the connection before its preface")
        }
        return TrackerConnection(tracker: tracker, channel: channel, timeouts: timeouts, numbers: numbers)
    }

    /// Sends `request` with the next request number and waits for its reply.
    ///
    /// - Throws: ``ClientError/connectionLost(tracker:detail:)`` when the connection fails or no reply comes within
    ///   the request timeout (the connection is closed then).
    public func send(_ request: Request) async throws(ClientError) -> Reply {
        try await self.send(request, number: self.numbers.next())
    }

    /// Sends `request` numbered `number` (a retry keeps the first attempt's number) and waits for its reply.
    public func send(_ request: Request, number: UInt32) async throws(ClientError) -> Reply {
        let reply = self.channel.eventLoop.makePromise(of: Reply.self)
        let channel = self.channel
        let limit = self.timeouts.request
        let timeout = channel.eventLoop.scheduleTask(in: limit) {
            reply.fail(ConnectFailure(reason: "no reply within \(limit)"))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(PendingRequest(id: number, request: request, reply: reply)).whenFailure { reply.fail($0) }
        do {
            let result = try await reply.futureResult.get()
            timeout.cancel()
            return result
        } catch {
            timeout.cancel()
            throw .connectionLost(tracker: self.name, detail: Self.describe(error))
        }
    }

    /// Closes the connection.
    public func close() async {
        try? await self.channel.close()
    }

    public static func name(of tracker: TrackerConfig) -> String {
        let host = tracker.host.contains(":") ? "[\(tracker.host)]" : tracker.host
        return "\(tracker.id) (\(host):\(tracker.clientPort))"
    }

    /// Whether `error` is a refused connection (`ECONNREFUSED`).
    private static func isRefusal(_ error: any Error) -> Bool {
        switch error {
        case let io as IOError: io.errnoCode == ECONNREFUSED
        case let connection as NIOConnectionError:
            !connection.connectionErrors.isEmpty && connection.connectionErrors.allSatisfy { Self.isRefusal($0.error) }
        default: false
        }
    }

    /// A short reason for a connection error: `connection refused`, `timed out after 2s`.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as ConnectFailure: return failure.reason
        case let wire as WireError: return wire.description
        case let io as IOError: return String(cString: strerror(io.errnoCode))
        case let connection as NIOConnectionError:
            return connection.connectionErrors.first.map { Self.describe($0.error) }
                ?? (connection.dnsAError ?? connection.dnsAAAAError).map { "cannot resolve host: \(Self.describe($0))" }
                ?? "cannot connect"
        case ChannelError.connectTimeout(let amount): return "no answer within \(amount)"
        case ChannelError.eof, ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed:
            return "the connection closed"
        default: return String(describing: error)
        }
    }
}
