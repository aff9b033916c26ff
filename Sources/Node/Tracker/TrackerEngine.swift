import Logging
import NIOCore
import NIOPosix
import Replica
import TandemCrypto
import Tracker
import Wire

/// What one client connection carries between its requests.
struct ConnectionSession: Sendable {
    /// How the client speaks.
    var format: ClientFormat
    /// The address of the client, recorded as the seeder's host for files it shares.
    var peerHost: String
    /// The session token this connection acts as, if any.
    var token: String?
    /// Whether the session ends with the connection (a text LOGIN, as in the original).
    var endsWithConnection = false
    /// The nonce of an outstanding QUIT challenge.
    var challenge: [UInt8]?

    init(format: ClientFormat, peerHost: String) {
        self.format = format
        self.peerHost = peerHost
    }
}

/// Turns requests into replies: reads from the state at once, logs writes durably, hashes passwords on a thread
/// pool. Every future it returns completes on the event loop it was given, so a connection handler needs no hops.
struct TrackerEngine: Sendable, CustomStringConvertible {
    /// A reply and the connection's session after the request (LOGIN, RESUME and LOGOUT change it).
    struct Outcome: Sendable {
        var reply: Reply
        var session: ConnectionSession
    }

    /// PBKDF2 work factor for new passwords.
    static let passwordIterations: UInt32 = 100_000
    static let saltLength = 16
    /// Session tokens: 32 random bytes, 256 bits.
    static let tokenLength = 32

    let store: ReplicatedStateMachine<TrackerState>
    let secret: [UInt8]
    let threadPool: NIOThreadPool
    let quit: QuitSignal
    let logger: Logger

    /// Never the secret.
    var description: String { "TrackerEngine(seq: \(self.store.lastSeq))" }

    /// Answers `request` for the connection in `session`.
    func handle(_ request: Request, session: ConnectionSession, on loop: any EventLoop) -> EventLoopFuture<Outcome> {
        let context = RequestContext(session: session.token, peerHost: session.peerHost)
        switch self.store.read({ $0.prepare(request, context: context) }) {
        case .reply(let reply):
            var session = session
            if case .resume(let token) = request, case .user = reply {
                session.token = token
                session.endsWithConnection = false
            }
            return loop.makeSucceededFuture(Outcome(reply: reply, session: session))
        case .write(let op):
            return self.propose(op, on: loop).map { reply in
                var session = session
                if case .logout = request, reply == .ok {
                    session.token = nil
                    session.endsWithConnection = false
                }
                return Outcome(reply: reply, session: session)
            }
        case .hashNewPassword(let user, let password):
            return self.createUser(user, password: password, on: loop).map { Outcome(reply: $0, session: session) }
        case .verifyPassword(let user, let password, let stored):
            return self.login(user, password: password, stored: stored, session: session, on: loop)
        case .quit(let mac):
            var session = session
            let reply = self.answerQuit(mac: mac, session: &session)
            return loop.makeSucceededFuture(Outcome(reply: reply, session: session))
        }
    }

    /// Ends a session that lives only as long as its connection.
    func connectionClosed(_ session: ConnectionSession) {
        guard session.endsWithConnection, let token = session.token else { return }
        self.store.propose(.closeSession(token: token)) { _ in }
    }

    private func propose(_ op: TrackerOp, on loop: any EventLoop) -> EventLoopFuture<Reply> {
        self.store.propose(op, on: loop).recover { [logger] error in
            logger.error("write not logged", metadata: ["error": "\(error)"])
            if let error = error as? ReplicaError, error.isNotPrimary {
                return .error(.unavailable, "\(error)")
            }
            if let error = error as? ReplicaError, error.isDiskFull {
                return .error(.unavailable, "the tracker's disk is full; nothing was changed: free space and retry")
            }
            return .error(.unavailable, "\(error)")
        }
    }

    private func createUser(_ user: String, password: String, on loop: any EventLoop) -> EventLoopFuture<Reply> {
        let salt: [UInt8]
        do {
            salt = try Crypto.randomBytes(Self.saltLength)
        } catch {
            return loop.makeSucceededFuture(.error(.unavailable, "could not salt the password: \(error)"))
        }
        return self.slowHash(password, salt: salt, iterations: Self.passwordIterations, on: loop).flatMap { hash in
            let stored = PasswordHash(salt: salt, hash: hash, iterations: Self.passwordIterations)
            return self.propose(.createUser(user: user, password: stored), on: loop)
        }.recover { .error(.unavailable, "could not hash the password: \($0)") }
    }

    private func login(
        _ user: String, password: String, stored: PasswordHash?, session: ConnectionSession, on loop: any EventLoop
    ) -> EventLoopFuture<Outcome> {
        // An unknown user costs the same time as a known one, so timing does not tell which names exist.
        let reference =
            stored
            ?? PasswordHash(
                salt: [UInt8](repeating: 0, count: Self.saltLength), hash: [], iterations: Self.passwordIterations)
        return self.slowHash(password, salt: reference.salt, iterations: reference.iterations, on: loop)
            .flatMap { hash -> EventLoopFuture<Outcome> in
                guard stored != nil, Crypto.constantTimeEqual(hash, reference.hash) else {
                    return loop.makeSucceededFuture(
                        Outcome(reply: .error(.authFailed, "wrong user or password"), session: session))
                }
                return self.openSession(for: user, replacing: session, on: loop)
            }
            .recover { Outcome(reply: .error(.unavailable, "could not check the password: \($0)"), session: session) }
    }

    /// Opens a new session for `user`; a text connection's previous session ends with it.
    private func openSession(
        for user: String, replacing session: ConnectionSession, on loop: any EventLoop
    ) -> EventLoopFuture<Outcome> {
        let token: String
        do {
            token = Hex.encode(try Crypto.randomBytes(Self.tokenLength))
        } catch {
            return loop.makeSucceededFuture(Outcome(reply: .error(.unavailable, "\(error)"), session: session))
        }
        if session.endsWithConnection, let old = session.token {
            self.store.propose(.closeSession(token: old)) { _ in }
        }
        return self.propose(.openSession(user: user, token: token), on: loop).map { reply in
            var session = session
            if reply == .token(token) {
                session.token = token
                session.endsWithConnection = session.format == .text
            }
            return Outcome(reply: reply, session: session)
        }
    }

    private func slowHash(
        _ password: String, salt: [UInt8], iterations: UInt32, on loop: any EventLoop
    ) -> EventLoopFuture<[UInt8]> {
        self.threadPool.runIfActive(eventLoop: loop) {
            try Crypto.pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: Int(iterations))
        }
    }

    private func answerQuit(mac: [UInt8]?, session: inout ConnectionSession) -> Reply {
        guard let mac else {
            do {
                let nonce = try Crypto.randomBytes(32)
                session.challenge = nonce
                return .challenge(nonce)
            } catch {
                return .error(.unavailable, "\(error)")
            }
        }
        defer { session.challenge = nil }
        guard let nonce = session.challenge,
            Crypto.constantTimeEqual(mac, Crypto.hmacSHA256(key: self.secret, message: nonce))
        else {
            self.logger.warning(
                "refused QUIT without the cluster secret", metadata: ["conn.peer": "\(session.peerHost)"])
            return .error(
                .authFailed, "QUIT needs the cluster secret: send QUIT, then QUIT|<hex HMAC-SHA256(secret, nonce)>")
        }
        self.logger.notice("QUIT received; shutting down", metadata: ["conn.peer": "\(session.peerHost)"])
        self.quit.fire()
        return .ok
    }
}
