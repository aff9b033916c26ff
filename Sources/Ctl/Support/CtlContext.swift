import Cluster
import NIOPosix
import TandemCrypto
import TrackerClient
import Wire

/// What a command needs to talk to the cluster: the loaded configuration, the session store and a client.
struct CtlContext {
    let config: ClusterConfig
    let sessions: SessionStore
    let client: ClusterClient

    /// Loads the configuration named by `options`.
    ///
    /// - Throws: ``Cluster/ClusterConfigError`` or ``ClientError/usage(_:)`` (exit code 2).
    init(_ options: ClusterOptions) throws {
        self.config = try options.loadConfig()
        self.sessions = SessionStore(home: options.homeDirectory())
        self.client = ClusterClient(
            config: self.config, group: MultiThreadedEventLoopGroup.singleton, verbose: options.verbose)
    }

    /// The tracker cluster.yaml names `id`.
    ///
    /// - Throws: ``ClientError/usage(_:)`` naming the trackers there are.
    func tracker(named id: String) throws(ClientError) -> TrackerConfig {
        guard let tracker = self.config.tracker(id: id) else {
            let known = self.config.trackers.map(\.id).joined(separator: ", ")
            throw .usage("no tracker '\(id)' in cluster.yaml; its trackers are \(known)")
        }
        return tracker
    }

    /// Runs the admin command `command` (`QUIT`, `PROMOTE`): asks for a challenge (`request(nil)`), then answers it
    /// with ``TandemCrypto/AdminProof`` under `secret` (`request(mac)`) and expects `OK`. The secret itself never
    /// crosses the network.
    func answerChallenge(
        _ command: String, on connection: TrackerConnection, secret: [UInt8], _ request: ([UInt8]?) -> Request
    ) async throws {
        try await self.proving(command, on: connection, secret: secret, request).expectOK()
    }

    /// Sends the admin command `command` with its proof, as ``answerChallenge(_:on:secret:_:)``, and returns the
    /// reply.
    func proving(
        _ command: String, on connection: TrackerConnection, secret: [UInt8], _ request: ([UInt8]?) -> Request
    ) async throws -> Reply {
        let challenge = try await connection.send(request(nil))
        let nonce = try challenge.expectChallenge()
        let proof = AdminProof.make(secret: secret, command: command, nonce: nonce)
        return try await connection.send(request(proof))
    }

    /// Runs `body` on a connection to `tracker`, or to the first tracker that answers when it is nil.
    func withConnection<T>(
        to tracker: TrackerConfig? = nil, _ body: (TrackerConnection) async throws -> T
    ) async throws -> T {
        try await self.client.withConnection(to: tracker, body)
    }

    /// Binds `connection` to the stored session (`RESUME|token`).
    ///
    /// - Throws: ``ClientError/notLoggedIn`` without a stored session or when the cluster no longer knows it.
    func resumeSession(on connection: TrackerConnection) async throws {
        guard let token = try self.sessions.load() else { throw ClientError.notLoggedIn }
        try await ClusterClient.resume(token, on: connection)
    }

    /// Sends `request`, on the stored session when `withSession`, failing over and retrying as
    /// ``TrackerClient/ClusterClient/send(_:preparing:)``.
    func send(_ request: Request, withSession: Bool) async throws -> Reply {
        try await self.client.send(request) { connection in
            if withSession { try await self.resumeSession(on: connection) }
        }
    }

    /// Sends `request` on the session `token` names, failing over and retrying.
    func send(_ request: Request, session token: String) async throws -> Reply {
        try await self.client.send(request, session: token)
    }

    /// Sends one request on the stored session and returns the reply, errors already turned into ``ClientError``.
    func sendWithSession(_ request: Request) async throws -> Reply {
        let reply = try await self.send(request, withSession: true)
        try reply.throwIfError()
        return reply
    }
}
