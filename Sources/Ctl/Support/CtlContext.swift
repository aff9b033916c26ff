import Cluster
import NIOPosix
import TandemCrypto
import Wire

/// What a command needs to talk to the cluster: the loaded configuration, the session store and a client.
struct CtlContext {
    let config: ClusterConfig
    let sessions: SessionStore
    let client: ClusterClient

    /// Loads the configuration named by `options`.
    ///
    /// - Throws: ``Cluster/ClusterConfigError`` or ``CtlError/usage(_:)`` (exit code 2).
    init(_ options: ClusterOptions) throws {
        self.config = try options.loadConfig()
        self.sessions = SessionStore(home: options.homeDirectory())
        self.client = ClusterClient(
            config: self.config, group: MultiThreadedEventLoopGroup.singleton, verbose: options.verbose)
    }

    /// The tracker cluster.yaml names `id`.
    ///
    /// - Throws: ``CtlError/usage(_:)`` naming the trackers there are.
    func tracker(named id: String) throws(CtlError) -> TrackerConfig {
        guard let tracker = self.config.tracker(id: id) else {
            let known = self.config.trackers.map(\.id).joined(separator: ", ")
            throw .usage("no tracker '\(id)' in cluster.yaml; its trackers are \(known)")
        }
        return tracker
    }

    /// Runs an admin command: asks for a challenge (`request(nil)`), then answers it with HMAC-SHA256 under
    /// `secret` (`request(mac)`) and expects `OK`. The secret itself never crosses the network.
    func answerChallenge(
        on connection: TrackerConnection, secret: [UInt8], _ request: ([UInt8]?) -> Request
    ) async throws {
        let challenge = try await connection.send(request(nil))
        let nonce = try challenge.expect("a challenge") { if case .challenge(let nonce) = $0 { nonce } else { nil } }
        try await connection.send(request(Crypto.hmacSHA256(key: secret, message: nonce))).expectOK()
    }

    /// Runs `body` on a connection to `tracker`, or to the first tracker that answers when it is nil.
    func withConnection<T>(
        to tracker: TrackerConfig? = nil, _ body: (TrackerConnection) async throws -> T
    ) async throws -> T {
        let connection: TrackerConnection
        if let tracker {
            do {
                connection = try await self.client.connect(to: tracker)
            } catch {
                throw CtlError.unreachable(attempts: [error.attempt])
            }
        } else {
            connection = try await self.client.connect()
        }
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// How long a request is retried while no tracker can take it: no tracker answers, the connection is lost
    /// before the reply, or the reply says `try_again` (a failover is under way). Past it, the last error stands.
    static let retryWindow = Duration.seconds(20)

    /// Binds `connection` to the stored session (`RESUME|token`).
    ///
    /// - Throws: ``CtlError/notLoggedIn`` without a stored session or when the cluster no longer knows it.
    func resumeSession(on connection: TrackerConnection) async throws {
        guard let token = try self.sessions.load() else { throw CtlError.notLoggedIn }
        try await Self.resume(token, on: connection)
    }

    /// Binds `connection` to the session `token` names.
    ///
    /// - Throws: ``CtlError/notLoggedIn`` when the cluster does not know it.
    static func resume(_ token: String, on connection: TrackerConnection) async throws {
        let reply = try await connection.send(.resume(token: token))
        if case .error(.notFound, _) = reply { throw CtlError.notLoggedIn }
        _ = try reply.expect("the session's user") { if case .user(let name) = $0 { name } else { nil } }
    }

    /// Sends `request`, on the stored session when `withSession`, and returns the reply.
    ///
    /// Fails over by itself: while no tracker can take the request, it is sent again, to the first tracker that
    /// answers, with a backoff from 20 ms to 200 ms (a failover takes about the failover timeout, and a short
    /// backoff finds the new primary soon after), for up to ``retryWindow``. Every attempt carries the same
    /// request number, so a write that was applied before its reply was lost is not applied twice: the tracker
    /// answers the retry with the first reply.
    func send(_ request: Request, withSession: Bool) async throws -> Reply {
        try await self.send(request) { connection in
            if withSession { try await self.resumeSession(on: connection) }
        }
    }

    /// Sends `request` on the session `token` names, failing over and retrying as ``send(_:withSession:)``.
    func send(_ request: Request, session token: String) async throws -> Reply {
        try await self.send(request) { connection in try await Self.resume(token, on: connection) }
    }

    private func send(
        _ request: Request, preparing prepare: (TrackerConnection) async throws -> Void
    ) async throws -> Reply {
        let number = self.client.numbers.next()
        let deadline = ContinuousClock.now + Self.retryWindow
        var backoff = Duration.milliseconds(20)
        while true {
            let failure: CtlError
            do {
                let reply = try await self.withConnection { connection in
                    // Reach the cluster first: an unreachable cluster (exit 3) matters more than a missing session.
                    try await prepare(connection)
                    return try await connection.send(request, number: number)
                }
                guard case .error(.tryAgain, let message) = reply else { return reply }
                failure = .refused(message)
            } catch let error as CtlError where error.exitCode == 3 {
                failure = error
            }
            guard ContinuousClock.now + backoff < deadline else { throw failure }
            if self.client.verbose { Console.error("tandemctl: retrying after: \(failure)") }
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .milliseconds(200))
        }
    }

    /// Sends one request on the stored session and returns the reply, errors already turned into ``CtlError``.
    func sendWithSession(_ request: Request) async throws -> Reply {
        let reply = try await self.send(request, withSession: true)
        try reply.throwIfError()
        return reply
    }
}
