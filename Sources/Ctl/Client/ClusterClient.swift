import Cluster
import NIOCore

/// Reaches the cluster: tries the trackers of `cluster.yaml` in their order and uses the first that answers.
///
/// "Answers" means it accepts the connection and sends its preface within the connect timeout. Every connection
/// then says `CLIENT|id`, so the writes of this run are numbered and a retry of one is applied once.
struct ClusterClient: Sendable {
    let config: ClusterConfig
    let group: any EventLoopGroup
    var timeouts = ClientTimeouts()
    /// This run's client id and request numbers.
    let numbers = RequestNumbers()
    /// Print on standard error which trackers were tried and which answered.
    var verbose = false

    /// A connection to the first tracker that answers.
    ///
    /// - Throws: ``CtlError/unreachable(attempts:)`` naming every tracker tried and why it failed.
    func connect() async throws(CtlError) -> TrackerConnection {
        var attempts: [String] = []
        for tracker in self.config.trackers {
            do {
                return try await self.connect(to: tracker)
            } catch {
                attempts.append(error.attempt)
            }
        }
        throw .unreachable(attempts: attempts)
    }

    /// A connection to one named tracker, for commands aimed at it (`quit`).
    func connect(to tracker: TrackerConfig) async throws(AttemptFailure) -> TrackerConnection {
        let connection: TrackerConnection
        do {
            connection = try await TrackerConnection.connect(
                to: tracker, group: self.group, maxFrame: self.config.limits.maxFrame, timeouts: self.timeouts,
                numbers: self.numbers)
        } catch {
            throw self.failure(tracker, error.reason)
        }
        do {
            try await connection.send(.identify(client: self.numbers.clientID)).expectOK()
        } catch {
            await connection.close()
            throw self.failure(tracker, "did not take the client id: \(error)")
        }
        if self.verbose { Console.error("tandemctl: \(connection.name) answered") }
        return connection
    }

    private func failure(_ tracker: TrackerConfig, _ reason: String) -> AttemptFailure {
        let attempt = "\(TrackerConnection.name(of: tracker)): \(reason)"
        if self.verbose { Console.error("tandemctl: \(attempt)") }
        return AttemptFailure(attempt: attempt)
    }
}

/// One tracker that did not answer, described as `t1 (127.0.0.1:7101): connection refused`.
struct AttemptFailure: Error {
    let attempt: String
}
