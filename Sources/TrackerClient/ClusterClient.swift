import Cluster
import NIOCore
import Synchronization

/// Reaches the cluster: tries the trackers of `cluster.yaml` in their order and uses the first that answers.
///
/// "Answers" means it accepts the connection and sends its preface within the connect timeout. Every connection
/// then says `CLIENT|id`, so the writes of this run are numbered and a retry of one is applied once.
public struct ClusterClient: Sendable {
    public let config: ClusterConfig
    public let group: any EventLoopGroup
    public var timeouts = ClientTimeouts()
    /// This run's client id and request numbers.
    public let numbers = RequestNumbers()
    /// Print on standard error which trackers were tried and which answered.
    public var verbose = false
    /// The name verbose messages start with.
    public var programName = "tandemctl"

    /// The tracker that answered last: tried first next time, so a tracker that accepts connections but does
    /// not answer (a stopped process) costs one connect timeout, not one per request.
    public let lastAnswered = LastAnswered()

    /// A client for the trackers of `config`, on the event loops of `group`.
    public init(config: ClusterConfig, group: any EventLoopGroup, verbose: Bool = false) {
        self.config = config
        self.group = group
        self.verbose = verbose
    }

    /// A connection to the first tracker that answers: the one that answered last, then cluster.yaml's order.
    ///
    /// - Throws: ``ClientError/unreachable(attempts:refused:)`` naming every tracker tried and why it failed.
    public func connect() async throws(ClientError) -> TrackerConnection {
        var attempts: [String] = []
        var refused = true
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
                refused = refused && error.refused
            }
        }
        throw .unreachable(attempts: attempts, refused: refused)
    }

    /// A connection to one named tracker, for commands aimed at it (`quit`).
    public func connect(to tracker: TrackerConfig) async throws(AttemptFailure) -> TrackerConnection {
        let connection: TrackerConnection
        do {
            connection = try await TrackerConnection.connect(
                to: tracker, group: self.group, maxFrame: self.config.limits.maxFrame, timeouts: self.timeouts,
                numbers: self.numbers)
        } catch {
            throw self.failure(tracker, error.reason, refused: error.refused)
        }
        do {
            try await connection.send(.identify(client: self.numbers.clientID)).expectOK()
        } catch {
            await connection.close()
            throw self.failure(tracker, "did not take the client id: \(error)")
        }
        if self.verbose { Console.error("\(self.programName): \(connection.name) answered") }
        return connection
    }

    private func failure(_ tracker: TrackerConfig, _ reason: String, refused: Bool = false) -> AttemptFailure {
        let attempt = "\(TrackerConnection.name(of: tracker)): \(reason)"
        if self.verbose { Console.error("\(self.programName): \(attempt)") }
        return AttemptFailure(attempt: attempt, refused: refused)
    }
}

/// One tracker that did not answer, described as `t1 (127.0.0.1:7101): connection refused`.
public struct AttemptFailure: Error {
    public let attempt: String
    /// Whether the tracker's host refused the connection outright.
    public var refused = false
}

/// The id of the tracker that answered a ``ClusterClient`` last, shared by its copies.
public final class LastAnswered: Sendable {
    public let id = Mutex<String?>(nil)
}
