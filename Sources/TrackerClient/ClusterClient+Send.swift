import Cluster
import Wire

extension ClusterClient {
    /// How long a request is retried while no tracker can take it: no tracker answers, the connection is lost
    /// before the reply, or the reply says `try_again` (a failover is under way). Past it, the last error stands.
    public static let retryWindow = Duration.seconds(20)
    /// How long every tracker may refuse connections outright (none runs) before a request gives up.
    public static let refusedWindow = Duration.seconds(1)

    /// Runs `body` on a connection to `tracker`, or to the first tracker that answers when it is nil.
    public func withConnection<T>(
        to tracker: TrackerConfig? = nil, _ body: (TrackerConnection) async throws -> T
    ) async throws -> T {
        let connection: TrackerConnection
        if let tracker {
            do {
                connection = try await self.connect(to: tracker)
            } catch {
                throw ClientError.unreachable(attempts: [error.attempt])
            }
        } else {
            connection = try await self.connect()
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

    /// Binds `connection` to the session `token` names (`RESUME|token`).
    ///
    /// - Throws: ``ClientError/notLoggedIn`` when the cluster does not know it.
    public static func resume(_ token: String, on connection: TrackerConnection) async throws {
        let reply = try await connection.send(.resume(token: token))
        if case .error(.notFound, _) = reply { throw ClientError.notLoggedIn }
        _ = try reply.expectUser()
    }

    /// Sends `request`, after `prepare` ran on the connection, and returns the reply.
    ///
    /// Fails over by itself: while no tracker can take the request, it is sent again, to the first tracker that
    /// answers, with a backoff from 20 ms to 200 ms (a failover takes about the failover timeout, and a short
    /// backoff finds the new primary soon after), for up to ``retryWindow``; but when every tracker refuses the
    /// connection for ``refusedWindow`` (none is running), it gives up then. Every attempt carries the same
    /// request number, so a write that was applied before its reply was lost is not applied twice: the tracker
    /// answers the retry with the first reply.
    public func send(
        _ request: Request, preparing prepare: (TrackerConnection) async throws -> Void
    ) async throws -> Reply {
        let number = self.numbers.next()
        let deadline = ContinuousClock.now + Self.retryWindow
        var backoff = Duration.milliseconds(20)
        var refusedSince: ContinuousClock.Instant?
        var toldRetrying = false
        while true {
            let failure: ClientError
            do {
                let reply = try await self.withConnection { connection in
                    // Reach the cluster first: an unreachable cluster (exit 3) matters more than a missing session.
                    try await prepare(connection)
                    return try await connection.send(request, number: number)
                }
                guard case .error(.tryAgain, let message) = reply else { return reply }
                failure = .refused(message)
            } catch let error as ClientError where error.exitCode == 3 {
                failure = error
            }
            refusedSince = failure.everyTrackerRefused ? refusedSince ?? .now : nil
            if let refusedSince, ContinuousClock.now - refusedSince >= Self.refusedWindow { throw failure }
            guard ContinuousClock.now + backoff < deadline else { throw failure }
            if self.verbose {
                Console.error("\(self.programName): retrying after: \(failure)")
            } else if !toldRetrying, Console.isTerminal {
                // Someone watches: the wait for a failover is said once, not left silent.
                Console.error(
                    "\(self.programName): \(failure); retrying (up to \(Self.retryWindow.components.seconds) s)")
                toldRetrying = true
            }
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .milliseconds(200))
        }
    }

    /// Sends `request` on the session `token` names, failing over and retrying as ``send(_:preparing:)``.
    public func send(_ request: Request, session token: String) async throws -> Reply {
        try await self.send(request) { connection in try await Self.resume(token, on: connection) }
    }
}
