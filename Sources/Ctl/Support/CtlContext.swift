import Cluster
import NIOPosix
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

    /// Runs `body` on a connection bound to the stored session (`RESUME|token` first).
    ///
    /// - Throws: ``CtlError/notLoggedIn`` without a stored session or when the cluster no longer knows it.
    func withSession<T>(_ body: (TrackerConnection) async throws -> T) async throws -> T {
        // Reach the cluster first: an unreachable cluster (exit 3) matters more than a missing session (exit 1).
        try await self.withConnection { connection in
            guard let token = try self.sessions.load() else { throw CtlError.notLoggedIn }
            let reply = try await connection.send(.resume(token: token))
            if case .error(.notFound, _) = reply { throw CtlError.notLoggedIn }
            _ = try reply.expect("the session's user") { if case .user(let name) = $0 { name } else { nil } }
            return try await body(connection)
        }
    }

    /// Sends one request on the stored session and returns the reply, errors already turned into ``CtlError``.
    func sendWithSession(_ request: Request) async throws -> Reply {
        try await self.withSession { connection in
            let reply = try await connection.send(request)
            try reply.throwIfError()
            return reply
        }
    }
}
