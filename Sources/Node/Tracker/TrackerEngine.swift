import Logging
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

/// Turns requests into replies: reads from the state, logs writes durably, hashes passwords off the event loops.
struct TrackerEngine: Sendable {
    /// PBKDF2 work factor for new passwords.
    static let passwordIterations: UInt32 = 100_000
    static let saltLength = 16
    /// Session tokens: 32 random bytes, 256 bits.
    static let tokenLength = 32

    let store: DurableStateMachine<TrackerState>
    let secret: [UInt8]
    let threadPool: NIOThreadPool
    let quit: QuitSignal
    let logger: Logger

    /// Answers `request` for the connection in `session`, updating the session on LOGIN, RESUME and LOGOUT.
    func handle(_ request: Request, session: inout ConnectionSession) async -> Reply {
        let context = RequestContext(session: session.token, peerHost: session.peerHost)
        let preparation = self.store.read { $0.prepare(request, context: context) }
        switch preparation {
        case .reply(let reply):
            if case .resume(let token) = request, case .user = reply {
                session.token = token
                session.endsWithConnection = false
            }
            return reply
        case .write(let op):
            let reply = await self.propose(op)
            if case .logout = request, reply == .ok {
                session.token = nil
                session.endsWithConnection = false
            }
            return reply
        case .hashNewPassword(let user, let password):
            return await self.createUser(user, password: password)
        case .verifyPassword(let user, let password, let stored):
            return await self.login(user, password: password, stored: stored, session: &session)
        case .quit(let mac):
            return self.answerQuit(mac: mac, session: &session)
        }
    }

    /// Ends a session that lives only as long as its connection.
    func connectionClosed(_ session: ConnectionSession) async {
        guard session.endsWithConnection, let token = session.token else { return }
        _ = await self.propose(.closeSession(token: token))
    }

    private func propose(_ op: TrackerOp) async -> Reply {
        do {
            return try await self.store.propose(op)
        } catch {
            self.logger.error("write not logged", metadata: ["error": "\(error)"])
            if error.isDiskFull {
                return .error(.unavailable, "the tracker's disk is full; nothing was changed: free space and retry")
            }
            return .error(.unavailable, "\(error)")
        }
    }

    private func createUser(_ user: String, password: String) async -> Reply {
        do {
            let salt = try Crypto.randomBytes(Self.saltLength)
            let hash = try await self.slowHash(password, salt: salt, iterations: Self.passwordIterations)
            let stored = PasswordHash(salt: salt, hash: hash, iterations: Self.passwordIterations)
            return await self.propose(.createUser(user: user, password: stored))
        } catch {
            return .error(.unavailable, "could not hash the password: \(error)")
        }
    }

    private func login(
        _ user: String, password: String, stored: PasswordHash?, session: inout ConnectionSession
    ) async -> Reply {
        let refusal = Reply.error(.authFailed, "wrong user or password")
        do {
            // An unknown user costs the same time as a known one, so timing does not tell which names exist.
            let reference =
                stored
                ?? PasswordHash(
                    salt: [UInt8](repeating: 0, count: Self.saltLength),
                    hash: [], iterations: Self.passwordIterations)
            let hash = try await self.slowHash(password, salt: reference.salt, iterations: reference.iterations)
            guard stored != nil, Crypto.constantTimeEqual(hash, reference.hash) else { return refusal }
            let token = Hex.encode(try Crypto.randomBytes(Self.tokenLength))
            if session.endsWithConnection, let old = session.token {
                _ = await self.propose(.closeSession(token: old))
            }
            let reply = await self.propose(.openSession(user: user, token: token))
            if reply == .token(token) {
                session.token = token
                session.endsWithConnection = session.format == .text
            }
            return reply
        } catch {
            return .error(.unavailable, "could not check the password: \(error)")
        }
    }

    private func slowHash(_ password: String, salt: [UInt8], iterations: UInt32) async throws -> [UInt8] {
        try await self.threadPool.runIfActive {
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
