import Synchronization
import TrackerClient
import Wire

/// Whether a downloader may be served.
enum AccessVerdict: Hashable, Sendable {
    case admitted
    /// The tracker said no; the message says why.
    case refused(String)
    /// The tracker could not be asked (unreachable, or this peer is not logged in); try again later.
    case unavailable(String)
}

/// Decides whether a downloader may be served; the serving handler asks it at the hello and every ``ttl`` after.
protocol AccessChecking: Sendable {
    /// How long an answer holds: an admitted downloader is asked about again after this.
    var ttl: Duration { get }
    /// Whether `user`, showing `proof`, is a logged-in member of `group`.
    func check(user: String, group: String, proof: [UInt8]) async -> AccessVerdict
}

/// Asks the tracker whether a downloader's proof makes it a logged-in member of the file's group (`CHECK_PEER`),
/// on this peer's own session, and remembers the answer for ``ttl``: a member who leaves the group or logs out
/// is refused within that time, and a busy swarm asks the tracker once per downloader per ``ttl``.
final class AccessChecker: AccessChecking {
    /// How long an answer is reused.
    let ttl: Duration
    private let client: ClusterClient
    private let sessions: SessionStore
    private let answers = Mutex<[Key: (verdict: AccessVerdict, until: ContinuousClock.Instant)]>([:])

    private struct Key: Hashable {
        let user: String
        let group: String
        let proof: [UInt8]
    }

    init(client: ClusterClient, sessions: SessionStore, ttl: Duration = .seconds(5)) {
        self.client = client
        self.sessions = sessions
        self.ttl = ttl
    }

    func check(user: String, group: String, proof: [UInt8]) async -> AccessVerdict {
        let key = Key(user: user, group: group, proof: proof)
        let now = ContinuousClock.now
        if let cached = self.answers.withLock({ $0[key] }), cached.until > now { return cached.verdict }
        let verdict = await self.ask(key)
        if case .unavailable = verdict { return verdict }
        self.answers.withLock { answers in
            answers = answers.filter { $0.value.until > now }
            answers[key] = (verdict, now + self.ttl)
        }
        return verdict
    }

    private func ask(_ key: Key) async -> AccessVerdict {
        do {
            guard let token = try self.sessions.load() else {
                return .unavailable("the serving peer is not logged in")
            }
            let reply = try await self.client.send(
                .checkPeer(user: key.user, group: key.group, proof: key.proof), session: token)
            switch reply {
            case .ok: return .admitted
            case .error(.forbidden, let message), .error(.notFound, let message): return .refused(message)
            case .error(_, let message): return .unavailable(message)
            default: return .unavailable("unexpected reply from the tracker")
            }
        } catch {
            return .unavailable("cannot reach the tracker to check membership: \(error)")
        }
    }
}
