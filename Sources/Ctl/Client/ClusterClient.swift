import Cluster
import NIOCore
import Synchronization

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

    /// The tracker that answered last: tried first next time, so a tracker that accepts connections but does
    /// not answer (a stopped process) costs one connect timeout, not one per request.
    let lastAnswered = LastAnswered()

    /// A connection to the first tracker that answers: the one that answered last, then cluster.yaml's order.
    ///
    /// - Throws: ``CtlError/unreachable(attempts:)`` naming every tracker tried and why it failed.
    func connect() async throws(CtlError) -> TrackerConnection {
        var attempts: [String] = []
        let preferred = self.lastAnswered.id.withLock { $0 }
        let trackers =
            self.config.trackers.filter { $0.id == preferred } + self.config.trackers.filter { $0.id != preferred }
        for tracker in trackers {
            do {
                let connection = try await self.connect(to: tracker)
                self.lastAnswered.id.withLock { $0 = tracker.id }
                return connection
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

/// The id of the tracker that answered a ``ClusterClient`` last, shared by its copies.
final class LastAnswered: Sendable {
    let id = Mutex<String?>(nil)
}
